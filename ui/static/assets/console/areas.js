// A camera's counting areas: zones (where objects standing are counted, and a crowd can raise an
// alert) and lines (crossings counted each way), drawn over its picture. Operators draw them in
// the editor on the live picture, by clicking or by typing the points; the wall shows them over
// each tile; the counts panel lists what was counted in each over the last hour.

import { $, api, el, t } from "../common.js";
import { hangUp, play } from "./wall.js";

const SVG = "http://www.w3.org/2000/svg";
const SHAPES = ["zone", "line"];
const KINDS = ["person", "bicycle", "motorcycle", "car", "bus", "truck"];

// The editor's state: the camera, its areas as they will be saved, and the live picture.
let editing = null;

// The live picture of a camera with its areas over it, as tall as the camera's own picture.
export function stage(c, video) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 1 1");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("areas");
  const box = el("div", { class: "stage" }, video, svg);
  const h = c.health;
  box.style.aspectRatio = h && h.width && h.height ? `${h.width} / ${h.height}` : "16 / 9";
  drawAreas(svg, c.areas || []);
  return box;
}

function shape(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// Draws areas (and the one being drawn) over a picture: zones filled, lines with an arrow to the
// side counted as forward (the line's direction turned clockwise).
export function drawAreas(svg, areas, draft) {
  svg.replaceChildren();
  const all = draft && draft.points.length ? [...areas, { ...draft, draft: true }] : areas;
  for (const a of all) {
    const pts = a.points.map(([x, y]) => `${x},${y}`).join(" ");
    const cls = `area ${a.shape}${a.draft ? " draft" : ""}`;
    if (a.shape === "zone" && a.points.length >= 3) {
      svg.append(shape("polygon", { points: pts, class: cls, "vector-effect": "non-scaling-stroke" }));
    } else if (a.points.length >= 2) {
      svg.append(shape("polyline", { points: pts, class: cls, "vector-effect": "non-scaling-stroke" }));
    }
    if (a.shape === "line" && a.points.length === 2) {
      const [[x1, y1], [x2, y2]] = a.points;
      const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const [nx, ny] = [(-(y2 - y1) / len) * 0.1, ((x2 - x1) / len) * 0.1];
      svg.append(shape("line", { x1: mx, y1: my, x2: mx + nx, y2: my + ny, class: cls + " arrow", "vector-effect": "non-scaling-stroke" }));
    }
    for (const [x, y] of a.draft ? a.points : []) {
      svg.append(shape("ellipse", { cx: x, cy: y, rx: 0.008, ry: 0.014, class: "corner" }));
    }
  }
}

export function setupAreas(onSaved) {
  $("a-shape").replaceChildren(...SHAPES.map((s) => new Option(t("shape_" + s), s)));
  $("area-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    addDraft();
  });
  $("a-points").addEventListener("input", redraw);
  $("a-shape").addEventListener("change", () => {
    $("a-crowd").disabled = $("a-shape").value !== "zone";
    redraw();
  });
  $("a-clear").addEventListener("click", () => {
    $("a-points").value = "";
    redraw();
  });
  $("a-close").addEventListener("click", closeAreas);
  $("a-save").addEventListener("click", async () => {
    if (!editing) return;
    const { c, areas } = editing;
    showError("");
    try {
      await api("PATCH", `/api/v1/cameras/${c.id}`, { areas });
      $("areas-done").textContent = t("areasSaved", { name: c.name, n: areas.length });
      await onSaved();
    } catch (e) {
      showError(e.message);
    }
  });
}

// Opens the editor on a camera's live picture.
export async function openAreas(c) {
  closeAreas();
  const video = el("video", { muted: "", autoplay: "", playsinline: "", "aria-label": t("liveOf", { name: c.name }) });
  video.muted = true;
  const status = el("span", { class: "status link-connecting", role: "status", text: t("wallConnecting") });
  const box = stage(c, video);
  editing = { c, areas: structuredClone(c.areas || []), svg: box.querySelector("svg"), live: { pc: null } };
  box.querySelector("svg").addEventListener("click", (ev) => {
    const r = ev.currentTarget.getBoundingClientRect();
    const x = Math.min(100, Math.max(0, ((ev.clientX - r.left) / r.width) * 100));
    const y = Math.min(100, Math.max(0, ((ev.clientY - r.top) / r.height) * 100));
    const line = $("a-shape").value === "line";
    const kept = $("a-points").value.trim().split(/\s+/).filter(Boolean);
    // A line has two ends: a third click starts it again.
    const next = line && kept.length >= 2 ? [] : kept;
    $("a-points").value = [...next, `${x.toFixed(1)},${y.toFixed(1)}`].join(" ");
    redraw();
  });
  $("a-stage").replaceChildren(box, status);
  $("areas").hidden = false;
  $("areas-title").textContent = t("areasOf", { name: c.name });
  $("areas-done").textContent = "";
  showError("");
  $("a-crowd").disabled = $("a-shape").value !== "zone";
  renderList();
  $("areas-title").focus();
  try {
    await play(c, editing.live, video, status);
  } catch (e) {
    status.className = "status link-down";
    status.textContent = t("wallFailed", { reason: e.message });
  }
}

