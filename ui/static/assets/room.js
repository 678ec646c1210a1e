// Q10 conference room: joins a room by a link (`/room#room=R&token=T`, the token kept in the
// fragment so it never reaches a server log) or by a meeting (`/room#meeting=ID`, with the
// signed-in session), then shows everyone's video, the participant list, chat and the host's
// controls. The protocol is docs/signaling.md; the media side is room/peer.js.

import { TEXT } from "./room/text.js";
import { Signal } from "./room/signal.js";
import { Peer } from "./room/peer.js";
import { Stage } from "./room/stage.js";
import { MeetingPanels, joinMeeting } from "./room/meeting.js";

let lang = localStorage.getItem("q10.lang") || "vi";
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key] ?? key;

const state = {
  room: null,
  token: null,
  role: null,
  you: null,
  participants: new Map(),
  locked: false,
  recording: false,
  iceServers: [],
  speaker: null,
  view: "grid",
  // Received tracks by our receiving section (mid), with whose they are from `track_mapping`.
  recv: new Map(),
  // "participant:mid" of every section ever announced as a screen, so a stopped share is not
  // taken for a second camera.
  screenMids: new Set(),
  local: { audio: null, video: null, screen: null },
  micOn: true,
  camOn: true,
  ended: false,
  lastError: "",
};
let signal = null;
let peer = null;
let meeting = null;
const stage = new Stage($("stage"), $("audio-sink"), () => { $("sound").hidden = false; });

// What the tests (and a curious developer) may inspect: the peer connection only.
window.q10room = {
  get pc() { return peer && peer.pc; },
  drop() { if (signal) signal.drop(); },
};

const mayPublish = () => state.role === "host" || state.role === "speaker";
const isHost = () => state.role === "host";
const nameOf = (id) => (state.participants.get(id) || {}).name || id || "";

// ---- text and notices ------------------------------------------------------------------------

function applyText() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").textContent = t("lang");
  $("reactions").setAttribute("aria-label", t("reactions"));
  document.title = "Q10 — " + t("title");
}

let noticeTimer = null;
function notice(text, { sticky = false } = {}) {
  const el = $("notice");
  el.textContent = text;
  el.hidden = !text;
  clearTimeout(noticeTimer);
  if (!sticky && text) noticeTimer = setTimeout(() => { el.hidden = true; }, 6_000);
}

// ---- before joining: devices and preview -----------------------------------------------------

// Reads the (unverified) claims of a join token to know the role before joining; the server
// checks the token itself.
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch (_) {
    return {};
  }
}

function constraint(id) {
  if (id === "none") return false;
  return id ? { deviceId: { exact: id } } : true;
}

async function openDevices(camId, micId) {
  for (const tr of [state.local.audio, state.local.video]) if (tr) tr.stop();
  const audio = constraint(micId);
  const video = constraint(camId);
  let stream = null;
  const tries = [{ audio, video }, { audio, video: false }, { audio: false, video }].filter((c) => c.audio || c.video);
  for (const c of tries) {
    try {
      stream = await navigator.mediaDevices.getUserMedia(c);
      break;
    } catch (e) {
      $("prejoin-error").textContent = t("noDevices") + ": " + e.message;
    }
  }
  if (stream) $("prejoin-error").textContent = "";
  state.local.audio = stream ? stream.getAudioTracks()[0] || null : null;
  state.local.video = stream ? stream.getVideoTracks()[0] || null : null;
  $("preview").srcObject = state.local.video ? new MediaStream([state.local.video]) : null;
  await fillDeviceLists();
}

async function fillDeviceLists() {
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (_) { /* no devices at all */ }
  const cams = devices.filter((d) => d.kind === "videoinput");
  const mics = devices.filter((d) => d.kind === "audioinput");
  fill($("cam-select"), cams, state.local.video, "camera", true);
  fill($("mic-select"), mics, state.local.audio, "microphone", true);
  fill($("cam-switch"), cams, state.local.video, "camera", false);
  fill($("mic-switch"), mics, state.local.audio, "microphone", false);
}

