// The console's cameras: the list of the caller's cameras with their stream (shown without user
// name and password) and whether it comes through (refreshed with the console), watching them
// live on the camera wall, a layer of the map, and for operators registering a camera, switching
// it off and on, and moving it to the point marked on the map.

import { $, api, el, t, unitName, when } from "../common.js";
import { keepOnWall, toggleWatch, watching } from "./wall.js";
import { openFootage, setupFootage } from "./footage.js";
import { openCounts, setupCounts } from "./counts.js";
import { openAreas, setupAreas } from "./areas.js";

const TRANSPORTS = ["tcp", "udp"];
const RECORDING = ["continuous", "scheduled", "off"];

let cameras = [];
// What the console shares: the map (once drawn), the units, whether the caller manages, and
// whether they may see footage.
let ctx = { map: () => null, units: () => [], manage: false, footage: false };

export function setupCameras(options) {
  ctx = options;
  $("camera-form").hidden = !ctx.manage;
  $("camera-form").addEventListener("submit", register);
  $("layer-cameras").addEventListener("change", renderCameraLayer);
  fillCameraSelects();
  setupCounts();
  if (ctx.manage) setupAreas(loadCameras);
  if (ctx.footage) setupFootage();
}

export function fillCameraSelects() {
  const keep = (select, options) => {
    const v = select.value;
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
    if (options.some(([o]) => o === v)) select.value = v;
  };
  keep($("c-where"), ctx.units().map((u) => [u.code, unitName(u)]));
  keep($("c-transport"), TRANSPORTS.map((x) => [x, t("transport_" + x)]));
  keep($("c-recording"), RECORDING.map((x) => [x, t("recording_" + x)]));
}

// A point marked on the map is where a new camera stands, in the ward that holds it.
export function cameraPlaced(point, ward) {
  $("c-place").textContent = point ? t("placeAt", { lat: point.lat.toFixed(5), lon: point.lon.toFixed(5) }) : t("noPlace");
  if (ward) $("c-where").value = ward.properties.code;
  renderCameras();
}

export async function loadCameras() {
  try {
    cameras = await api("GET", "/api/v1/cameras");
    $("cameras-error").hidden = true;
  } catch (e) {
    $("cameras-error").textContent = e.message;
    $("cameras-error").hidden = false;
    return;
  }
  renderCameras();
}

async function change(c, body, what) {
  $("cameras-error").hidden = true;
  try {
    await api("PATCH", `/api/v1/cameras/${c.id}`, body);
    $("cameras-done").textContent = t(what, { name: c.name });
    await loadCameras();
  } catch (e) {
    $("cameras-error").textContent = e.message;
    $("cameras-error").hidden = false;
  }
}

