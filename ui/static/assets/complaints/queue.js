// The handlers' page: the queue of complaints of the caller's wards with filters and paging,
// kept fresh by the live feed (Server-Sent Events), and the detail panel of the one chosen.
// Needs a staff session from the home page's login.

import { $, api, currentLang, el, followFeed, setupLang, statusBadge, t, when } from "./common.js";
import { openComplaint, refreshDetail, renderDetail, setupDetail, shownId } from "./detail.js";

const STAFF = ["district_official", "ward_official", "complaint_handler", "operator"];
const CONTACT_READERS = ["district_official", "ward_official", "complaint_handler"];
const STATUSES = ["submitted", "for_triage", "assigned", "in_progress", "fixed", "closed", "duplicate", "not_our_responsibility", "reopened"];
const PAGE = 50;
const MOST = 200;

let me = null;
let categories = [];
let wards = [];
let items = [];
let nextBefore = null;
let ask = 0;
let refreshTimer = null;
let live = null;
let lastRefresh = null;

const byCode = (list, code) => list.find((x) => x.code === code);
const nameOf = (x) => (x ? (currentLang() === "vi" ? x.name_vi : x.name_en) || x.code : "");
const wardName = (code) => nameOf(byCode(wards, code)) || code || "";
const categoryName = (code) => nameOf(byCode(categories, code)) || code;

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("staff-view").hidden = true;
}

function fillSelect(select, all, options) {
  const chosen = select.value;
  select.replaceChildren(new Option(all, ""), ...options.map(([value, label]) => new Option(label, value)));
  select.value = options.some(([v]) => v === chosen) ? chosen : "";
}

function renderFilters() {
  fillSelect($("f-status"), t("allStatuses"), STATUSES.map((s) => [s, t("st_" + s)]));
  fillSelect($("f-category"), t("allCategories"), categories.map((c) => [c.code, nameOf(c)]));
  fillSelect($("f-ward"), t("allWards"), wards.map((w) => [w.code, nameOf(w)]));
}

function params(before, limit) {
  const q = new URLSearchParams();
  if ($("f-status").value) q.set("status", $("f-status").value);
  if ($("f-category").value) q.set("category", $("f-category").value);
  if ($("f-ward").value) q.set("ward", $("f-ward").value);
  if ($("f-open").checked) q.set("open", "true");
  if ($("f-overdue").checked) q.set("overdue", "true");
  if ($("f-mine").checked) q.set("mine", "true");
  if (before) q.set("before", String(before));
  q.set("limit", String(limit));
  return q;
}

function row(c) {
  const text = c.description.length > 100 ? c.description.slice(0, 100) + "…" : c.description;
  const open = el("button", { type: "button", class: "link-button open-complaint", "aria-label": t("open", { id: c.id }), text: "#" + c.id, onclick: () => openComplaint(c.id).then(markShown) });
  const due = el("td", {}, when(c.due_at), c.overdue ? [" ", el("span", { class: "badge overdue", text: t("overdue") })] : null);
  return el("tr", { "data-id": c.id, "data-status": c.status, "aria-current": shownId() === c.id ? "true" : null },
    el("td", {}, open),
    el("td", { text: categoryName(c.category) }),
    el("td", { text }),
    el("td", {}, statusBadge(c.status)),
    el("td", { text: wardName(c.ward) }),
    el("td", { text: c.handler || "" }),
    el("td", { text: when(c.submitted_at) }),
    due,
    el("td", { text: c.photos ? String(c.photos) : "" }),
  );
}

function renderQueue() {
  $("queue-table").tBodies[0].replaceChildren(...items.map(row));
  $("queue-empty").hidden = items.length > 0;
  $("more").hidden = !nextBefore;
  renderLive();
}

function markShown() {
  for (const tr of $("queue-table").tBodies[0].rows) {
    if (Number(tr.dataset.id) === shownId()) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
}

// `mode`: "filter" starts again from the first page; "refresh" reloads as many as are shown;
// "more" adds the next page.
async function loadQueue(mode) {
  const mine = ++ask;
  const more = mode === "more";
  const limit = mode === "refresh" ? Math.min(MOST, Math.max(PAGE, items.length)) : PAGE;
  let page;
  try {
    page = await api("GET", "/api/v1/complaints?" + params(more ? nextBefore : null, limit));
  } catch (e) {
    if (mine !== ask) return;
    if (e.status === 401) return gate(t("loginFirst"));
    $("queue-error").textContent = t("error") + ": " + e.message;
    $("queue-error").hidden = false;
    return;
  }
  if (mine !== ask) return;
  $("queue-error").hidden = true;
  items = more ? [...items, ...page.items] : page.items;
  nextBefore = page.next_before ?? null;
  lastRefresh = new Date().toISOString();
  renderQueue();
}

function renderLive() {
  const state = live === false ? t("liveOff") : lastRefresh ? t("refreshedAt", { t: when(lastRefresh) }) : "";
  $("live-state").textContent = state;
}

// Something changed: reload the queue, and the complaint shown if it is the one.
function changed(id) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadQueue("refresh");
    if (id == null || id === shownId()) refreshDetail();
  }, 300);
}

function listen() {
  followFeed(["complaint.created", "complaint.changed"], (data) => changed(data ? data.id : null), (on) => {
    live = on;
    renderLive();
  });
}

function redraw() {
  renderFilters();
  renderQueue();
  renderDetail();
}

async function start() {
  setupLang(redraw);
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    return gate(e.status === 401 ? t("loginFirst") : t("error") + ": " + e.message);
  }
  const roles = me.grants.map((g) => g.role);
  if (!roles.some((r) => STAFF.includes(r))) return gate(t("notStaff"));
  $("who").textContent = me.display_name;
  try {
    const [cats, units] = await Promise.all([api("GET", "/api/v1/complaint-categories"), api("GET", "/api/v1/jurisdictions?kind=ward")]);
    categories = cats;
    // A ward-level account sees its own wards to choose from; a district-level one, all of them.
    const granted = new Set(me.grants.map((g) => g.jurisdiction));
    const own = units.filter((w) => granted.has(w.code));
    wards = own.length ? own : units;
  } catch (e) {
    return gate(t("error") + ": " + e.message);
  }
  $("staff-view").hidden = false;
  renderFilters();
  setupDetail({
    mayReadContact: roles.some((r) => CONTACT_READERS.includes(r)),
    wardName,
    categoryName,
    changed: () => loadQueue("refresh"),
  });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadQueue("filter"); });
  for (const id of ["f-status", "f-category", "f-ward", "f-open", "f-overdue", "f-mine"]) {
    $(id).addEventListener("change", () => loadQueue("filter"));
  }
  $("more").addEventListener("click", () => loadQueue("more"));
  await loadQueue("filter");
  listen();
  document.body.dataset.ready = "true";
}

start();
