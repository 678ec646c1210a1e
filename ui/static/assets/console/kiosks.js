// The street kiosks in the console: their calls to the officer on duty, ringing here (a banner
// and, when sound is on, a chime every few seconds) and answered in a panel with the kiosk's
// picture and sound and our camera and microphone; the fleet (online or not, version, printer,
// last heard from), a screenshot asked for and shown; and the kiosks on the map.
//
// A call's media goes through the conference room the core names for it, as any meeting's:
// room/signal.js and room/peer.js. Our camera is offered as H.264, which the kiosk decodes.

import { $, api, el, t, unitName, when } from "../common.js";
import { Signal } from "../room/signal.js";
import { Peer } from "../room/peer.js";

const RING_EVERY_MS = 3_000;

let ctx = null;
let kiosks = [];
let calls = [];
let ringer = null;
// The call answered here: { id, name, signal, peer, media, remote, kiosk (its participant id) }.
let current = null;

// `map()` gives the console's map (or null), `chime()` rings once if sound is on, `units()` the
// units for names, `manage` whether the caller may ask for screenshots.
export function setupKiosks(context) {
  ctx = context;
  $("kiosks").hidden = false;
  $("kiosk-hangup").addEventListener("click", () => hangUp(true));
  $("layer-kiosks").addEventListener("change", renderKioskLayer);
  window.addEventListener("pagehide", () => { if (current) hangUp(true); });
}

export async function loadKiosks() {
  try {
    [kiosks, calls] = await Promise.all([api("GET", "/api/v1/kiosks"), api("GET", "/api/v1/kiosk-calls")]);
    $("kiosks-error").hidden = true;
  } catch (e) {
    $("kiosks-error").textContent = e.message;
    $("kiosks-error").hidden = false;
  }
  renderKiosks();
}

// A kiosk's or a call's change, from the live feed.
export function kioskChanged(e) {
  if (current && e.type === "kiosk_call.ended" && e.id === current.id) hangUp(false, t("kioskHungUp"));
  return loadKiosks();
}

const nameOfUnit = (code, fallback) => unitName(ctx.units().find((u) => u.code === code)) || fallback || code;

export function renderKiosks() {
  if (!ctx) return;
  renderRinging();
  const body = $("kiosk-table").tBodies[0];
  body.replaceChildren(...kiosks.map((k) => {
    const state = k.online ? "online" : k.last_seen_at ? "offline" : "never";
    const actions = el("td", {});
    if (ctx.manage) {
      const ask = el("button", { type: "button", class: "secondary", text: t("kioskAskShot"), "aria-label": t("kioskAskShotOf", { name: k.name }) });
      ask.addEventListener("click", () => askShot(k));
      actions.append(ask);
    }
    if (k.screenshot_at) {
      const show = el("button", { type: "button", class: "link-button", text: t("kioskShowShot"), "aria-label": t("kioskShowShotOf", { name: k.name }) });
      show.addEventListener("click", () => showShot(k));
      actions.append(" ", show);
    }
    return el("tr", { "data-kiosk": k.username },
      el("td", { text: k.name }),
      el("td", { text: nameOfUnit(k.unit_code, k.unit_name) }),
      el("td", {}, el("span", { class: "status kstate-" + state, text: t("kiosk_" + state) })),
      el("td", { text: k.version || "—" }),
      el("td", { text: k.printer ? t("printer_" + k.printer) : "—" }),
      el("td", { text: k.last_seen_at ? when(k.last_seen_at) : "—" }),
      actions);
  }));
  $("kiosk-none").hidden = kiosks.length > 0;
  renderKioskLayer();
}

function renderRinging() {
  const ringing = calls.filter((c) => c.status === "ringing");
  const box = $("kiosk-ringing");
  box.replaceChildren(...ringing.map((c) => {
    const b = el("button", { type: "button", text: t("kioskAnswer"), "aria-label": t("kioskAnswerOf", { name: c.kiosk_name }) });
    b.addEventListener("click", () => answer(c));
    b.disabled = current !== null;
    return el("p", { class: "ringing", "data-call": String(c.id) },
      el("span", { text: t("kioskCalling", { name: c.kiosk_name, unit: nameOfUnit(c.unit_code, c.unit_name), at: when(c.created_at) }) + " " }), b);
  }));
  box.hidden = ringing.length === 0;
  if (ringing.length && !current && !ringer) {
    ctx.chime();
    ringer = setInterval(() => ctx.chime(), RING_EVERY_MS);
  } else if ((!ringing.length || current) && ringer) {
    clearInterval(ringer);
    ringer = null;
  }
}

function renderKioskLayer() {
  const map = ctx && ctx.map();
  if (!map) return;
  const group = map.layer("kiosks", $("layer-kiosks").checked);
  group.clearLayers();
  for (const k of kiosks) {
    if (!k.config.location) continue;
    const state = k.online ? "online" : "offline";
    map.dot(group, k.config.location, { radius: 7, className: "kiosk-" + state, data: { kiosk: k.username, state },
      title: `${k.name}: ${t("kiosk_" + (k.online ? "online" : k.last_seen_at ? "offline" : "never"))}` });
  }
}

async function askShot(k) {
  try {
    await api("POST", `/api/v1/kiosks/${k.id}/screenshot`);
    $("kiosk-done").textContent = t("kioskShotAsked", { name: k.name });
  } catch (e) {
    $("kiosks-error").textContent = e.message;
    $("kiosks-error").hidden = false;
  }
}

function showShot(k) {
  $("kiosk-shot-img").src = `/api/v1/kiosks/${k.id}/screenshot?at=${encodeURIComponent(k.screenshot_at)}`;
  $("kiosk-shot-img").alt = t("kioskShotOf", { name: k.name });
  $("kiosk-shot-caption").textContent = t("kioskShotAt", { name: k.name, at: when(k.screenshot_at) });
  $("kiosk-shot").hidden = false;
}

