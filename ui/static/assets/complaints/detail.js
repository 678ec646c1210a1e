// The handler's view of one complaint: its facts, photos and whole history (internal notes
// marked), the actions its status allows, and its contact details, read (and audited) only when
// the handler asks.

import { $, actionLabel, api, currentLang, el, pair, photoList, placeText, statusBadge, t, when } from "./common.js";

// Which statuses each action applies to (the core's state machine, so only useful buttons show).
const OPEN_BEFORE_FIX = ["submitted", "for_triage", "assigned", "reopened"];
const ALLOWED = {
  triage: ["submitted", "assigned", "in_progress", "reopened"],
  assign: ["submitted", "for_triage", "assigned", "in_progress", "reopened"],
  start: ["assigned", "reopened"],
  fix: ["assigned", "in_progress", "reopened"],
  close: ["fixed"],
  mark_duplicate: OPEN_BEFORE_FIX,
  not_our_responsibility: OPEN_BEFORE_FIX,
  comment: null,
  note: null,
};
const NEEDS_NOTE = ["triage", "mark_duplicate", "not_our_responsibility", "comment", "note"];

let shown = null;
let ctx = null;
let busy = false;

// `ctx`: { mayReadContact, wardName(code), categoryName(code), changed() }.
export function setupDetail(context) {
  ctx = context;
  for (const b of document.querySelectorAll("#action-form button[data-action]")) {
    b.addEventListener("click", () => act(b.dataset.action, b));
  }
  $("assign-other").addEventListener("click", () => act("assign", $("assign-other")));
  $("action-form").addEventListener("submit", (ev) => ev.preventDefault());
  $("show-contact").addEventListener("click", showContact);
}

export const shownId = () => (shown ? shown.id : null);

export async function openComplaint(id, { focus = true } = {}) {
  $("detail-error").hidden = true;
  let c;
  try {
    c = await api("GET", `/api/v1/complaints/${id}`);
  } catch (e) {
    $("detail-error").textContent = t("error") + ": " + e.message;
    $("detail-error").hidden = false;
    return;
  }
  const other = !shown || shown.id !== c.id;
  shown = c;
  if (other) {
    $("action-note").value = "";
    $("assign-to").value = "";
    $("duplicate-of").value = "";
    $("action-done").textContent = "";
    $("action-error").hidden = true;
    $("contact-info").hidden = true;
    $("contact-info").replaceChildren();
    $("contact-error").hidden = true;
  }
  renderDetail();
  if (focus) $("detail-title").focus();
}

// Reloads the complaint shown, after someone changed it.
export function refreshDetail() {
  if (shown && !busy) openComplaint(shown.id, { focus: false });
}

function historyItem(u) {
  return el("li", { class: u.public ? "" : "internal", "data-action": u.action, "data-status": u.status },
    el("div", { class: "when" }, el("time", { datetime: u.at, text: when(u.at) })),
    el("div", {},
      el("strong", { text: actionLabel(u.action) }), " ", statusBadge(u.status), " ",
      u.public ? null : el("span", { class: "badge internal-badge", text: t("internal") }), " ",
      el("span", { class: "muted", text: "· " + (["citizen", "staff", "system"].includes(u.by) ? t("by_" + u.by) : u.by) }),
      u.note ? el("p", { class: "update-note", text: u.note }) : null),
  );
}

