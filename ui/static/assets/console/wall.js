// The camera wall: live pictures of the cameras an operator chose to watch, each over WHEP from
// the relay (the camera's own H.264, no transcoding). The core hands out a short-lived token per
// camera and notes who watched; closing a tile ends its session.

import { $, api, el, t } from "../common.js";

/// The most cameras on the wall at once; each costs the browser one decoder.
const MAX_TILES = 9;
/// How long to wait for the browser's own network candidates before offering anyway.
const GATHER_MS = 2000;

const tiles = new Map();

export function watching(id) {
  return tiles.has(id);
}

// Puts a camera on the wall, or takes it off when it is there.
export async function toggleWatch(c) {
  if (tiles.has(c.id)) {
    close(c.id);
    return;
  }
  if (tiles.size >= MAX_TILES) {
    showError(t("wallFull", { n: MAX_TILES }));
    return;
  }
  const video = el("video", { muted: "", autoplay: "", playsinline: "", "aria-label": t("liveOf", { name: c.name }) });
  video.muted = true;
  const status = el("span", { class: "status link-connecting", role: "status", text: t("wallConnecting") });
  const stop = el("button", { type: "button", class: "secondary", text: t("wallClose"), "aria-label": t("wallCloseOf", { name: c.name }) });
  const tile = el("figure", { class: "tile", "data-camera": c.code }, [
    video, el("figcaption", {}, [el("strong", { text: c.name }), " ", status, " ", stop]),
  ]);
  const entry = { tile, pc: null, session: null, token: null };
  tiles.set(c.id, entry);
  stop.addEventListener("click", () => close(c.id));
  $("camera-wall").append(tile);
  $("camera-wall").hidden = false;
  showError("");
  try {
    await play(c, entry, video, status);
  } catch (e) {
    status.className = "status link-down";
    status.textContent = t("wallFailed", { reason: e.message });
  }
}

async function play(c, entry, video, status) {
  const grant = await api("POST", `/api/v1/cameras/${c.id}/watch`);
  const pc = new RTCPeerConnection();
  entry.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (ev) => { video.srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed" || pc.connectionState === "closed") {
      status.className = "status link-down";
      status.textContent = t("wallEnded");
    }
  };
  video.addEventListener("playing", () => {
    status.className = "status link-up";
    status.textContent = t("wallLive");
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const res = await fetch(grant.whep, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${grant.token}` },
    body: pc.localDescription.sdp,
  });
  if (!res.ok) {
    const problem = await res.json().catch(() => ({}));
    throw new Error(problem.detail || res.statusText);
  }
  entry.session = res.headers.get("Location");
  entry.token = grant.token;
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
}

// The relay takes no trickled candidates: the offer carries them all.
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_MS);
  });
}

function close(id) {
  const entry = tiles.get(id);
  if (!entry) return;
  tiles.delete(id);
  entry.pc?.close();
  if (entry.session) {
    fetch(entry.session, { method: "DELETE", headers: { Authorization: `Bearer ${entry.token}` } }).catch(() => {});
  }
  entry.tile.remove();
  $("camera-wall").hidden = tiles.size === 0;
}

// Cameras no longer listed (switched off, or gone) leave the wall.
export function keepOnWall(ids) {
  for (const id of [...tiles.keys()]) if (!ids.has(id)) close(id);
}

function showError(text) {
  $("wall-error").textContent = text;
  $("wall-error").hidden = !text;
}
