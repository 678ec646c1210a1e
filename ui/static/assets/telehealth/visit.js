// The visit page, /visit#appointment=ID: the appointment, the check of camera, microphone and
// network, then the call. The clinic records the patient's consent, enters the waiting room and
// asks every two seconds whether the doctor has admitted it; the doctor sees the clinic waiting
// (the appointment read again every two seconds), admits it, joins with a host token, may add
// someone, and writes the visit note that fulfils the appointment. Someone the doctor added
// waits like the clinic until the clinic is admitted.

import {
  $, CLINIC, DOCTOR, api, apptBadge, apptLabel, apptPath, clock, el, hasRole, hideError, pair, patientText, setupLang,
  showError, span, t,
} from "./common.js";
import { DeviceCheck, measureNetwork } from "./precheck.js";
import { LinkQuality } from "./quality.js";
import { Call } from "./call.js";

const POLL_MS = 2_000;
const FINAL = ["fulfilled", "cancelled", "noshow"];

let id = null;
let me = null;
let appt = null;
// doctor (the appointment's), clinic (its ward's staff), guest (someone the doctor added).
let side = null;
// check → (clinic: consent → arrive →) waiting → call → ended; closed when nothing is left to do.
let step = "check";
let gateText = null;

let check = null;
let checking = false;
let checked = false;
let net = null;

let waitTimer = null;
let clockTimer = null;
let waitSince = 0;
let waitError = "";
let doctorTimer = null;

let call = null;
let joinInfo = null;
let quality = null;
let reading = null;
let endedWhy = "";
let noticeText = null;
let noticeTimer = null;

// What tests (and a curious developer) may inspect: the call's peer connection.
window.q10room = {
  get pc() { return call ? call.pc : null; },
};

const isFinal = () => !!appt && FINAL.includes(appt.status);

function gate(text, reason) {
  gateText = text;
  $("gate-text").textContent = text();
  $("gate-login").hidden = reason !== "login";
  $("gate").dataset.reason = reason;
  $("gate").hidden = false;
  $("visit-view").hidden = true;
}

// A short message under the header; `sticky` ones stay until replaced.
function notice(text, { sticky = false } = {}) {
  noticeText = text;
  const box = $("notice");
  box.textContent = text ? text() : "";
  box.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && !sticky) noticeTimer = setTimeout(() => notice(null), 6_000);
}

// ---- the appointment ---------------------------------------------------------------------------

async function loadAppointment() {
  appt = await api("GET", apptPath(id));
  renderAppt();
  if (isFinal()) closeIfWaiting();
  if (side === "doctor") renderDoctor();
}

// Once the appointment is over (fulfilled, cancelled, missed), the steps before the call end and
// the devices close; a call under way goes on until hung up.
function closeIfWaiting() {
  if (!["check", "consent", "arrive", "waiting"].includes(step)) return;
  stopWaiting();
  if (check) check.stop();
  checked = false;
  setStep("closed");
}

function consentText(c) {
  if (!c || !c.call) return "";
  return `${c.recording ? t("consentBoth") : t("consentCallOnly")} · ${c.by}`;
}

function renderAppt() {
  if (!appt) return;
  $("appt-title").textContent = t("appointment", { id: appt.id });
  const status = $("appt-status");
  status.replaceChildren(apptBadge(appt.status));
  status.dataset.status = appt.status;
  const closed = $("appt-closed");
  closed.hidden = !isFinal();
  closed.textContent = isFinal() ? t("apptClosed", { status: apptLabel(appt.status) }) : "";
  const p = appt.patient || {};
  $("appt-facts").replaceChildren(
    ...pair(t("f_time"), span(appt.start, appt.end, { withDay: true })),
    ...pair(t("f_doctor"), appt.doctor_name),
    ...pair(t("f_clinic"), appt.clinic_name ? `${appt.clinic_name} (${appt.clinic_unit})` : appt.clinic_unit),
    ...pair(t("f_patient"), p.name ? el("span", { id: "appt-patient", text: patientText(p.name, p.birth_year) }) : null),
    ...pair(t("f_reason"), appt.reason ? el("span", { class: "description", text: appt.reason }) : null),
    ...pair(t("f_consent"), consentText(appt.consent)),
    ...pair(t("f_participants"), (appt.participants || []).map((x) => x.name).join(", ")),
    ...pair(t("f_cancel"), appt.cancel_reason),
    ...pair(t("f_note"), appt.note ? el("span", { id: "appt-note", class: "description", text: appt.note }) : null),
  );
}