function fill(select, devices, track, word, withNone) {
  const current = track ? track.getSettings().deviceId : "none";
  const options = devices.map((d, i) => new Option(d.label || `${t(word)} ${i + 1}`, d.deviceId));
  if (withNone) options.push(new Option(t("none"), "none"));
  select.replaceChildren(...options);
  select.value = current;
}

function showPrejoin() {
  $("prejoin").hidden = false;
  const publish = mayPublish();
  $("devices").hidden = !publish;
  $("preview").hidden = !publish;
  $("listener-note").hidden = publish;
  const ready = publish ? openDevices() : Promise.resolve();
  ready.finally(() => { $("join").disabled = false; });
}

// ---- the session -----------------------------------------------------------------------------

function join() {
  $("join").disabled = true;
  $("join").textContent = t("joining");
  signal = new Signal({ room: state.room, token: state.token, onMessage, onState });
  signal.connect();
}

function onState(s) {
  if (s === "reconnecting") notice(t("reconnecting"), { sticky: true });
  else if (s === "lost") showEnded(t("lost"));
  else if (s === "closed" && !state.ended) showEnded(state.lastError || t("closed"));
}

function onMessage(msg) {
  switch (msg.type) {
    case "joined": onJoined(msg); break;
    case "answer": if (peer) peer.onAnswer(msg.sdp); break;
    case "offer": if (peer) peer.onOffer(msg.sdp); break;
    case "track_mapping": mapTrack(msg); break;
    case "layers": if (peer) peer.setActiveLayers(msg.mid, msg.active).catch(() => {}); break;
    case "track_unpublished": unpublished(msg); break;
    case "participant_joined":
    case "participant_updated": upsert(msg.participant); break;
    case "participant_left":
      state.participants.delete(msg.participant);
      renderAll();
      break;
    case "active_speaker":
      state.speaker = msg.participant;
      renderStage();
      break;
    case "chat": addChat(msg); break;
    case "reaction": showReaction(msg); break;
    case "room_locked":
      state.locked = msg.locked;
      notice(msg.locked ? t("locked") : t("unlocked"));
      renderToolbar();
      break;
    case "recording":
      state.recording = msg.on;
      notice(msg.on ? t("recordingOn") : t("recordingOff"));
      renderToolbar();
      break;
    case "moderated": onModerated(msg); break;
    case "presenting": if (meeting) meeting.onPresenting(msg, nameOf); break;
    case "closed": showEnded(t("closed_" + msg.reason)); break;
    case "error": onError(msg); break;
    default: break;
  }
}

function onJoined(msg) {
  const first = !state.you;
  state.you = msg.you;
  state.role = msg.you.role;
  state.locked = msg.locked;
  state.iceServers = msg.ice_servers || [];
  state.participants = new Map(msg.participants.map((p) => [p.id, p]));
  state.participants.set(msg.you.id, msg.you);
  for (const p of state.participants.values()) if (p.screen) state.screenMids.add(`${p.id}:${p.screen}`);
  if (first) {
    $("prejoin").hidden = true;
    $("call").hidden = false;
    startMedia();
  } else if (msg.resumed && peer) {
    // Same media session on the server: only the network path is new.
    notice(t("reconnected"));
    peer.restart();
  } else {
    // The server let us go meanwhile: start a fresh media session.
    notice(t("reconnected"));
    startMedia();
  }
  renderAll();
}