export function renderCameras() {
  const point = ctx.map()?.point;
  keepOnWall(cameras.filter((c) => c.enabled));
  $("camera-table").tBodies[0].replaceChildren(...cameras.map((c) => {
    const actions = el("td");
    if (c.enabled) {
      const on = watching(c.id);
      const watch = el("button", { type: "button", text: t(on ? "unwatch" : "watch"),
        "aria-label": t(on ? "unwatchOf" : "watchOf", { name: c.name }), "aria-pressed": on ? "true" : "false" });
      watch.addEventListener("click", async () => {
        await toggleWatch(c);
        renderCameras();
      });
      actions.append(watch, " ");
    }
    const counts = el("button", { type: "button", class: "secondary", text: t("counts"), "aria-label": t("countsFor", { name: c.name }) });
    counts.addEventListener("click", () => openCounts(c));
    actions.append(counts, " ");
    if (ctx.footage && c.recording !== "off") {
      const rec = el("button", { type: "button", class: "secondary", text: t("footage"), "aria-label": t("footageFor", { name: c.name }) });
      rec.addEventListener("click", () => openFootage(c));
      actions.append(rec, " ");
    }
    if (ctx.manage) {
      const toggle = el("button", { type: "button", class: "secondary",
        text: t(c.enabled ? "cameraOff" : "cameraOn"), "aria-label": t(c.enabled ? "cameraOffOf" : "cameraOnOf", { name: c.name }) });
      toggle.addEventListener("click", () => change(c, { enabled: !c.enabled }, c.enabled ? "doneOff" : "doneOn"));
      const move = el("button", { type: "button", class: "secondary", text: t("moveHere"), "aria-label": t("moveHereOf", { name: c.name }) });
      move.disabled = !point;
      move.addEventListener("click", () => {
        const p = ctx.map()?.point;
        if (p) change(c, { lon: p.lon, lat: p.lat }, "doneMoved");
      });
      const areas = el("button", { type: "button", class: "secondary", text: t("areas"), "aria-label": t("areasFor", { name: c.name }) });
      areas.disabled = !c.enabled;
      areas.addEventListener("click", () => openAreas(c));
      actions.append(toggle, " ", move, " ", areas);
    }
    return el("tr", { "data-camera": c.code }, [
      el("td", { text: c.code }),
      el("td", { text: c.name }),
      el("td", { text: c.unit_name }),
      el("td", { class: "stream" }, [el("code", { text: c.source }),
        c.has_credentials ? el("span", { class: "note", text: " · " + t("withLogin") }) : ""]),
      el("td", {}, [link(c)]),
      actions,
    ]);
  }));
  $("cameras-empty").hidden = cameras.length > 0;
  renderCameraLayer();
}

// Whether the camera's stream comes through, as the relay last found it.
function link(c) {
  const h = c.health;
  const state = !c.enabled ? "off" : h ? h.state : "none";
  let text = t("link_" + state);
  if (state === "up") text += " · " + t("fps", { n: Math.round(h.fps) }) + (h.width ? ` · ${h.width}×${h.height}` : "");
  if (state === "down" && h.fault) text += ": " + t("fault_" + h.fault);
  return el("span", { class: "status link-" + state, text, title: h ? t("checkedAt", { at: when(h.checked_at) }) : undefined });
}

export function renderCameraLayer() {
  const map = ctx.map();
  if (!map) return;
  const layer = map.layer("cameras", $("layer-cameras").checked);
  layer.clearLayers();
  for (const c of cameras.filter((x) => x.lon != null && x.lat != null)) {
    const down = c.enabled && c.health && c.health.state === "down";
    const counted = c.now ? t("nowCounts", { people: Math.round(c.now.people), vehicles: Math.round(c.now.vehicles) }) : "";
    map.dot(layer, [c.lon, c.lat], { radius: 8, className: "camera " + (!c.enabled ? "camera-off" : down ? "camera-down" : "camera-on"),
      data: { camera: c.code }, title: [c.name, link(c).textContent, counted].filter(Boolean).join(" · ") });
    // What counting sees now, beside the camera (refreshed with the list, every 10 s).
    if (c.now) map.badge(layer, [c.lon, c.lat], counted, { "camera-count": c.code });
  }
}

async function register(ev) {
  ev.preventDefault();
  const map = ctx.map();
  const heading = $("c-heading").value.trim();
  const body = {
    code: $("c-code").value.trim(),
    name: $("c-name").value.trim(),
    unit_code: $("c-where").value,
    source: $("c-source").value.trim(),
    transport: $("c-transport").value,
    heading: heading === "" ? null : Number(heading),
    recording: $("c-recording").value,
    schedule: $("c-schedule").value.trim() || null,
    retention_hours: Math.round(Number($("c-retention").value || 7) * 24),
    lon: map && map.point ? map.point.lon : null,
    lat: map && map.point ? map.point.lat : null,
  };
  $("camera-error").hidden = true;
  $("camera-done").textContent = "";
  try {
    const c = await api("POST", "/api/v1/cameras", body);
    $("camera-done").textContent = t("cameraRegistered", { code: c.code });
    $("camera-form").reset();
    fillCameraSelects();
    if (map) map.clear();
    await loadCameras();
  } catch (e) {
    $("camera-error").textContent = e.message;
    $("camera-error").hidden = false;
    $("camera-error").focus();
  }
}