// ---- which panels show ---------------------------------------------------------------------------

function renderSteps() {
  $("check").hidden = !["check", "consent", "arrive", "waiting"].includes(step);
  $("consent-form").hidden = step !== "consent";
  $("arrive-step").hidden = step !== "arrive";
  $("waiting").hidden = step !== "waiting";
  $("call").hidden = step !== "call";
  $("ended").hidden = step !== "ended";
  $("consent-done").textContent = appt && appt.consent && appt.consent.call ? t("consentSaved") : "";
  document.body.dataset.step = step;
}

function setStep(next) {
  step = next;
  renderSteps();
  renderCheck();
  if (side === "doctor") renderDoctor();
}

// ---- the check ---------------------------------------------------------------------------------

function renderCheck() {
  if (!check) return;
  const tried = checked || checking;
  const cam = $("cam-state");
  const camOk = !!check.video && check.seen;
  cam.dataset.ok = String(camOk);
  cam.textContent = !tried ? "" : `${t("camera")}: ${camOk ? t("camOk") : checking && check.video ? t("checkWaiting") : t("camMissing")}`;
  const mic = $("mic-state");
  const micOk = !!check.audio && check.heard();
  mic.dataset.ok = String(micOk);
  mic.textContent = !tried ? "" : `${t("microphone")}: ${!check.audio ? (checking ? t("checkWaiting") : t("micMissing")) : micOk ? t("micOk") : t("micSilent")}`;
  check.fillPickers({ camera: t("camera"), microphone: t("microphone") });
  const result = $("net-result");
  const verdict = $("net-verdict");
  if (!net) {
    result.textContent = checking ? t("netMeasuring") : "";
    verdict.textContent = "";
    delete verdict.dataset.verdict;
    delete result.dataset.ms;
  } else {
    result.textContent = net.ms === null ? t("netFailed") : t("netResult", { ms: net.ms, n: net.answered });
    if (net.ms !== null) result.dataset.ms = String(net.ms);
    verdict.textContent = t("net_" + net.verdict);
    verdict.dataset.verdict = net.verdict;
    verdict.className = "verdict verdict-" + net.verdict;
  }
  const box = $("check-error");
  box.hidden = !check.error;
  box.textContent = check.error ? `${t("noDevices")}: ${check.error}` : "";
  $("check-start").hidden = tried;
  $("check-again").hidden = !checked || checking;
  const state = $("check-state");
  state.dataset.state = checking ? "checking" : checked ? "done" : "idle";
  state.textContent = checking ? t("checkWaiting") : "";
  const cont = $("check-continue");
  cont.hidden = side === "doctor" || step !== "check";
  cont.disabled = !checked || checking;
}

// Opens the devices (the chosen ones when asked again) and measures the network.
async function runCheck({ chosen = false } = {}) {
  if (checking) return;
  checking = true;
  net = null;
  renderCheck();
  if (side === "doctor") renderDoctor();
  const cam = chosen ? $("cam-select").value : undefined;
  const mic = chosen ? $("mic-select").value : undefined;
  await Promise.all([
    check.open(cam, mic),
    measureNetwork().then((r) => { net = r; }),
  ]);
  checking = false;
  checked = true;
  renderCheck();
  if (side === "doctor") renderDoctor();
}

function continueAfterCheck() {
  check.resume();
  if (side === "guest") return startWaiting();
  if (appt.status === "arrived") return startWaiting();
  if (appt.consent && appt.consent.call) return setStep("arrive");
  setStep("consent");
  $("consent-call").focus();
}

// ---- the clinic: consent, arriving, waiting ------------------------------------------------------