async function cameraAndMic() {
  const tries = [{ audio: true, video: { width: 640, height: 360 } }, { audio: true }];
  for (const c of tries) {
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch (_) {
      // Try with less.
    }
  }
  return null;
}

async function answer(call) {
  if (current) return;
  let join;
  try {
    join = await api("POST", `/api/v1/kiosk-calls/${call.id}/answer`);
  } catch (e) {
    $("kiosks-error").textContent = e.message;
    $("kiosks-error").hidden = false;
    return loadKiosks();
  }
  const media = await cameraAndMic();
  const remote = new MediaStream();
  current = { id: call.id, name: call.kiosk_name, signal: null, peer: null, media, remote };
  $("kiosk-call-title").textContent = t("kioskInCall", { name: call.kiosk_name });
  $("kiosk-call-state").textContent = t("kioskConnecting");
  $("kiosk-call-video").srcObject = remote;
  $("kiosk-call-self").srcObject = media;
  $("kiosk-call").hidden = false;
  $("kiosk-hangup").focus();
  const session = current;
  session.signal = new Signal({
    room: join.room,
    token: join.token,
    onMessage: (m) => onMessage(session, m),
    onState: (s) => {
      if (session !== current) return;
      if (s === "reconnecting") $("kiosk-call-state").textContent = t("kioskReconnecting");
      else if (s === "lost" || s === "closed") hangUp(false, t("kioskCallOver"));
    },
  });
  session.signal.connect();
  renderKiosks();
}

function onMessage(s, m) {
  if (s !== current) return;
  switch (m.type) {
    case "joined":
      for (const p of m.participants || []) if (p.identity.startsWith("kiosk-")) s.kiosk = p.id;
      if (!s.peer) startMedia(s, m.ice_servers || []);
      else if (m.resumed) s.peer.restart();
      break;
    case "answer": if (s.peer) s.peer.onAnswer(m.sdp); break;
    case "offer": if (s.peer) s.peer.onOffer(m.sdp); break;
    case "participant_joined":
      if (m.participant.identity.startsWith("kiosk-")) s.kiosk = m.participant.id;
      break;
    case "participant_left":
      if (m.participant === s.kiosk) hangUp(true, t("kioskHungUp"));
      break;
    case "closed": hangUp(false, t("kioskCallOver")); break;
    default: break;
  }
}

function startMedia(s, iceServers) {
  s.peer = new Peer({
    send: (m) => s.signal.send(m),
    onTrack: (_mid, track) => {
      s.remote.addTrack(track);
      $("kiosk-call-state").textContent = t("kioskTalking");
      $("kiosk-call-video").play().catch(() => {});
    },
    onFailed: () => s.peer.restart(),
    onError: (e) => console.warn("negotiation step failed:", e),
    iceServers,
  });
  const audio = s.media ? s.media.getAudioTracks()[0] : null;
  const video = s.media ? s.media.getVideoTracks()[0] : null;
  s.peer.start({ audio, video }, { simulcast: false });
  // The offer is made on the next turn: H.264 only (with its repair streams), which the kiosk
  // decodes; a browser without H.264 offers what it has. Baseline in packets of one NAL unit or
  // more (packetization-mode=1, profile-level-id 42001f) first: the profile the kiosk sends its
  // own camera in, and so the only one its side of the call accepts once its camera is agreed.
  if (s.peer.video && RTCRtpSender.getCapabilities) {
    const codecs = RTCRtpSender.getCapabilities("video").codecs;
    const rank = (c) => {
      const f = c.sdpFmtpLine || "";
      return (f.includes("profile-level-id=42001f") ? 0 : 2) + (f.includes("packetization-mode=1") ? 0 : 1);
    };
    const h264 = codecs.filter((c) => c.mimeType === "video/H264").sort((a, b) => rank(a) - rank(b));
    const repair = codecs.filter((c) => ["video/rtx", "video/red", "video/ulpfec"].includes(c.mimeType));
    if (h264.length) s.peer.video.setCodecPreferences([...h264, ...repair]);
  }
}

// Ends the call here; `tell` says the core should hear of it (we hung up).
function hangUp(tell, why) {
  const s = current;
  if (!s) return;
  current = null;
  if (tell) api("POST", `/api/v1/kiosk-calls/${s.id}/end`).catch(() => {});
  if (s.signal) s.signal.leave();
  if (s.peer) s.peer.close();
  if (s.media) s.media.getTracks().forEach((tr) => tr.stop());
  $("kiosk-call-video").srcObject = null;
  $("kiosk-call-self").srcObject = null;
  $("kiosk-call").hidden = true;
  $("kiosk-done").textContent = why || t("kioskCallOver");
  loadKiosks();
}

// For the browser tests: what the call under way sends and receives.
window.q10KioskCall = async () => {
  if (!current || !current.peer) return null;
  const stats = await current.peer.pc.getStats();
  const codecs = new Map();
  stats.forEach((s) => { if (s.type === "codec") codecs.set(s.id, s.mimeType); });
  const out = { id: current.id, inbound: [], outbound: [] };
  stats.forEach((s) => {
    if (s.type === "inbound-rtp") {
      out.inbound.push({
        kind: s.kind, packets: s.packetsReceived || 0, energy: s.totalAudioEnergy || 0,
        frames: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0, codec: codecs.get(s.codecId) || "",
      });
    }
    if (s.type === "outbound-rtp") out.outbound.push({ kind: s.kind, packets: s.packetsSent || 0, codec: codecs.get(s.codecId) || "" });
  });
  return out;
};