// Starts (or starts again) the media session with whatever we send now.
function startMedia() {
  if (peer) peer.close();
  state.recv.clear();
  preferred.clear();
  peer = new Peer({
    send: (m) => signal.send(m),
    onTrack,
    onFailed: () => peer.restart(),
    onError: (e) => console.warn("negotiation step failed:", e),
    iceServers: state.iceServers,
  });
  const local = mayPublish() ? state.local : {};
  const current = peer;
  current.start(local).then(() => {
    if (current === peer && state.local.screen && current.screen) signal.send({ type: "screen", mid: current.screen.mid });
  });
  // A fresh session starts unmuted on the server; tell it what is off or missing.
  if (mayPublish() && (!local.audio || !state.micOn)) signal.send({ type: "mute", kind: "audio", muted: true });
  if (mayPublish() && (!local.video || !state.camOn)) signal.send({ type: "mute", kind: "video", muted: true });
}

function onTrack(mid, track) {
  const entry = state.recv.get(mid) || {};
  entry.track = track;
  state.recv.set(mid, entry);
  track.addEventListener("ended", () => {
    if (state.recv.get(mid) && state.recv.get(mid).track === track) {
      state.recv.delete(mid);
      renderStage();
    }
  });
  renderStage();
}

function mapTrack({ mid, participant, source_mid }) {
  const entry = state.recv.get(mid) || {};
  Object.assign(entry, { participant, source_mid });
  state.recv.set(mid, entry);
  renderStage();
}

function unpublished({ participant, mid }) {
  for (const [local, e] of state.recv) if (e.participant === participant && e.source_mid === mid) state.recv.delete(local);
  renderStage();
}

function upsert(p) {
  if (p.screen) state.screenMids.add(`${p.id}:${p.screen}`);
  state.participants.set(p.id, p);
  if (state.you && p.id === state.you.id) state.you = p;
  renderAll();
}

function onModerated({ action }) {
  if (action.do === "mute" || action.do === "take_floor") {
    setMic(false);
    notice(action.do === "mute" ? t("mutedByHost") : t("floorTaken"), { sticky: true });
  } else if (action.do === "give_floor") {
    notice(t("floorGiven"));
  }
}

function onError(msg) {
  const known = TEXT[lang]["err_" + msg.code];
  state.lastError = known || `${t("error")}: ${msg.message}`;
  if (msg.code === "bad_sdp" && peer && !/candidate/i.test(msg.message)) peer.onOfferRefused();
  if (msg.code === "unavailable" && state.you && !state.ended) startMedia();
  // Unmuting is refused in a moderated room without the floor: stay muted.
  if (msg.code === "forbidden" && state.micOn && state.you && state.you.audio_muted) setMic(false, { tell: false });
  notice(state.lastError);
}

function showEnded(text) {
  if (state.ended) return;
  state.ended = true;
  if (peer) peer.close();
  for (const tr of Object.values(state.local)) if (tr) tr.stop();
  stage.clear();
  $("prejoin").hidden = true;
  $("call").hidden = true;
  $("ended").hidden = false;
  $("ended-why").textContent = text;
  notice("");
}

// ---- controls --------------------------------------------------------------------------------

function setMic(on, { tell = true } = {}) {
  state.micOn = on;
  if (state.local.audio) state.local.audio.enabled = on;
  if (tell && signal) signal.send({ type: "mute", kind: "audio", muted: !on });
  renderToolbar();
}

function setCam(on) {
  state.camOn = on;
  if (state.local.video) state.local.video.enabled = on;
  if (signal) signal.send({ type: "mute", kind: "video", muted: !on });
  renderToolbar();
  renderStage();
}

// Another camera or microphone during the call: the sending section stays, only its track changes.
async function switchDevice(kind, deviceId) {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
    const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    track.enabled = kind === "audio" ? state.micOn : state.camOn;
    const old = state.local[kind];
    if (peer) await peer.replace(kind, track);
    state.local[kind] = track;
    if (old) old.stop();
    renderStage();
  } catch (e) {
    notice(t("noDevices") + ": " + e.message);
  }
}

