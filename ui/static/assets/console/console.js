// The operators' console: alerts of the caller's units, pushed by the live feed (Server-Sent
// Events) as they are raised and change, with acknowledge, assign and resolve; a visual cue and,
// when switched on, a sound for a new critical alert; the sensors with their latest reading, and
// registering one; the cameras (cameras.js); the street kiosks and their calls (kiosks.js).
// Needs a staff session from the home page's login.

import { $, api, currentLang, el, followFeed, setupLang, staffSession, t, unitName, when } from "../common.js";
import { fitWidth, timeChart } from "../chart.js";
import { ConsoleMap } from "./map.js";
import { cameraPlaced, fillCameraSelects, loadCameras, renderCameraLayer, setupCameras } from "./cameras.js";
import { countsArrived } from "./wall.js";
import { kioskChanged, loadKiosks, renderKiosks, setupKiosks } from "./kiosks.js";
import "./text.js";

const READERS = ["admin", "operator", "district_official", "ward_official"];
const MANAGERS = ["admin", "operator"];
// Who may play back and export camera footage.
const INVESTIGATORS = ["admin", "operator", "district_official"];
// Who may start a video call with a ward (the meetings' hosts).
const CALLERS = ["admin", "operator", "district_official", "ward_official"];
const STATUSES = ["open", "acknowledged", "resolved"];
const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
const KINDS = ["temperature", "humidity", "door", "air_quality", "flood_level", "noise"];

let me = null;
let units = [];
let alerts = [];
let sensors = [];
let chosen = null;
let mayCall = false;
let live = null;
let map = null;
let complaints = [];
// Alerts the feed announced as raised since the last reload: the critical ones among them ring.
const raised = new Set();

const nameOfUnit = (code, fallback) => unitName(units.find((x) => x.code === code)) || fallback || code;
const badge = (cls, text) => el("span", { class: cls, text });
const severityBadge = (s) => badge("badge severity-" + s, t("sev_" + s));
const statusBadge = (s) => badge("status alert-" + s, t("ast_" + s));

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("console-view").hidden = true;
}

function renderLive() {
  $("live-state").textContent = live === null ? "" : live ? t("liveOn") : t("liveOff");
}

function renderAlerts() {
  const body = $("alert-table").tBodies[0];
  body.replaceChildren(...alerts.map((a) => {
    const open = el("button", { type: "button", class: "link-button", text: a.title, "aria-label": t("openAlert", { title: a.title }) });
    open.addEventListener("click", () => choose(a.id));
    const tr = el("tr", { "data-id": String(a.id), class: a.id === chosen ? "chosen" : "" },
      el("td", {}, severityBadge(a.severity)),
      el("td", {}, open),
      el("td", { text: nameOfUnit(a.unit_code, a.unit_name) }),
      el("td", {}, statusBadge(a.status)),
      el("td", { text: when(a.raised_at) }),
      el("td", { text: a.assignee || "" }),
      el("td", {}, a.status === "open" ? quickAck(a) : ""));
    return tr;
  }));
  $("alerts-empty").hidden = alerts.length > 0;
  renderDetail();
  renderMap();
}

function quickAck(a) {
  const b = el("button", { type: "button", class: "secondary", text: t("acknowledge"), "aria-label": t("ackAlert", { title: a.title }) });
  b.addEventListener("click", () => act(a.id, { action: "acknowledge" }));
  return b;
}

