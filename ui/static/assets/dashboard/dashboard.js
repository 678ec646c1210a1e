// The command dashboard: the scorecard of a ward or the district over a period (Decision
// 766/QĐ-TTg's indicators, complaints, dossiers, payments, alerts) as tiles, complaints per day as
// a chart, the wards side by side; refreshed when the live feed reports a complaint or an alert,
// and every minute for the rest; exported as CSV or printed. Needs a leader's or monitoring
// officer's session from the home page's login.

import { fitWidth, timeChart } from "../chart.js";
import { $, api, currentLang, day, el, followFeed, setupLang, staffSession, t, today, unitName, when } from "../common.js";
import "./text.js";

const LEADERS = ["district_official", "ward_official", "operator"];
const PERIODS = ["last7", "last30", "last90", "thisMonth", "thisYear", "custom"];
// Dossiers and payments are not on the live feed: their figures are fetched again this often.
const REFRESH_MS = 60_000;

let me = null;
let units = [];
let categories = [];
// The caller's own unit and, for the district, its wards: what the unit list offers.
let offered = [];
let cards = [];
let trend = null;
let chart = null;
let traffic = null;
let trafficChart = null;
const KINDS = ["person", "bicycle", "motorcycle", "car", "bus", "truck"];
const COLOURS = { person: "#0b4f8a", bicycle: "#2e7d32", motorcycle: "#8b0000", car: "#6a1b9a", bus: "#a65e00", truck: "#37474f" };
let live = null;
let loadedAt = null;
// The figures last shown, by tile, for the unit and period last shown: a changed one flashes.
let shown = { key: "", values: new Map() };
let pending = null;
let asked = 0;

const nameOfUnit = (code) => unitName(units.find((u) => u.code === code)) || cards.find((k) => k.unit === code)?.unit_name || code;
const nameOfCategory = (code) => {
  const c = categories.find((x) => x.code === code);
  return c ? (currentLang() === "vi" ? c.name_vi : c.name_en) || code : code;
};
const locale = () => (currentLang() === "vi" ? "vi-VN" : "en-GB");
const num = (n, digits = 0) => Number(n).toLocaleString(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const pct = (n) => (n == null ? "—" : num(n, 1) + " %");

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("dash-view").hidden = true;
}