function closeAreas() {
  if (editing) hangUp(editing.live);
  editing = null;
  $("areas").hidden = true;
  $("a-stage").replaceChildren();
  $("a-points").value = "";
}

// The points typed (percent of the picture, "x,y x,y …") as fractions; null when one is not.
function points() {
  const out = [];
  for (const p of $("a-points").value.trim().split(/\s+/).filter(Boolean)) {
    const xy = p.split(",").map(Number);
    if (xy.length !== 2 || xy.some((v) => !Number.isFinite(v) || v < 0 || v > 100)) return null;
    out.push([xy[0] / 100, xy[1] / 100]);
  }
  return out;
}

function redraw() {
  if (!editing) return;
  drawAreas(editing.svg, editing.areas, { shape: $("a-shape").value, points: points() || [] });
}

function addDraft() {
  const pts = points();
  const name = $("a-name").value.trim();
  const kind = $("a-shape").value;
  const crowd = $("a-crowd").value.trim();
  let problem = "";
  if (!name) problem = t("areaNameNeeded");
  else if (editing.areas.some((a) => a.name === name)) problem = t("areaNameTaken", { name });
  else if (!pts) problem = t("areaPointsBad");
  else if (kind === "line" ? pts.length !== 2 : pts.length < 3) problem = t("areaPointsCount_" + kind);
  if (problem) {
    showError(problem);
    $("a-points").focus();
    return;
  }
  showError("");
  editing.areas.push({ name, shape: kind, points: pts, crowd_people: kind === "zone" && crowd ? Number(crowd) : null });
  $("a-name").value = "";
  $("a-points").value = "";
  $("a-crowd").value = "";
  renderList();
  redraw();
  $("areas-done").textContent = t("areaAdded", { name });
}

function renderList() {
  $("a-list").replaceChildren(...editing.areas.map((a, i) => {
    const remove = el("button", { type: "button", class: "secondary", text: t("areaRemove"), "aria-label": t("areaRemoveOf", { name: a.name }) });
    remove.addEventListener("click", () => {
      editing.areas.splice(i, 1);
      renderList();
      redraw();
    });
    const crowd = a.crowd_people ? " · " + t("areaCrowdOf", { n: a.crowd_people }) : "";
    return el("li", {}, el("strong", { text: a.name }), ` · ${t("shape_" + a.shape)}${crowd} `, remove);
  }));
  $("a-none").hidden = editing.areas.length > 0;
  redraw();
}

function showError(text) {
  $("areas-error").textContent = text;
  $("areas-error").hidden = !text;
}

// The last hour in each area, as a table: per kind, a zone's most at once and a line's
// crossings each way.
export function areaTable(rows) {
  const names = [...new Set(rows.map((r) => r.area))].sort();
  const body = [];
  for (const name of names) {
    for (const k of KINDS) {
      const of = rows.filter((r) => r.area === name && r.kind === k);
      if (of.length === 0) continue;
      const peak = Math.max(...of.map((r) => r.peak));
      const forward = of.reduce((n, r) => n + r.forward, 0);
      const back = of.reduce((n, r) => n + r.back, 0);
      body.push(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: t("kindOf_" + k) }),
        el("td", { text: String(peak) }), el("td", { text: String(forward) }), el("td", { text: String(back) })));
    }
  }
  if (body.length === 0) return el("p", { class: "note", text: t("areaCountsNone") });
  const head = el("tr", {}, ...["areaCol", "kindCol", "areaPeakCol", "areaForwardCol", "areaBackCol"]
    .map((k) => el("th", { scope: "col", text: t(k) })));
  return el("div", { class: "table-wrap" }, el("table", { class: "area-counts" },
    el("caption", { text: t("areaCountsTitle") }), el("thead", {}, head), el("tbody", {}, ...body)));
}