function renderDetail() {
  const a = alerts.find((x) => x.id === chosen);
  $("detail-empty").hidden = Boolean(a);
  $("detail-body").hidden = !a;
  if (!a) return;
  const facts = [
    [t("col_alert"), a.title],
    [t("col_severity"), t("sev_" + a.severity)],
    [t("col_status"), t("ast_" + a.status)],
    [t("col_unit"), nameOfUnit(a.unit_code, a.unit_name)],
    [t("condition"), t("cond_" + a.condition)],
    [t("col_value"), a.value == null ? "" : String(a.value)],
    [t("col_raised"), when(a.raised_at)],
    [t("cleared"), a.cleared_at ? when(a.cleared_at) : t("stillOn")],
    [t("acknowledgedBy"), a.acknowledged_by ? a.acknowledged_by + " · " + when(a.acknowledged_at) : ""],
    [t("col_assignee"), a.assignee || ""],
    [t("resolvedBy"), a.resolved_by ? a.resolved_by + " · " + when(a.resolved_at) : ""],
    [t("resolveNote"), a.note || ""],
  ].filter(([, v]) => v !== "");
  $("d-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const done = a.status === "resolved";
  $("do-ack").disabled = a.status !== "open";
  $("do-assign").disabled = done;
  $("do-resolve").disabled = done;
  $("do-call").hidden = !mayCall;
  $("do-call").textContent = t("callUnit", { unit: nameOfUnit(a.unit_code, a.unit_name) });
}

function choose(id) {
  chosen = id;
  $("act-error").hidden = true;
  $("act-done").textContent = "";
  renderAlerts();
  $("detail-title").focus();
}

async function act(id, action) {
  $("act-error").hidden = true;
  $("act-done").textContent = "";
  try {
    await api("POST", `/api/v1/alerts/${id}/actions`, action);
    $("act-done").textContent = t("done_" + action.action);
    if (action.action === "resolve") $("resolve-note").value = "";
    await loadAlerts();
  } catch (e) {
    $("act-error").textContent = e.message;
    $("act-error").hidden = false;
    if (chosen === id) $("act-error").focus();
  }
}

// A short two-tone chime, made here rather than fetched.
function chime() {
  if (!$("sound").checked) return;
  try {
    const ctx = new AudioContext();
    [880, 660].forEach((f, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = f;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.2);
      osc.stop(ctx.currentTime + i * 0.2 + 0.18);
    });
  } catch (_) {
    // No audio device: the visual cue remains.
  }
}

// The banner (and chime) for the critical alerts the feed has just announced as raised.
function cue() {
  const fresh = alerts.filter((a) => raised.has(a.id) && a.severity === "critical" && a.status === "open");
  raised.clear();
  if (!fresh.length) return;
  const box = $("critical");
  box.textContent = t("newCritical", { title: fresh.map((a) => a.title).join(", ") });
  box.hidden = false;
  chime();
}

async function loadAlerts() {
  const status = $("a-status").value;
  try {
    const list = await api("GET", "/api/v1/alerts" + (status ? "?status=" + status : ""));
    // Open first, then the most severe, then the newest.
    const rank = (a) => [STATUSES.indexOf(a.status), SEVERITIES.indexOf(a.severity)];
    alerts = list.sort((x, y) => {
      const [a, b] = [rank(x), rank(y)];
      return a[0] - b[0] || a[1] - b[1] || y.raised_at.localeCompare(x.raised_at);
    });
    $("alerts-error").hidden = true;
  } catch (e) {
    $("alerts-error").textContent = e.message;
    $("alerts-error").hidden = false;
    return;
  }
  cue();
  renderAlerts();
}

function renderSensors() {
  $("sensor-table").tBodies[0].replaceChildren(...sensors.map((s) => {
    const limits = [s.low == null ? null : "≥ " + s.low, s.high == null ? null : "≤ " + s.high].filter(Boolean).join(" · ");
    const value = s.last_value == null ? "—" : `${s.last_value} ${s.unit}`;
    const outside = s.last_value != null && ((s.high != null && s.last_value > s.high) || (s.low != null && s.last_value < s.low));
    return el("tr", { "data-code": s.code },
      el("td", { text: s.code }),
      el("td", {}, readingsButton(s)),
      el("td", { text: nameOfUnit(s.unit_code, s.unit_name) }),
      el("td", { class: outside ? "outside" : "", text: value + (outside ? " ⚠" : "") }),
      el("td", { text: limits }),
      el("td", { text: s.last_at ? when(s.last_at) : "" }));
  }));
  $("sensors-empty").hidden = sensors.length > 0;
  renderMap();
}

function readingsButton(s) {
  const b = el("button", { type: "button", class: "link-button", text: s.name, "aria-label": t("showReadings", { name: s.name }) });
  b.addEventListener("click", async () => {
    chartOf = s.id;
    await loadReadings();
    $("sensor-chart-title").focus();
  });
  return b;
}