async function toggleShare() {
  if (state.local.screen) return stopShare();
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (e) {
    notice(t("shareFailed") + ": " + e.message);
    return;
  }
  const track = stream.getVideoTracks()[0];
  track.contentHint = "detail";
  // The browser's own "stop sharing" ends the track.
  track.addEventListener("ended", () => { if (state.local.screen === track) stopShare(); });
  state.local.screen = track;
  renderToolbar();
  const mid = await peer.shareScreen(track);
  if (state.local.screen === track) signal.send({ type: "screen", mid });
}

async function stopShare() {
  const track = state.local.screen;
  state.local.screen = null;
  renderToolbar();
  if (peer) await peer.stopScreen();
  if (track) track.stop();
  signal.send({ type: "screen", mid: null });
}

function moderate(action) {
  signal.send({ type: "moderate", action });
}

function bindControls() {
  $("join").addEventListener("click", join);
  $("cam-select").addEventListener("change", () => openDevices($("cam-select").value, $("mic-select").value));
  $("mic-select").addEventListener("change", () => openDevices($("cam-select").value, $("mic-select").value));
  $("mic").addEventListener("click", () => setMic(!state.micOn));
  $("cam").addEventListener("click", () => setCam(!state.camOn));
  $("mic-switch").addEventListener("change", (ev) => switchDevice("audio", ev.target.value));
  $("cam-switch").addEventListener("change", (ev) => switchDevice("video", ev.target.value));
  $("share").addEventListener("click", toggleShare);
  $("sound").addEventListener("click", () => {
    stage.resumeAudio();
    $("sound").hidden = true;
  });
  $("hand").addEventListener("click", () => {
    signal.send({ type: "raise_hand", raised: !(state.you && state.you.hand_raised) });
  });
  for (const b of document.querySelectorAll(".reaction")) {
    b.addEventListener("click", () => signal.send({ type: "reaction", emoji: b.dataset.emoji }));
  }
  $("view").addEventListener("click", () => {
    state.view = state.view === "grid" ? "speaker" : "grid";
    renderToolbar();
    renderStage();
  });
  $("lock").addEventListener("click", () => moderate({ do: "lock", locked: !state.locked }));
  $("record").addEventListener("click", () => moderate({ do: "record", on: !state.recording }));
  $("end").addEventListener("click", () => { if (confirm(t("endConfirm"))) moderate({ do: "end" }); });
  $("leave").addEventListener("click", () => {
    if (signal && signal.send({ type: "leave" })) signal.leave();
    else showEnded(t("closed_left"));
  });
  $("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("chat-input").value.trim();
    if (text && signal.send({ type: "chat", text })) $("chat-input").value = "";
  });
  $("rejoin").addEventListener("click", () => location.reload());
  $("lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    localStorage.setItem("q10.lang", lang);
    applyText();
    if (!$("prejoin").hidden) fillDeviceLists();
    renderAll();
    if (meeting) meeting.applyText(nameOf);
  });
  // Leaving the page leaves the room at once instead of after the reconnection grace period.
  window.addEventListener("pagehide", () => { if (signal && !state.ended) signal.send({ type: "leave" }); });
}

// ---- drawing ---------------------------------------------------------------------------------

function renderAll() {
  renderToolbar();
  renderPeople();
  renderStage();
  if (meeting) meeting.renderRollCall([...state.participants.values()]);
}

