// The officers' page: the dossiers of the caller's wards (or office) with filters, and the
// detail panel of the one chosen, with the actions its status allows. Needs a staff session from
// the home page's login.

import { $, api, currentLang, day, el, setupLang, statusBadge, STATUSES, t, vnd, when } from "./common.js";
import { openDossier, refreshDetail, renderDetail, setupDetail, shownId } from "./detail.js";

// Roles that handle dossiers (the server decides which dossiers each may see).
const STAFF = ["district_official", "ward_official", "registry_clerk"];

let me = null;
let items = [];
let total = 0;
let ask = 0;
let loaded = false;

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("staff-view").hidden = true;
}

function renderFilters() {
  const select = $("f-status");
  const chosen = select.value;
  select.replaceChildren(new Option(t("allStatuses"), ""), ...STATUSES.map((s) => new Option(t("st_" + s), s)));
  select.value = STATUSES.includes(chosen) ? chosen : "";
}

function params() {
  const q = new URLSearchParams();
  if ($("f-status").value) q.set("status", $("f-status").value);
  if ($("f-open").checked) q.set("open", "true");
  if ($("f-overdue").checked) q.set("overdue", "true");
  if ($("f-mine").checked) q.set("mine", "true");
  return q;
}

const procedureName = (d) => (currentLang() === "en" && d.procedure_name_en) || d.procedure_name_vi || d.procedure;

function row(d) {
  const fee = Number(d.fee) || 0;
  const open = el("button", {
    type: "button", class: "link-button open-dossier", "aria-label": t("open", { code: d.code }), text: d.code,
    onclick: () => openDossier(d.id).then(markShown),
  });
  return el("tr", { "data-id": d.id, "data-code": d.code, "data-status": d.status, "aria-current": shownId() === d.id ? "true" : null },
    el("td", {}, open),
    el("td", { text: procedureName(d) }),
    el("td", { text: d.ward_name || d.ward || "" }),
    el("td", {}, statusBadge(d.status)),
    el("td", { text: d.handler || "" }),
    el("td", { class: "nowrap", text: when(d.received_at) }),
    el("td", { class: "nowrap" }, day(d.due_at), d.overdue ? [" ", el("span", { class: "badge overdue", text: t("overdue") })] : null),
    el("td", {}, fee > 0 ? [vnd(fee), " ", el("span", { class: d.fee_paid ? "paid" : "unpaid", text: d.fee_paid ? t("feePaid") : t("feeUnpaid") })] : t("noFee")),
  );
}

function renderQueue() {
  $("queue-table").tBodies[0].replaceChildren(...items.map(row));
  $("queue-empty").hidden = items.length > 0 || !loaded;
  $("queue-state").textContent = loaded ? t("total", { n: total }) : "";
}

function markShown() {
  for (const tr of $("queue-table").tBodies[0].rows) {
    if (String(tr.dataset.id) === String(shownId())) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
}

async function loadQueue() {
  const mine = ++ask;
  let page;
  try {
    page = await api("GET", "/api/v1/dossiers?" + params());
  } catch (e) {
    if (mine !== ask) return;
    if (e.status === 401) return gate(t("loginFirst"));
    $("queue-error").textContent = t("error") + ": " + e.message;
    $("queue-error").hidden = false;
    return;
  }
  if (mine !== ask) return;
  $("queue-error").hidden = true;
  items = page.items || [];
  total = page.total ?? items.length;
  loaded = true;
  renderQueue();
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
  if (!me.grants.some((g) => STAFF.includes(g.role))) return gate(t("notStaff"));
  $("who").textContent = me.display_name;
  $("staff-view").hidden = false;
  renderFilters();
  setupDetail({ changed: loadQueue });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadQueue(); });
  for (const id of ["f-status", "f-open", "f-overdue", "f-mine"]) $(id).addEventListener("change", loadQueue);
  $("refresh").addEventListener("click", () => Promise.all([loadQueue(), refreshDetail()]));
  // Coming back to the tab: others may have changed things.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") Promise.all([loadQueue(), refreshDetail()]);
  });
  await loadQueue();
  document.body.dataset.ready = "true";
}

start();