// The chosen sensor's readings over the last 24 hours, with its thresholds as dashed lines.
let chartOf = null;
let readingsChart = null;

async function loadReadings() {
  const s = sensors.find((x) => x.id === chartOf);
  $("sensor-chart-panel").hidden = !s;
  if (!s) return;
  let points = [];
  try {
    points = await api("GET", `/api/v1/sensors/${s.id}/readings`);
  } catch (e) {
    $("sensor-chart-summary").textContent = e.message;
    return;
  }
  $("sensor-chart-title").textContent = t("readingsOf", { name: s.name });
  const values = points.map((p) => p.value);
  $("sensor-chart-summary").textContent = points.length === 0 ? t("noReadings")
    : t("readingsSummary", { n: points.length, min: Math.min(...values), max: Math.max(...values), unit: s.unit });
  $("sensor-chart").setAttribute("aria-label", t("readingsOf", { name: s.name }));
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  const series = [{ label: `${t("reading")} (${s.unit})`, stroke: "#0b4f8a" }];
  const data = [xs, values];
  for (const [limit, label] of [[s.high, t("high")], [s.low, t("low")]]) {
    if (limit == null) continue;
    series.push({ label, stroke: "#8b0000", dash: [6, 4], points: { show: false } });
    data.push(xs.map(() => limit));
  }
  const clock = (v) => when(new Date(v * 1000).toISOString());
  const hhmm = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit" });
  if (readingsChart) readingsChart.destroy();
  readingsChart = timeChart($("sensor-chart"), {
    data, series, yLabel: s.unit, height: 260, floor: 0,
    ticks: (v) => hhmm.format(new Date(v * 1000)),
    legend: clock,
  });
}

// Starts a video call with a unit now (a meeting it is invited to) and offers the way in.
async function call(unit, title, box, errorBox) {
  errorBox.hidden = true;
  try {
    const m = await api("POST", "/api/v1/meetings", {
      title: title.slice(0, 200),
      starts_at: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      wards: [unit],
    });
    const link = el("a", { href: "/room#meeting=" + encodeURIComponent(m.id), target: "_blank", rel: "noopener", class: "join-call", text: t("callJoin") });
    box.replaceChildren(t("callReady", { unit: nameOfUnit(unit) }), link);
    link.focus();
  } catch (e) {
    errorBox.textContent = e.message;
    errorBox.hidden = false;
  }
}

async function loadSensors() {
  try {
    sensors = await api("GET", "/api/v1/sensors");
    $("sensors-error").hidden = true;
  } catch (e) {
    $("sensors-error").textContent = e.message;
    $("sensors-error").hidden = false;
    return;
  }
  renderSensors();
  if (chartOf !== null) await loadReadings();
}

// The layers over the wards: sensors (red while an alert of theirs is not resolved) and the last
// 30 days' open complaints (darker when overdue), or on the timeline those filed in the 24 hours
// up to the chosen moment. A click on the map places a new sensor.
function renderMap() {
  if (!map) return;
  const alerting = new Set(alerts.filter((a) => a.source_type === "sensor" && a.status !== "resolved").map((a) => a.source_id));
  const sensorLayer = map.layer("sensors", $("layer-sensors").checked);
  sensorLayer.clearLayers();
  for (const s of sensors.filter((x) => x.lon != null && x.lat != null)) {
    const on = alerting.has(s.id);
    const value = s.last_value == null ? "" : ` · ${s.last_value} ${s.unit}`;
    map.dot(sensorLayer, [s.lon, s.lat], { radius: 9, className: "sensor " + (on ? "sensor-alerting" : "sensor-ok"), data: { sensor: s.code },
      title: `${s.name}${value}${on ? " · " + t("legendAlerting") : ""}` });
  }
  const complaintLayer = map.layer("complaints", $("layer-complaints").checked);
  complaintLayer.clearLayers();
  // At "now", the open complaints; earlier on the timeline, those filed in the 24 hours up to then.
  const moment = timelineMoment();
  const shown = moment === null ? complaints : day.filter((f) => Date.parse(f.properties.submitted_at) <= moment);
  $("timeline-at").textContent = moment === null ? t("timelineNow") : t("timelineAt", { at: when(new Date(moment).toISOString()), n: shown.length });
  for (const f of shown) {
    const p = f.properties;
    const recent = moment !== null && moment - Date.parse(p.submitted_at) <= HOUR;
    map.dot(complaintLayer, f.geometry.coordinates, { radius: 6,
      className: "complaint " + (p.overdue ? "complaint-overdue" : "complaint-open") + (recent ? " recent" : ""), data: { complaint: String(p.id) },
      title: `#${p.id} · ${p.category}${p.overdue ? " · " + t("legendOverdue") : ""}` });
  }
}