function renderToolbar() {
  const publish = mayPublish();
  const mic = $("mic");
  mic.textContent = state.micOn ? t("micOn") : t("micOff");
  mic.setAttribute("aria-pressed", String(!state.micOn));
  mic.hidden = !publish || !state.local.audio;
  $("mic-switch").hidden = mic.hidden;
  const cam = $("cam");
  cam.textContent = state.camOn ? t("camOn") : t("camOff");
  cam.setAttribute("aria-pressed", String(!state.camOn));
  cam.hidden = !publish || !state.local.video;
  $("cam-switch").hidden = cam.hidden;
  const share = $("share");
  share.textContent = state.local.screen ? t("stopShare") : t("share");
  share.setAttribute("aria-pressed", String(!!state.local.screen));
  share.hidden = !publish || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia;
  const raised = !!(state.you && state.you.hand_raised);
  $("hand").textContent = raised ? t("lowerHand") : t("hand");
  $("hand").setAttribute("aria-pressed", String(raised));
  $("view").textContent = state.view === "grid" ? t("speakerView") : t("grid");
  document.querySelector(".host-only").hidden = !isHost();
  $("lock").textContent = state.locked ? t("unlock") : t("lock");
  $("lock").setAttribute("aria-pressed", String(state.locked));
  $("record").textContent = state.recording ? t("stopRecording") : t("startRecording");
  $("record").setAttribute("aria-pressed", String(state.recording));
  // Everyone sees that the room is being recorded, not only the host.
  $("rec-badge").hidden = !state.recording;
}

function ordered() {
  const all = [...state.participants.values()];
  const me = state.you ? state.you.id : null;
  const num = (id) => parseInt(String(id).replace(/\D/g, ""), 10) || 0;
  return all.sort((a, b) => (a.id === me ? -1 : b.id === me ? 1 : num(a.id) - num(b.id)));
}

function renderPeople() {
  const list = $("people");
  list.replaceChildren();
  for (const p of ordered()) {
    const mine = state.you && p.id === state.you.id;
    const li = document.createElement("li");
    li.dataset.id = p.id;
    li.dataset.audioMuted = String(p.audio_muted);
    li.dataset.videoMuted = String(p.video_muted);
    li.dataset.hand = String(p.hand_raised);
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = mine ? `${p.name} (${t("you")})` : p.name;
    const role = document.createElement("span");
    role.className = "person-role";
    role.textContent = t(p.role);
    const status = document.createElement("span");
    status.className = "person-state";
    // Listeners send nothing, so their microphone and camera say nothing.
    const sends = p.role === "host" || p.role === "speaker";
    const bits = sends ? [p.audio_muted ? t("micMuted") : t("micLive"), p.video_muted ? t("camMuted") : t("camLive")] : [];
    if (p.hand_raised) bits.push("✋ " + t("handRaised"));
    status.textContent = bits.join(" · ");
    li.append(name, " ", role, " ", status);
    if (isHost() && !mine) {
      const mute = document.createElement("button");
      mute.type = "button";
      mute.className = "mute-participant";
      mute.textContent = t("mute");
      mute.disabled = p.audio_muted;
      mute.addEventListener("click", () => moderate({ do: "mute", participant: p.id }));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove-participant danger";
      remove.textContent = t("remove");
      remove.addEventListener("click", () => { if (confirm(t("removeConfirm"))) moderate({ do: "remove", participant: p.id }); });
      li.append(" ", mute, " ", remove);
    }
    list.append(li);
  }
}

// Which received video is whose camera or screen: `track_mapping` names the participant and
// its sending section; a section equal to the participant's `screen` is its shared screen.
function videosOf(p) {
  const vids = [];
  for (const [mid, e] of state.recv) {
    if (e.participant === p.id && e.track && e.track.kind === "video" && e.track.readyState === "live") vids.push({ mid, ...e });
  }
  const screen = p.screen ? vids.find((v) => v.source_mid === p.screen) : undefined;
  const cams = vids
    .filter((v) => v !== screen && !state.screenMids.has(`${p.id}:${v.source_mid}`))
    .sort((a, b) => a.source_mid.localeCompare(b.source_mid, undefined, { numeric: true }));
  return { camera: cams[0], screen };
}

