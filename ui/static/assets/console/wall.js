// The camera wall: live pictures of the cameras an operator chose to watch, each over WHEP from
// the relay (the camera's own H.264, no transcoding), with what counting sees in the current
// minute (shown as the live feed announces them), and its counting areas drawn over it. The core hands out a short-lived token per camera
// and notes who watched; closing a tile ends its session.

import { $, api, el, t } from "../common.js";
import { drawAreas, stage } from "./areas.js";

/// The most cameras on the wall at once; each costs the browser one decoder.
const MAX_TILES = 9;
/// How long to wait for the browser's own network candidates before offering anyway.
const GATHER_MS = 2000;
/// How often a tile's counts are read again when the live feed has said nothing.
const COUNTS_MS = 60_000;
const KINDS = ["person", "bicycle", "motorcycle", "car", "bus", "truck"];

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
  const counts = el("p", { class: "counts", "aria-live": "polite" });
  const tile = el("figure", { class: "tile", "data-camera": c.code }, [
    stage(c, video), el("figcaption", {}, [el("strong", { text: c.name }), " ", status, " ", stop, counts]),
  ]);
  const refresh = () => showCounts(c, counts);
  const entry = { tile, pc: null, session: null, token: null, timer: null, refresh };
  refresh();
  entry.timer = setInterval(refresh, COUNTS_MS);
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

// Plays a camera live into `video` over WHEP; `entry` keeps the session, for hangUp.
export async function play(c, entry, video, status) {
  if (!receivesH264()) throw new Error(t("wallNoH264"));
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

// Whether the browser can decode what the relay forwards. Firefox decodes H.264 with the OpenH264
// plugin it fetches itself; without it the relay would have nothing to offer.
export function receivesH264() {
  const codecs = window.RTCRtpReceiver?.getCapabilities?.("video")?.codecs || [];
  return codecs.some((c) => c.mimeType.toLowerCase() === "video/h264");
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
  clearInterval(entry.timer);
  hangUp(entry);
  entry.tile.remove();
  $("camera-wall").hidden = tiles.size === 0;
}

// The live feed says a camera has new counts: its tile shows them.
export function countsArrived(id) {
  tiles.get(id)?.refresh();
}

// Ends a live session begun by play.
export function hangUp(entry) {
  entry.pc?.close();
  if (entry.session) {
    fetch(entry.session, { method: "DELETE", headers: { Authorization: `Bearer ${entry.token}` } }).catch(() => {});
  }
  entry.session = null;
}

// Cameras no longer listed (switched off, or gone) leave the wall; the others show their areas
// as they are now.
export function keepOnWall(cameras) {
  const on = new Map(cameras.map((c) => [c.id, c]));
  for (const [id, entry] of [...tiles]) {
    if (!on.has(id)) close(id);
    else drawAreas(entry.tile.querySelector("svg"), on.get(id).areas || []);
  }
}

// What counting saw in the camera's latest minute: objects in view on average, and new ones.
async function showCounts(c, into) {
  let rows;
  try {
    rows = await api("GET", `/api/v1/cameras/${c.id}/counts?minutes=2`);
  } catch {
    return;
  }
  const latest = rows.reduce((m, r) => (r.minute > m ? r.minute : m), "");
  const now = rows.filter((r) => r.minute === latest && r.frames > 0);
  if (now.length === 0) {
    into.textContent = t("countsNone");
    return;
  }
  const parts = KINDS.map((k) => now.find((r) => r.kind === k)).filter((r) => r && (r.peak > 0 || r.appeared > 0))
    .map((r) => t("count_" + r.kind, { n: Math.round(r.mean * 10) / 10, new: r.appeared }));
  into.textContent = t("countsNow") + " " + (parts.length ? parts.join(" · ") : t("countsEmpty"));
}

function showError(text) {
  $("wall-error").textContent = text;
  $("wall-error").hidden = !text;
}