async function loadComplaints() {
  const open = ["submitted", "for_triage", "assigned", "in_progress", "reopened"];
  const since = new Date(Date.now() - 24 * HOUR).toISOString();
  const [all, last] = await Promise.all([
    api("GET", "/api/v1/dashboard/complaints.geojson").catch(() => null),
    api("GET", "/api/v1/dashboard/complaints.geojson?since=" + encodeURIComponent(since)).catch(() => null),
  ]);
  complaints = all ? all.features.filter((f) => f.geometry && open.includes(f.properties.status)) : [];
  day = last ? last.features.filter((f) => f.geometry) : [];
  dayEnd = Date.now();
  renderMap();
}

// The timeline: 96 steps of 15 minutes over the last 24 hours; the last step is "now".
const HOUR = 3_600_000;
const STEPS = 96;
let day = [];
let dayEnd = Date.now();
let playing = null;

function timelineMoment() {
  const step = Number($("timeline").value);
  return step >= STEPS ? null : dayEnd - (STEPS - step) * (HOUR / 4);
}

function setupTimeline() {
  $("timeline").addEventListener("input", renderMap);
  $("timeline-play").addEventListener("click", () => {
    if (playing) return stopPlaying();
    if (Number($("timeline").value) >= STEPS) $("timeline").value = "0";
    $("timeline-play").textContent = t("pause");
    playing = setInterval(() => {
      $("timeline").value = String(Number($("timeline").value) + 1);
      renderMap();
      if (Number($("timeline").value) >= STEPS) stopPlaying();
    }, 250);
  });
}

function stopPlaying() {
  clearInterval(playing);
  playing = null;
  $("timeline-play").textContent = t("play");
}

function placed(point) {
  $("s-place").textContent = point ? t("placeAt", { lat: point.lat.toFixed(5), lon: point.lon.toFixed(5) }) : t("noPlace");
}

async function setupMap() {
  const shapes = await api("GET", "/api/v1/jurisdictions/boundaries?kind=ward").catch(() => null);
  const wards = shapes ? shapes.features.filter((f) => f.geometry) : [];
  if (!wards.length) {
    $("map-section").hidden = true;
    return;
  }
  map = new ConsoleMap($("console-map"), wards, (point, ward) => {
    placed(point);
    if (ward) $("s-where").value = ward.properties.code;
    cameraPlaced(point, ward);
  });
  map.names((p) => (currentLang() === "vi" ? p.name_vi : p.name_en) || p.code);
  $("layer-sensors").addEventListener("change", renderMap);
  $("layer-complaints").addEventListener("change", renderMap);
  renderCameraLayer();
}

function fillSelects() {
  const keep = (select, options) => {
    const v = select.value;
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
    if (options.some(([o]) => o === v)) select.value = v;
  };
  keep($("a-status"), [["", t("allAlerts")], ...STATUSES.map((s) => [s, t("ast_" + s)])]);
  keep($("s-kind"), KINDS.map((k) => [k, t("kind_" + k)]));
  keep($("s-severity"), SEVERITIES.map((s) => [s, t("sev_" + s)]));
  keep($("s-where"), units.map((u) => [u.code, unitName(u)]));
  keep($("call-unit"), units.filter((u) => u.kind === "ward").map((u) => [u.code, unitName(u)]));
  fillCameraSelects();
}