async function submitConsent(ev) {
  ev.preventDefault();
  const box = $("consent-error");
  const callBox = $("consent-call");
  hideError(box, callBox);
  if (!callBox.checked) return showError(box, t("consentNeeded"), callBox);
  $("consent-submit").disabled = true;
  try {
    await api("POST", apptPath(id, "consent"), { call: true, recording: $("consent-recording").checked });
    await loadAppointment();
  } catch (e) {
    return showError(box, t("consentFailed") + ": " + e.message);
  } finally {
    $("consent-submit").disabled = false;
  }
  setStep("arrive");
  $("arrive").focus();
}

async function arrive() {
  const box = $("arrive-error");
  hideError(box);
  $("arrive").disabled = true;
  try {
    await api("POST", apptPath(id, "arrive"));
    await loadAppointment();
  } catch (e) {
    return showError(box, t("arriveFailed") + ": " + e.message);
  } finally {
    $("arrive").disabled = false;
  }
  startWaiting();
}

function renderWaiting() {
  $("waiting-text").textContent = side === "guest" ? t("invitedText") : t("waitingText");
  $("waited").textContent = waitSince ? t("waitedFor", { time: clock(Date.now() - waitSince) }) : "";
  const box = $("waiting-error");
  box.hidden = !waitError;
  box.textContent = waitError;
}

// Asks to join now and every two seconds until admitted.
function startWaiting() {
  setStep("waiting");
  waitSince = Date.now();
  waitError = "";
  renderWaiting();
  clearInterval(clockTimer);
  clockTimer = setInterval(renderWaiting, 1_000);
  pollJoin();
}

function stopWaiting() {
  clearTimeout(waitTimer);
  clearInterval(clockTimer);
  waitTimer = null;
  clockTimer = null;
}

async function pollJoin() {
  if (step !== "waiting") return;
  let answer = null;
  try {
    answer = await api("POST", apptPath(id, "join"));
    waitError = "";
  } catch (e) {
    waitError = t("waitingFailed") + ": " + e.message;
    // Gone, or no longer ours: nothing to wait for.
    if ([401, 403, 404].includes(e.status)) {
      renderWaiting();
      stopWaiting();
      return;
    }
    // Refused: perhaps the appointment is over.
    if (e.status === 409) await loadAppointment().catch(() => {});
  }
  const box = $("waiting");
  box.dataset.polls = String(Number(box.dataset.polls || 0) + 1);
  if (step !== "waiting") return;
  if (answer && answer.admitted && answer.token) {
    stopWaiting();
    startCall(answer);
    return;
  }
  renderWaiting();
  waitTimer = setTimeout(pollJoin, POLL_MS);
}

// ---- the doctor ----------------------------------------------------------------------------------

function clinicState() {
  if (!appt || !appt.arrived_at) return "absent";
  return appt.admitted_at ? "admitted" : "waiting";
}

function renderDoctor() {
  if (side !== "doctor" || !appt) return;
  $("doctor-panel").hidden = false;
  const state = clinicState();
  const box = $("clinic-state");
  box.dataset.state = state;
  box.textContent = { absent: t("clinicAbsent"), waiting: t("clinicWaiting"), admitted: t("clinicAdmitted") }[state];
  box.className = "clinic-state clinic-" + state;
  const open = !isFinal();
  $("admit").disabled = !open || state !== "waiting";
  $("admit").hidden = !open;
  const join = $("join-call");
  join.hidden = !open || step === "call";
  join.disabled = !checked || checking || step !== "check";
  $("join-hint").hidden = checked || !open;
  $("add-form").hidden = !open;
  const arrived = appt.status === "arrived";
  $("note-hint").hidden = arrived || !open;
  $("note-text").disabled = !arrived;
  $("note-submit").disabled = !arrived;
  $("note-text").hidden = !open;
  $("note-submit").hidden = !open;
  if (appt.status === "fulfilled") $("note-done").textContent = t("noteSaved");
}

async function pollAppointment() {
  try {
    await loadAppointment();
  } catch (_) {
    // Asked again next time.
  }
  if (isFinal()) return;
  doctorTimer = setTimeout(pollAppointment, POLL_MS);
}

