// What counting saw on one camera over the last hour, as a chart: for each kind of object seen,
// how many were in view on average minute by minute, with the hour's peak and newcomers below,
// and a table of what was counted in each of its zones and lines.

import { $, api, t, when } from "../common.js";
import { fitWidth, timeChart } from "../chart.js";
import { areaTable } from "./areas.js";

const KINDS = ["person", "bicycle", "motorcycle", "car", "bus", "truck"];
const COLOURS = { person: "#0b4f8a", bicycle: "#2e7d32", motorcycle: "#8b0000", car: "#6a1b9a", bus: "#a65e00", truck: "#37474f" };

let chart = null;
let shown = null;

export function setupCounts() {
  fitWidth(() => chart, $("counts-chart"));
  $("counts-close").addEventListener("click", () => {
    $("camera-counts").hidden = true;
    shown = null;
  });
}

// Opens (or refreshes) the chart of a camera.
export async function openCounts(c) {
  shown = c;
  $("camera-counts").hidden = false;
  $("counts-title").textContent = t("countsOf", { name: c.name });
  $("counts-chart").setAttribute("aria-label", t("countsOf", { name: c.name }));
  let rows = [];
  let inAreas = [];
  try {
    [rows, inAreas] = await Promise.all([api("GET", `/api/v1/cameras/${c.id}/counts?minutes=60`),
      (c.areas || []).length ? api("GET", `/api/v1/cameras/${c.id}/counts/areas?minutes=60`) : []]);
  } catch (e) {
    $("counts-summary").textContent = e.message;
    return;
  }
  if (shown !== c) return;
  $("counts-areas").replaceChildren((c.areas || []).length ? areaTable(inAreas) : "");
  const minutes = [...new Set(rows.map((r) => r.minute))].sort();
  const seen = KINDS.filter((k) => rows.some((r) => r.kind === k && (r.peak > 0 || r.appeared > 0)));
  const xs = minutes.map((m) => Date.parse(m) / 1000);
  const data = [xs, ...seen.map((k) => minutes.map((m) => rows.find((r) => r.minute === m && r.kind === k)?.mean ?? 0))];
  const series = seen.map((k) => ({ label: t("kindOf_" + k), stroke: COLOURS[k] }));
  const parts = seen.map((k) => {
    const of = rows.filter((r) => r.kind === k);
    return t("countsHourOf", { kind: t("kindOf_" + k), peak: Math.max(...of.map((r) => r.peak)),
      new: of.reduce((n, r) => n + r.appeared, 0) });
  });
  $("counts-summary").textContent = minutes.length === 0 ? t("countsNone")
    : t("countsHour", { from: when(minutes[0]), n: minutes.length }) + " " + (parts.length ? parts.join("; ") : t("countsEmpty"));
  if (chart) chart.destroy();
  chart = null;
  if (minutes.length === 0 || seen.length === 0) {
    $("counts-chart").replaceChildren();
    return;
  }
  const hhmm = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit" });
  chart = timeChart($("counts-chart"), {
    data, series, yLabel: t("countsInView"), height: 240, floor: 2,
    ticks: (v) => hhmm.format(new Date(v * 1000)),
    legend: (v) => when(new Date(v * 1000).toISOString()),
  });
}