async function register(ev) {
  ev.preventDefault();
  const num = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
  const body = {
    code: $("s-code").value.trim(),
    name: $("s-name").value.trim(),
    kind: $("s-kind").value,
    unit: $("s-measure").value.trim(),
    unit_code: $("s-where").value,
    low: num("s-low"),
    high: num("s-high"),
    severity: $("s-severity").value,
    lon: map && map.point ? map.point.lon : null,
    lat: map && map.point ? map.point.lat : null,
  };
  $("sensor-error").hidden = true;
  $("sensor-done").textContent = "";
  try {
    const s = await api("POST", "/api/v1/sensors", body);
    $("sensor-done").textContent = t("registered", { code: s.code });
    $("sensor-form").reset();
    fillSelects();
    if (map) map.clear();
    await loadSensors();
  } catch (e) {
    $("sensor-error").textContent = e.message;
    $("sensor-error").hidden = false;
    $("sensor-error").focus();
  }
}

// A complaint's change redraws the complaints layer; an alert's, the lists and the map; a
// camera's new counts, its tile on the wall; a feed that fell behind or came back after a drop,
// everything.
function listen() {
  const reload = (e) => {
    if (e && e.type && e.type.startsWith("complaint.")) return loadComplaints();
    if (e && e.type === "camera.counts") return countsArrived(e.id);
    if (e && e.type && e.type.startsWith("kiosk")) return kioskChanged(e);
    if (e && e.type === "alert.raised") raised.add(e.id);
    return Promise.all([loadAlerts(), loadSensors(), loadComplaints(), loadCameras(), loadKiosks()]);
  };
  const kinds = ["alert.raised", "alert.changed", "complaint.created", "complaint.changed", "camera.counts",
    "kiosk_call.ringing", "kiosk_call.answered", "kiosk_call.ended", "kiosk.online", "kiosk.changed", "kiosk.screenshot"];
  followFeed(kinds, reload, (on) => {
    live = on;
    renderLive();
  });
}

function redraw() {
  fillSelects();
  if (map) map.names((p) => (currentLang() === "vi" ? p.name_vi : p.name_en) || p.code);
  placed(map ? map.point : null);
  renderLive();
  renderAlerts();
  renderSensors();
  cameraPlaced(map ? map.point : null, null);
  renderKiosks();
  if (chartOf !== null) loadReadings();
  if (!playing) $("timeline-play").textContent = t("play");
}

async function main() {
  setupLang(redraw);
  me = await staffSession(READERS, gate);
  if (!me) return;
  $("console-view").hidden = false;
  $("sensor-form").hidden = !me.grants.some((g) => MANAGERS.includes(g.role));
  units = await api("GET", "/api/v1/jurisdictions").catch(() => []);
  setupCameras({ map: () => map, units: () => units, manage: me.grants.some((g) => MANAGERS.includes(g.role)),
    footage: me.grants.some((g) => INVESTIGATORS.includes(g.role)) });
  fillSelects();
  $("a-status").addEventListener("change", loadAlerts);
  $("do-ack").addEventListener("click", () => act(chosen, { action: "acknowledge" }));
  $("do-assign").addEventListener("click", () => act(chosen, { action: "assign", username: $("assignee").value.trim() }));
  $("do-resolve").addEventListener("click", () => act(chosen, { action: "resolve", note: $("resolve-note").value.trim() }));
  mayCall = me.grants.some((g) => CALLERS.includes(g.role));
  $("calls").hidden = !mayCall;
  $("call-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const unit = $("call-unit").value;
    call(unit, t("callTitle", { unit: nameOfUnit(unit) }), $("call-done"), $("call-error"));
  });
  $("do-call").addEventListener("click", () => {
    const a = alerts.find((x) => x.id === chosen);
    if (a) call(a.unit_code, t("callAbout", { title: a.title }), $("act-done"), $("act-error"));
  });
  $("sensor-form").addEventListener("submit", register);
  await setupMap();
  setupKiosks({ map: () => map, chime, units: () => units, manage: me.grants.some((g) => MANAGERS.includes(g.role)) });
  setupTimeline();
  fitWidth(() => readingsChart, $("sensor-chart"));
  placed(null);
  cameraPlaced(null, null);
  await Promise.all([loadAlerts(), loadSensors(), loadComplaints(), loadCameras(), loadKiosks()]);
  listen();
  // The cameras' signal, as the relay finds it every few seconds.
  setInterval(loadCameras, 10_000);
}

main();