export function renderDetail() {
  if (!shown) return;
  const c = shown;
  const category = currentLang() === "vi" ? c.category_name_vi : c.category_name_en;
  $("detail-empty").hidden = true;
  $("detail-body").hidden = false;
  $("detail-body").dataset.id = c.id;
  $("detail-title").textContent = "#" + c.id + " · " + category;
  $("d-status").replaceChildren(statusBadge(c.status));
  $("d-overdue").hidden = !c.overdue;
  $("d-facts").replaceChildren(
    ...pair(t("ward"), (currentLang() === "en" && c.ward_name_en) || c.ward_name || ctx.wardName(c.ward) || t("noWard")),
    ...pair(t("team"), c.team),
    ...pair(t("handler"), el("span", { id: "d-handler", text: c.handler || t("nobody") })),
    ...pair(t("location"), placeText(c)),
    ...pair(t("source"), c.source),
    ...pair(t("submittedAt"), when(c.submitted_at)),
    ...pair(t("due"), when(c.due_at)),
    ...(c.duplicate_of ? pair(t("status"), t("duplicateOf", { id: c.duplicate_of })) : []),
    ...(c.rating != null ? pair(t("rating"), c.rating + "/5" + (c.rating_comment ? " · " + c.rating_comment : "")) : []),
  );
  $("d-description").textContent = c.description;
  $("d-photos").replaceChildren(...(c.photos.length ? [photoList(c.photos)] : []));
  $("d-contact").hidden = !(c.has_contact && ctx.mayReadContact);
  $("d-history").replaceChildren(...c.history.map(historyItem));
  for (const b of document.querySelectorAll("#action-form button[data-action]")) {
    const allowed = ALLOWED[b.dataset.action];
    b.hidden = allowed !== null && !allowed.includes(c.status);
  }
  for (const row of document.querySelectorAll("#action-form [data-when]")) {
    row.hidden = !ALLOWED[row.dataset.when].includes(c.status);
  }
}

function actionError(message, field) {
  const box = $("action-error");
  box.textContent = message;
  box.hidden = false;
  if (field) field.setAttribute("aria-invalid", "true");
  box.focus();
}

async function act(action, button) {
  if (!shown || busy) return;
  const note = $("action-note");
  for (const f of [note, $("assign-to"), $("duplicate-of")]) f.removeAttribute("aria-invalid");
  $("action-error").hidden = true;
  $("action-done").textContent = "";
  const body = { action, note: note.value.trim() };
  if (NEEDS_NOTE.includes(action) && !body.note) return actionError(t("needNote"), note);
  if (button.id === "assign-other") {
    body.handler = $("assign-to").value.trim();
    if (!body.handler) return actionError(t("needHandler"), $("assign-to"));
  }
  if (action === "mark_duplicate") {
    const original = Number($("duplicate-of").value);
    if (!Number.isInteger(original) || original < 1) return actionError(t("needDuplicate"), $("duplicate-of"));
    body.duplicate_of = original;
  }
  busy = true;
  button.disabled = true;
  try {
    shown = await api("POST", `/api/v1/complaints/${shown.id}/actions`, body);
  } catch (e) {
    const field = { note: note, handler: $("assign-to"), duplicate_of: $("duplicate-of") }[e.field];
    actionError(t("actionFailed") + ": " + e.message, field);
    return;
  } finally {
    busy = false;
    button.disabled = false;
  }
  note.value = "";
  $("assign-to").value = "";
  $("duplicate-of").value = "";
  renderDetail();
  $("action-done").textContent = t("done", { what: t(button.id === "assign-other" ? "assignOther" : "do_" + action) });
  $("action-done").focus();
  ctx.changed();
}

// The citizen's contact details: fetched only on this click (each read is audited), shown in the
// panel and nowhere else.
async function showContact() {
  if (!shown) return;
  $("contact-error").hidden = true;
  let contact;
  try {
    contact = await api("GET", `/api/v1/complaints/${shown.id}/contact`);
  } catch (e) {
    $("contact-error").textContent = e.status === 404 ? t("noContact") : t("contactFailed") + ": " + e.message;
    $("contact-error").hidden = false;
    return;
  }
  const info = $("contact-info");
  info.replaceChildren(...pair(t("name"), contact.name), ...pair(t("phone"), contact.phone), ...pair(t("email"), contact.email));
  if (!info.children.length) info.replaceChildren(el("dd", { text: t("noContact") }));
  info.hidden = false;
}