async function doctorAction(path, body, failed, button) {
  const box = $("doctor-error");
  hideError(box);
  if (button) button.disabled = true;
  try {
    const answer = await api("POST", apptPath(id, path), body);
    return answer;
  } catch (e) {
    showError(box, t(failed) + ": " + e.message);
    return null;
  } finally {
    if (button) renderDoctor();
  }
}

async function admit() {
  const done = await doctorAction("admit", undefined, "admitFailed", $("admit"));
  if (done !== null) await loadAppointment().catch(() => {});
}

async function joinAsDoctor() {
  const answer = await doctorAction("join", undefined, "joinFailed", $("join-call"));
  if (answer && answer.admitted && answer.token) startCall(answer);
}

async function addParticipant(ev) {
  ev.preventDefault();
  const input = $("add-username");
  const box = $("add-error");
  hideError(box, input);
  $("add-done").textContent = "";
  const username = input.value.trim();
  if (!username) return showError(box, t("needUsername"), input);
  try {
    await api("POST", apptPath(id, "participants"), { username });
  } catch (e) {
    return showError(box, t("addFailed") + ": " + e.message, input);
  }
  input.value = "";
  $("add-done").textContent = t("added", { name: username });
  await loadAppointment().catch(() => {});
}

async function writeNote(ev) {
  ev.preventDefault();
  const text = $("note-text");
  const box = $("note-error");
  hideError(box, text);
  const note = text.value.trim();
  if (!note || note.length > 5000) return showError(box, t("needNote"), text);
  $("note-submit").disabled = true;
  try {
    await api("POST", apptPath(id, "note"), { note });
    await loadAppointment();
  } catch (e) {
    renderDoctor();
    return showError(box, t("noteFailed") + ": " + e.message, text);
  }
  $("note-done").textContent = t("noteSaved");
  $("note-done").focus();
}

// ---- the call ------------------------------------------------------------------------------------

function renderCall() {
  if (!call) return;
  const mic = $("mic");
  mic.textContent = call.micOn ? t("micOn") : t("micOff");
  mic.setAttribute("aria-pressed", String(!call.micOn));
  mic.hidden = !call.local.audio;
  const cam = $("cam");
  cam.textContent = call.camOn ? t("camOn") : t("camOff");
  cam.setAttribute("aria-pressed", String(!call.camOn));
  cam.hidden = !call.local.video;
  $("rec-consent").textContent = joinInfo ? (joinInfo.recording_allowed ? t("recordingAllowed") : t("recordingNotAllowed")) : "";
  renderQuality();
  // A reason's phrase, or the signaling's error as it came.
  if (step === "ended") $("ended-why").textContent = t(endedWhy);
}

function renderQuality() {
  const box = $("quality");
  const levelText = $("quality-level");
  const detail = $("quality-text");
  if (!reading || !reading.level) {
    levelText.textContent = "";
    detail.textContent = t("q_wait");
    delete box.dataset.level;
    $("audio-first").hidden = true;
    return;
  }
  box.dataset.level = reading.level;
  box.dataset.loss = reading.loss === null ? "" : reading.loss.toFixed(1);
  box.dataset.rtt = reading.rttMs === null ? "" : String(reading.rttMs);
  box.dataset.audioFirst = String(reading.audioFirst);
  levelText.textContent = t("q_" + reading.level);
  levelText.className = "verdict verdict-" + reading.level;
  detail.textContent = t("qualityDetail", {
    loss: reading.loss === null ? "–" : reading.loss.toFixed(1),
    rtt: reading.rttMs === null ? "–" : reading.rttMs,
  }) + (reading.outBps ? t("qualityRate", { kbps: Math.round(reading.outBps / 1000) }) : "");
  $("audio-first").hidden = !reading.audioFirst;
}