function renderStage() {
  if (!state.you || state.ended) return;
  const tiles = [];
  for (const p of ordered()) {
    if (p.id === state.you.id) {
      const track = mayPublish() && state.camOn ? state.local.video : null;
      tiles.push({ key: "self", participant: p.id, kind: "self", name: `${p.name} (${t("you")})`, track });
      continue;
    }
    const { camera, screen } = videosOf(p);
    tiles.push({
      key: p.id,
      participant: p.id,
      kind: "camera",
      name: p.name,
      track: camera && !p.video_muted ? camera.track : null,
      mid: camera && camera.mid,
      sourceMid: camera && camera.source_mid,
    });
    if (screen) {
      tiles.push({ key: `${p.id}:screen`, participant: p.id, kind: "screen", name: `${t("screenOf")}: ${p.name}`, track: screen.track, mid: screen.mid });
    }
  }
  for (const tile of tiles) tile.speaking = tile.kind !== "screen" && tile.participant === state.speaker;
  if (state.view === "speaker") {
    // A shared screen takes the big place; otherwise the active speaker, else the first other.
    const featured = tiles.find((x) => x.kind === "screen") || tiles.find((x) => x.speaking && x.kind !== "self") ||
      tiles.find((x) => x.kind === "camera") || tiles[0];
    if (featured) {
      featured.featured = true;
      tiles.splice(tiles.indexOf(featured), 1);
      tiles.unshift(featured);
    }
  }
  stage.render(tiles, state.view);
  preferLayers(tiles);
  const audio = [];
  for (const [mid, e] of state.recv) if (e.track && e.track.kind === "audio" && e.track.readyState === "live") audio.push({ mid, participant: e.participant, track: e.track });
  stage.renderAudio(audio);
}

// Tells the server the most of each camera this page shows: thumbnails take the smallest
// simulcast layer, a crowded grid the middle one, a large tile the best the link allows.
const preferred = new Map();
function preferLayers(tiles) {
  const crowded = tiles.length > 4;
  for (const tile of tiles) {
    if (tile.kind !== "camera" || !tile.sourceMid) continue;
    const layer = state.view === "speaker" ? (tile.featured ? null : "l") : crowded ? "m" : null;
    const key = `${tile.participant}:${tile.sourceMid}`;
    if ((preferred.has(key) ? preferred.get(key) : null) === layer) continue;
    preferred.set(key, layer);
    signal.send({ type: "prefer_layer", participant: tile.participant, mid: tile.sourceMid, layer });
  }
}

function addChat({ from, name, text, at }) {
  const li = document.createElement("li");
  li.dataset.from = from;
  const when = document.createElement("time");
  const date = new Date(at * 1000);
  when.dateTime = date.toISOString();
  when.textContent = date.toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  const who = document.createElement("strong");
  who.textContent = name;
  const line = document.createElement("span");
  line.className = "chat-text";
  line.textContent = text;
  li.append(when, " ", who, ": ", line);
  const log = $("chat-log");
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function showReaction({ from, emoji }) {
  const el = document.createElement("span");
  el.className = "reaction-bubble";
  el.textContent = `${emoji} ${nameOf(from)}`;
  $("reaction-float").append(el);
  setTimeout(() => el.remove(), 4_000);
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  applyText();
  bindControls();
  const params = new URLSearchParams(location.hash.slice(1));
  const meetingId = params.get("meeting");
  if (meetingId) {
    try {
      const j = await joinMeeting(meetingId);
      state.room = j.room;
      state.token = j.token;
      state.role = j.role;
    } catch (e) {
      showEnded(e.status === 401 ? t("loginFirst") : `${t("meetingFailed")}: ${e.message}`);
      return;
    }
    meeting = new MeetingPanels(meetingId, { t, lang: () => lang, send: (m) => signal && signal.send(m), notice });
    // The documents and roll call are extras: the call goes on without them.
    meeting.load(state.role === "host").catch((e) => notice(`${t("error")}: ${e.message}`));
  } else if (params.get("room") && params.get("token")) {
    state.room = params.get("room");
    state.token = params.get("token");
    state.role = claims(state.token).role || "listener";
  } else {
    showEnded(t("badLink"));
    return;
  }
  showPrejoin();
}

start();