// YYYY-MM-DD arithmetic on calendar days.
function shift(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function chosenPeriod() {
  const end = today();
  switch ($("period").value) {
    case "last7": return [shift(end, -6), end];
    case "last90": return [shift(end, -89), end];
    case "thisMonth": return [end.slice(0, 8) + "01", end];
    case "thisYear": return [end.slice(0, 5) + "01-01", end];
    case "custom": return [$("from").value || shift(end, -29), $("to").value || end];
    default: return [shift(end, -29), end];
  }
}

function query() {
  const [from, to] = chosenPeriod();
  const q = new URLSearchParams({ from, to });
  if ($("unit").value) q.set("unit", $("unit").value);
  return q;
}

function fillControls() {
  const period = $("period").value || "last30";
  $("period").replaceChildren(...PERIODS.map((p) => new Option(t(p), p)));
  $("period").value = period;
  const unit = $("unit").value;
  $("unit").replaceChildren(...offered.map((code) => new Option(nameOfUnit(code), code)));
  if (offered.includes(unit)) $("unit").value = unit;
  const custom = $("period").value === "custom";
  for (const label of document.querySelectorAll(".custom")) label.hidden = !custom;
}

async function load() {
  const mine = ++asked;
  const q = query();
  try {
    const unit = q.get("unit") ? "?unit=" + encodeURIComponent(q.get("unit")) : "";
    const [c, tr, tf] = await Promise.all([
      api("GET", "/api/v1/dashboard/scorecards?" + q),
      api("GET", "/api/v1/dashboard/trend?" + q),
      api("GET", "/api/v1/dashboard/traffic" + unit),
    ]);
    if (mine !== asked) return;
    cards = c;
    trend = tr;
    traffic = tf;
    loadedAt = new Date();
    $("dash-error").hidden = true;
    if (offered.length === 0) {
      offered = cards.map((k) => k.unit);
      fillControls();
      $("unit").value = offered[0];
    }
    $("csv").href = "/api/v1/dashboard/scorecards.csv?" + q;
    render();
  } catch (e) {
    if (mine !== asked) return;
    $("dash-error").textContent = e.message;
    $("dash-error").hidden = false;
  }
}

// Loads again soon: feed events come in bursts.
function soon() {
  clearTimeout(pending);
  pending = setTimeout(load, 400);
}

function tile(key, label, value, { sub = "", level = "" } = {}) {
  const previous = shown.values.get(key);
  const changed = previous !== undefined && previous !== value;
  shown.values.set(key, value);
  return el("div", { class: ["tile", level, changed ? "changed" : ""].filter(Boolean).join(" "), "data-kpi": key },
    el("span", { class: "label", text: label }),
    el("span", { class: "value", text: value }),
    sub ? el("span", { class: "sub", text: sub }) : null);
}

function renderTiles() {
  const k = cards[0];
  if (!k) return;
  const key = `${k.unit}|${k.from}|${k.to}`;
  if (shown.key !== key) shown = { key, values: new Map() };
  const c = k.complaints;
  $("card-title").textContent = nameOfUnit(k.unit);
  $("card-period").textContent = t("periodText", { from: day(k.from), to: day(k.to) }) +
    (loadedAt ? " · " + t("updatedAt", { at: when(loadedAt.toISOString()) }) : "");
  const none = t("nothingToCount");
  $("tiles-766").replaceChildren(
    tile("dossiers_on_time_pct", t("k_dossiersOnTime"), pct(k.dossiers_on_time_pct),
      { sub: k.dossiers_returned ? t("ofDossiers", { n: num(k.dossiers_returned) }) : none }),
    tile("dossiers_online_pct", t("k_online"), pct(k.dossiers_online_pct),
      { sub: k.dossiers_received ? t("ofDossiers", { n: num(k.dossiers_received) }) : none }),
    tile("cashless_pct", t("k_cashless"), pct(k.cashless_pct),
      { sub: k.payments ? t("ofPayments", { n: num(k.payments) }) : none }),
    tile("satisfaction", t("k_satisfaction"), c.satisfaction == null ? "—" : num(c.satisfaction, 2) + t("outOf5"),
      { sub: c.ratings ? t("ofRatings", { n: num(c.ratings) }) : none }));
  $("tiles-complaints").replaceChildren(
    tile("complaints.received", t("k_received"), num(c.received)),
    tile("complaints.resolved", t("k_resolved"), num(c.resolved)),
    tile("complaints.on_time_pct", t("k_onTime"), pct(c.on_time_pct)),
    tile("complaints.open_now", t("k_open"), num(c.open_now), { sub: t("now") }),
    tile("complaints.overdue_now", t("k_overdue"), num(c.overdue_now), { sub: t("now"), level: c.overdue_now > 0 ? "bad" : "" }),
    tile("complaints.median_hours_to_resolve", t("k_median"),
      c.median_hours_to_resolve == null ? "—" : t("hours", { n: num(c.median_hours_to_resolve, 1) })));
  $("tiles-activity").replaceChildren(
    tile("dossiers_received", t("k_dossiersReceived"), num(k.dossiers_received)),
    tile("dossiers_returned", t("k_dossiersReturned"), num(k.dossiers_returned)),
    tile("payments", t("k_payments"), num(k.payments)),
    tile("alerts_open", t("k_alerts"), num(k.alerts_open), { sub: t("now"), level: k.alerts_open > 0 ? "warn" : "" }));
}

// Midnight of a YYYY-MM-DD in Vietnam (UTC+7, no daylight saving), in seconds: the chart's x.
const midnight = (iso) => Date.parse(iso + "T00:00:00+07:00") / 1000;

function renderTrend() {
  if (!trend) return;
  const days = trend.days;
  const received = days.map((d) => d.received);
  const resolved = days.map((d) => d.resolved);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const most = Math.max(0, ...received);
  const busiest = days.find((d) => d.received === most);
  $("trend-summary").textContent = most === 0 && sum(resolved) === 0
    ? t("trendEmpty", { days: days.length })
    : t("trendSummary", { days: days.length, received: num(sum(received)), resolved: num(sum(resolved)), busiest: day(busiest.day), most });
  $("trend-chart").setAttribute("aria-label", t("trend"));
  $("trend-table").tBodies[0].replaceChildren(...days.map((d) => el("tr", {},
    el("td", { text: day(d.day) }), el("td", { class: "num", text: num(d.received) }),
    el("td", { class: "num", text: num(d.resolved) }), el("td", { class: "num", text: num(d.resolved_on_time) }))));
  const asDay = (v) => day(new Date(v * 1000).toISOString());
  if (chart) chart.destroy();
  chart = timeChart($("trend-chart"), {
    data: [days.map((d) => midnight(d.day)), received, resolved],
    yLabel: t("trend"),
    // Days as the district writes them, day before month.
    ticks: (v) => asDay(v).slice(0, 5),
    legend: asDay,
    series: [
      { label: t("col_received"), stroke: "#0b4f8a", fill: "rgba(11, 79, 138, 0.08)" },
      { label: t("col_resolved"), stroke: "#1f6f3a", dash: [6, 4] },
    ],
  });
}

// People and vehicles the unit's cameras counted in the last 24 hours, hour by hour.
function renderTraffic() {
  if (!traffic) return;
  const hours = [...new Set(traffic.hours.map((h) => h.hour))].sort();
  const seen = KINDS.filter((k) => traffic.hours.some((h) => h.kind === k));
  const total = (k) => traffic.hours.filter((h) => h.kind === k).reduce((n, h) => n + h.counted, 0);
  $("traffic-summary").textContent = seen.length === 0 ? t("trafficEmpty")
    : t("trafficSummary") + " " + seen.map((k) => `${t("kind_" + k)} ${num(total(k))}`).join(" · ");
  $("traffic-chart").setAttribute("aria-label", t("traffic"));
  if (trafficChart) trafficChart.destroy();
  trafficChart = null;
  $("traffic-chart").replaceChildren();
  if (seen.length === 0) return;
  const at = (h, k) => traffic.hours.find((x) => x.hour === h && x.kind === k)?.counted ?? 0;
  const hhmm = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit" });
  trafficChart = timeChart($("traffic-chart"), {
    data: [hours.map((h) => Date.parse(h) / 1000), ...seen.map((k) => hours.map((h) => at(h, k)))],
    yLabel: t("traffic"), height: 260,
    ticks: (v) => hhmm.format(new Date(v * 1000)),
    legend: (v) => when(new Date(v * 1000).toISOString()),
    series: seen.map((k) => ({ label: t("kind_" + k), stroke: COLOURS[k] })),
  });
}

function renderWards() {
  const wards = cards.slice(1);
  $("wards-section").hidden = wards.length === 0;
  $("ward-table").tBodies[0].replaceChildren(...wards.map((k) => {
    const c = k.complaints;
    const name = nameOfUnit(k.unit);
    const show = el("button", { type: "button", class: "link-button", text: name, "aria-label": t("showWard", { name }) });
    show.addEventListener("click", () => {
      $("unit").value = k.unit;
      load();
    });
    const n = (v, d = 0) => el("td", { class: "num", text: v == null ? "—" : num(v, d) });
    return el("tr", { "data-unit": k.unit },
      el("th", { scope: "row" }, show), n(c.received), n(c.resolved), n(c.on_time_pct, 1), n(c.overdue_now),
      n(c.median_hours_to_resolve, 1), n(c.satisfaction, 2), n(k.dossiers_on_time_pct, 1), n(k.dossiers_online_pct, 1),
      n(k.cashless_pct, 1), n(k.alerts_open));
  }));
}

function renderCategories() {
  const rows = cards[0] ? cards[0].complaints.by_category : [];
  $("category-table").tBodies[0].replaceChildren(...rows.map((r) => el("tr", {},
    el("td", { text: nameOfCategory(r.category) }), el("td", { class: "num", text: num(r.received) }),
    el("td", { class: "num", text: num(r.resolved) }))));
  $("categories-empty").hidden = rows.length > 0;
}

function render() {
  renderTiles();
  renderTrend();
  renderTraffic();
  renderWards();
  renderCategories();
}

function redraw() {
  fillControls();
  shown.key = "";
  render();
  renderLive();
}

function renderLive() {
  $("live-state").textContent = live === null ? "" : live ? t("liveOn") : t("liveOff");
}

async function main() {
  setupLang(redraw);
  me = await staffSession(LEADERS, gate);
  if (!me) return;
  $("dash-view").hidden = false;
  [units, categories] = await Promise.all([
    api("GET", "/api/v1/jurisdictions").catch(() => []),
    api("GET", "/api/v1/complaint-categories").catch(() => []),
  ]);
  $("to").value = today();
  $("from").value = shift(today(), -29);
  fillControls();
  for (const id of ["unit", "from", "to"]) $(id).addEventListener("change", load);
  $("period").addEventListener("change", () => {
    fillControls();
    load();
  });
  $("period-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  $("print").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => {
    $("printed-at").textContent = t("printedAt", { at: when(new Date().toISOString()), who: me.display_name });
  });
  fitWidth(() => chart, $("trend-chart"));
  fitWidth(() => trafficChart, $("traffic-chart"));
  await load();
  followFeed(["complaint.created", "complaint.changed", "alert.raised", "alert.changed"], soon, (on) => {
    live = on;
    renderLive();
  });
  setInterval(load, REFRESH_MS);
}

main();