function startCall(answer) {
  joinInfo = answer;
  const tracks = check ? check.take() : { audio: null, video: null };
  call = new Call({ stage: $("stage"), audioSink: $("audio-sink") }, {
    onAudioBlocked: () => { $("sound").hidden = false; },
    you: () => t("you"),
    onError: (message) => notice(() => `${t("callError")}: ${message}`),
    onState: (state, detail) => {
      if (state === "reconnecting") notice(() => t("reconnecting"), { sticky: true });
      else if (state === "reconnected") notice(() => t("reconnected"));
      else if (state === "joined") notice(null);
      else if (state === "ended") endCall(detail);
    },
  });
  setStep("call");
  reading = null;
  quality = new LinkQuality(() => (call ? call.pc : null), (r) => { reading = r; renderQuality(); });
  quality.start();
  call.join({ room: answer.room, token: answer.token, audio: tracks.audio, video: tracks.video });
  renderCall();
}

function endCall(reason) {
  if (quality) quality.stop();
  reading = null;
  endedWhy = reason || "callEnded";
  setStep("ended");
  renderCall();
  if (noticeText) notice(null);
}

// ---- start ---------------------------------------------------------------------------------------

function redraw() {
  if (gateText) $("gate-text").textContent = gateText();
  if (noticeText) $("notice").textContent = noticeText();
  renderAppt();
  renderSteps();
  renderCheck();
  renderWaiting();
  renderDoctor();
  renderCall();
}

function bind() {
  check = new DeviceCheck({
    preview: $("preview"), meter: $("mic-level"),
    camSelect: $("cam-select"), micSelect: $("mic-select"), camPicker: $("cam-picker"), micPicker: $("mic-picker"),
  }, renderCheck);
  $("check-start").addEventListener("click", () => runCheck());
  $("check-again").addEventListener("click", () => runCheck({ chosen: true }));
  $("cam-select").addEventListener("change", () => runCheck({ chosen: true }));
  $("mic-select").addEventListener("change", () => runCheck({ chosen: true }));
  $("check-continue").addEventListener("click", continueAfterCheck);
  $("consent-form").addEventListener("submit", submitConsent);
  $("arrive").addEventListener("click", arrive);
  $("admit").addEventListener("click", admit);
  $("join-call").addEventListener("click", joinAsDoctor);
  $("add-form").addEventListener("submit", addParticipant);
  $("note-form").addEventListener("submit", writeNote);
  $("mic").addEventListener("click", () => { if (call) { call.setMic(!call.micOn); renderCall(); } });
  $("cam").addEventListener("click", () => { if (call) { call.setCam(!call.camOn); renderCall(); } });
  $("sound").addEventListener("click", () => {
    if (call) call.resumeAudio();
    $("sound").hidden = true;
  });
  $("hangup").addEventListener("click", () => { if (call) call.hangUp(); });
  $("rejoin").addEventListener("click", () => location.reload());
  // Leaving the page leaves the call at once rather than after the reconnection grace period.
  window.addEventListener("pagehide", () => { if (call) call.leaveNow(); });
  window.addEventListener("hashchange", () => location.reload());
}

async function start() {
  setupLang(redraw);
  id = new URLSearchParams(location.hash.slice(1)).get("appointment");
  if (!id || !/^\d+$/.test(id)) {
    gate(() => t("needId"), "error");
    document.body.dataset.ready = "true";
    return;
  }
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    gate(e.status === 401 ? () => t("loginVisit") : () => t("error") + ": " + e.message, e.status === 401 ? "login" : "error");
    document.body.dataset.ready = "true";
    return;
  }
  $("who").textContent = me.display_name;
  try {
    appt = await api("GET", apptPath(id));
  } catch (e) {
    if (e.status === 401) gate(() => t("loginVisit"), "login");
    else if (e.status === 403 || e.status === 404) gate(() => t("notFound"), "error");
    else gate(() => t("visitFailed") + ": " + e.message, "error");
    document.body.dataset.ready = "true";
    return;
  }
  if (hasRole(me, DOCTOR) && appt.doctor_id === me.id) side = "doctor";
  else if (hasRole(me, CLINIC)) side = "clinic";
  else side = "guest";
  $("visit-view").hidden = false;
  document.body.dataset.side = side;
  bind();
  renderAppt();
  step = isFinal() ? "closed" : "check";
  renderSteps();
  renderCheck();
  if (side === "doctor") {
    renderDoctor();
    if (!isFinal()) doctorTimer = setTimeout(pollAppointment, POLL_MS);
  }
  document.body.dataset.ready = "true";
}

start();
