// One record of the registry: its place in the book, its particulars (ID numbers masked by the
// server for those who may not see them), a warning when it may repeat another record, its
// history with each correction's before and after, and for registry clerks the actions its
// status allows: take it, declare, register, correct (reason and supporting document required),
// note a later change, archive, and issue a certified extract to print.

import {
  $, CHOICES, FIELDS, NOTE_KINDS, actionLabel, api, day, el, extractHref, fieldLabel, fieldPairs, isDateField, isIdField,
  isYearField, kindLabel, noteLabel, orderedFields, pair, statusBadge, t, valueText, when,
} from "./common.js";

const REGISTERED = ["registered", "certified", "corrected"];
// Which records each action applies to (the server decides; this only hides useless buttons).
const ALLOWED = {
  assign: (r, mine) => r.status !== "archived" && !mine,
  declare: (r) => r.status === "draft",
  register: (r) => r.status === "declared",
  correct: (r) => REGISTERED.includes(r.status),
  annotate: (r) => REGISTERED.includes(r.status),
  archive: (r) => r.status !== "archived",
  extract: (r) => REGISTERED.includes(r.status),
};

let shown = null;
let ctx = null;
let busy = false;
let issued = null;

const mine = (r) => Boolean(r.assignee && ctx.me && (r.assignee === ctx.me.username || r.assignee === ctx.me.display_name));
const allowed = (action, r) => ALLOWED[action](r, mine(r));

// `context`: { me, clerk, changed() }; `changed` is called after an action so lists are reloaded.
export function setupRecord(context) {
  ctx = context;
  for (const b of document.querySelectorAll("#record-actions button[data-action]")) {
    b.addEventListener("click", () => act(b.dataset.action, {}, b, $("action-error")));
  }
  $("issue-extract").addEventListener("click", issueExtract);
  $("correct-field").addEventListener("change", () => renderCorrectValue(true));
  $("correct-form").addEventListener("submit", (ev) => { ev.preventDefault(); correct(); });
  $("annotate-form").addEventListener("submit", (ev) => { ev.preventDefault(); annotate(); });
  $("archive-form").addEventListener("submit", (ev) => { ev.preventDefault(); archive(); });
  $("r-duplicate-open").addEventListener("click", () => {
    if (shown && shown.possible_duplicate_of != null) openRecord(shown.possible_duplicate_of);
  });
}

export const shownId = () => (shown ? shown.id : null);

function clearForms() {
  for (const id of ["correct-reason", "correct-doc", "annotate-reason", "annotate-doc", "archive-reason"]) $(id).value = "";
  $("correct-field").value = "";
  for (const id of ["action-error", "correct-error", "annotate-error", "archive-error"]) $(id).hidden = true;
  $("action-done").textContent = "";
  $("extract-issued").hidden = true;
  for (const d of document.querySelectorAll("#record-actions details")) d.open = false;
  issued = null;
}

// Shows a record as the server gave it (after creating it, say).
export function showRecord(r, { focus = true } = {}) {
  const other = !shown || shown.id !== r.id;
  shown = r;
  if (other) clearForms();
  if (location.hash !== "#record=" + r.id) history.replaceState(null, "", "#record=" + encodeURIComponent(r.id));
  renderRecord();
  if (other) renderCorrectValue(true);
  if (focus) $("record-title").focus();
}

export async function openRecord(id, { focus = true } = {}) {
  $("record-error").hidden = true;
  let r;
  try {
    r = await api("GET", `/api/v1/registry/records/${encodeURIComponent(id)}`);
  } catch (e) {
    $("record-error").textContent = t("error") + ": " + e.message;
    $("record-error").hidden = false;
    return;
  }
  showRecord(r, { focus });
}

// Reloads the record shown.
export function refreshRecord() {
  if (shown && !busy) return openRecord(shown.id, { focus: false });
  return Promise.resolve();
}

// The person a record is about, for its title.
function recordName(r) {
  const f = r.fields || {};
  if (r.kind === "marriage") return [f.husband_name, f.wife_name].filter(Boolean).join(" – ");
  return f.child_name || f.deceased_name || f.recognized_name || f.name || "";
}

// The fields an action changed: one row per field, before → after.
function changesTable(h) {
  const before = h.before && typeof h.before === "object" ? h.before : {};
  const after = h.after && typeof h.after === "object" ? h.after : {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (!names.length) return null;
  return el("table", { class: "changes", "data-testid": "changes" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: t("col_field") }), el("th", { scope: "col", text: t("col_before") }), el("th", { scope: "col", text: t("col_after") }))),
    el("tbody", {}, names.map((n) => el("tr", { "data-field": n },
      el("th", { scope: "row", text: fieldLabel(n) }),
      el("td", { class: "before", text: valueText(n, before[n]) }),
      el("td", { class: "after", text: valueText(n, after[n]) })))));
}

function historyItem(h) {
  return el("li", { "data-action": h.action, "data-status": h.status || "" },
    el("div", { class: "when" }, el("time", { datetime: h.at, text: when(h.at) })),
    el("div", {},
      el("strong", { class: "action", text: actionLabel(h.action) }), " ",
      h.status ? statusBadge(h.status) : null, " ",
      h.actor ? el("span", { class: "muted actor", text: "· " + t("by", { who: h.actor }) }) : null,
      h.note_kind ? el("p", { class: "note-kind", "data-note-kind": h.note_kind, text: t("h_note") + ": " + noteLabel(h.note_kind) }) : null,
      h.reason ? el("p", { class: "update-note reason", text: t("h_reason") + ": " + h.reason }) : null,
      h.document_ref ? el("p", { class: "document-ref", text: t("h_document") + ": " + h.document_ref }) : null,
      changesTable(h)),
  );
}

// The fields a correction may change: the kind's own, then any others the record has.
function correctableFields(r) {
  const own = FIELDS[r.kind] || [];
  return [...own, ...orderedFields(r.kind, r.fields).filter((n) => !own.includes(n))];
}

// The new value's control for the field chosen: a list for fixed values, a date picker for
// dates, text otherwise; `prefill` puts the current value in it.
function renderCorrectValue(prefill) {
  const name = $("correct-field").value;
  const box = $("correct-value-box");
  const old = $("correct-value");
  const current = shown && name ? (shown.fields || {})[name] : undefined;
  const keep = prefill ? (current === undefined || current === null || isIdField(name) ? "" : String(current)) : old.value;
  let control;
  if (CHOICES[name]) {
    control = el("select", { id: "correct-value", "data-testid": "correct-value" },
      el("option", { value: "", text: t("chooseValue") }),
      CHOICES[name].map((v) => el("option", { value: v, text: valueText(name, v) })));
  } else {
    control = el("input", {
      id: "correct-value", class: "wide-input", maxlength: "500", autocomplete: "off", "data-testid": "correct-value",
      type: isDateField(name) ? "date" : "text",
      inputmode: isIdField(name) || isYearField(name) ? "numeric" : null,
    });
  }
  box.replaceChildren(control);
  control.value = keep;
  if (control.value !== keep) control.value = "";
  $("correct-current").textContent = name && current !== undefined && current !== null && current !== ""
    ? t("c_current", { v: valueText(name, current) }) : "";
}

function renderCorrectFields(r) {
  const select = $("correct-field");
  const chosen = select.value;
  const names = correctableFields(r);
  select.replaceChildren(el("option", { value: "", text: t("chooseField") }), ...names.map((n) => el("option", { value: n, text: fieldLabel(n) })));
  select.value = names.includes(chosen) ? chosen : "";
}

export function renderRecord() {
  if (!shown) return;
  const r = shown;
  const clerk = ctx.clerk;
  $("record-empty").hidden = true;
  $("record-body").hidden = false;
  const body = $("record-body");
  body.dataset.id = r.id;
  body.dataset.kind = r.kind;
  body.dataset.status = r.status;
  $("record-title").textContent = [kindLabel(r.kind), recordName(r)].filter(Boolean).join(" · ");
  $("r-status").replaceChildren(statusBadge(r.status));
  $("r-kind").textContent = "#" + r.id;
  const dup = r.possible_duplicate_of;
  $("r-duplicate").hidden = dup === null || dup === undefined;
  $("r-duplicate").dataset.duplicateOf = dup ?? "";
  $("r-duplicate-text").textContent = dup != null ? t("duplicate", { n: dup }) : "";
  $("r-duplicate-open").textContent = dup != null ? t("openDuplicate", { n: dup }) : "";
  $("r-facts").replaceChildren(
    ...pair(t("r_id"), el("span", { id: "r-id", text: String(r.id) })),
    ...pair(t("r_book"), el("span", { id: "r-volume", "data-book-id": r.book_id, text: r.volume })),
    ...pair(t("r_page"), el("span", { id: "r-page", text: String(r.page) })),
    ...pair(t("r_entry"), el("span", { id: "r-entry", text: String(r.entry) })),
    ...pair(t("r_registered"), el("span", { id: "r-registered", "data-date": r.registered_on, text: day(r.registered_on) })),
    ...pair(t("r_unit"), el("span", { id: "r-unit", "data-unit": r.unit, text: r.unit_name ? `${r.unit_name} (${r.unit})` : r.unit })),
    ...pair(t("r_status"), statusBadge(r.status)),
    ...pair(t("r_assignee"), el("span", { id: "r-assignee", "data-assignee": r.assignee || "", "data-testid": "r-assignee", text: r.assignee || t("nobody") })),
  );
  $("r-fields").replaceChildren(...fieldPairs(r.kind, r.fields || {}));
  const history = r.history || [];
  $("r-history").replaceChildren(...(history.length ? history.map(historyItem) : [el("li", { class: "muted", text: t("noHistory") })]));

  $("record-actions").hidden = !clerk;
  for (const b of document.querySelectorAll("#record-actions button[data-action]")) b.hidden = !allowed(b.dataset.action, r);
  for (const f of document.querySelectorAll("#record-actions [data-when]")) f.hidden = !allowed(f.dataset.when, r);
  $("issue-extract").hidden = !allowed("extract", r);
  // Declaring, registering, correcting and noting changes are for the clerk holding the record.
  $("assign-hint").hidden = mine(r) || !["declare", "register", "correct", "annotate"].some((a) => allowed(a, r));
  renderCorrectFields(r);
  renderCorrectValue(false);
  const kind = $("annotate-kind");
  const note = kind.value;
  kind.replaceChildren(...NOTE_KINDS.map((n) => el("option", { value: n, text: noteLabel(n) })));
  kind.value = NOTE_KINDS.includes(note) ? note : NOTE_KINDS[0];
  if (issued) $("extract-issued-text").textContent = t("extractIssued", { id: issued.id });
}

function fail(box, message, field) {
  box.textContent = message;
  box.hidden = false;
  if (field) field.setAttribute("aria-invalid", "true");
  box.focus();
}

function clean(box, ...fields) {
  box.hidden = true;
  box.textContent = "";
  $("action-error").hidden = true;
  $("action-done").textContent = "";
  for (const f of fields) f.removeAttribute("aria-invalid");
}

// Sends an action; the answer is the record as it now is. Errors go to `box`, marking the
// control of the field they are about when `controls` names it.
async function act(action, extra, button, box, controls = {}) {
  if (!shown || busy) return false;
  if (box === $("action-error")) clean(box);
  const id = shown.id;
  const body = { action, reason: "", ...extra };
  busy = true;
  button.disabled = true;
  let answer;
  try {
    answer = await api("POST", `/api/v1/registry/records/${encodeURIComponent(id)}/actions`, body);
  } catch (e) {
    const field = e.field ? controls[e.field] || controls[String(e.field).replace(/^fields\.?/, "")] || (String(e.field).startsWith("fields") ? controls.fields : null) : null;
    fail(box, t("actionFailed") + ": " + e.message, field);
    box.dataset.httpStatus = String(e.status ?? "");
    return false;
  } finally {
    busy = false;
    button.disabled = false;
  }
  if (answer && answer.id === id && answer.status) showRecord(answer, { focus: false });
  else await openRecord(id, { focus: false });
  $("action-done").textContent = t("done", { what: actionLabel(action) });
  $("action-done").focus();
  ctx.changed();
  return true;
}

async function correct() {
  const name = $("correct-field").value;
  const control = $("correct-value");
  const reason = $("correct-reason");
  const doc = $("correct-doc");
  const box = $("correct-error");
  clean(box, $("correct-field"), control, reason, doc);
  if (!name) return fail(box, t("needField"), $("correct-field"));
  const value = control.value.trim();
  if (!value) return fail(box, t("needValue"), control);
  if (isIdField(name) && !/^\d{12}$/.test(value)) return fail(box, t("badId"), control);
  const current = (shown.fields || {})[name];
  if (current !== undefined && current !== null && String(current) === value) return fail(box, t("sameValue"), control);
  if (!reason.value.trim()) return fail(box, t("needReason"), reason);
  if (!doc.value.trim()) return fail(box, t("needDocument"), doc);
  // A value keeps the type it had (a year given as a number stays a number).
  const typed = typeof current === "number" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  const ok = await act("correct", { reason: reason.value.trim(), document_ref: doc.value.trim(), fields: { [name]: typed } }, $("correct-submit"), box,
    { reason, document_ref: doc, fields: control, [name]: control });
  if (ok) {
    reason.value = "";
    doc.value = "";
    $("correct-field").value = "";
    renderCorrectValue(true);
  }
}

async function annotate() {
  const reason = $("annotate-reason");
  const doc = $("annotate-doc");
  const box = $("annotate-error");
  clean(box, reason, doc);
  if (!reason.value.trim()) return fail(box, t("needReason"), reason);
  if (!doc.value.trim()) return fail(box, t("needDocument"), doc);
  const ok = await act("annotate", { note_kind: $("annotate-kind").value, reason: reason.value.trim(), document_ref: doc.value.trim() }, $("annotate-submit"), box,
    { reason, document_ref: doc, note_kind: $("annotate-kind") });
  if (ok) {
    reason.value = "";
    doc.value = "";
  }
}

async function archive() {
  const reason = $("archive-reason");
  const box = $("archive-error");
  clean(box, reason);
  if (!reason.value.trim()) return fail(box, t("needReason"), reason);
  const ok = await act("archive", { reason: reason.value.trim() }, $("archive-submit"), box, { reason });
  if (ok) reason.value = "";
}

// Issues a certified extract, then offers it to print in a new tab.
async function issueExtract() {
  if (!shown || busy) return;
  const box = $("action-error");
  clean(box);
  const id = shown.id;
  const button = $("issue-extract");
  busy = true;
  button.disabled = true;
  let extract;
  try {
    extract = await api("POST", `/api/v1/registry/records/${encodeURIComponent(id)}/extracts`);
  } catch (e) {
    fail(box, t("extractFailed") + ": " + e.message);
    return;
  } finally {
    busy = false;
    button.disabled = false;
  }
  // The record now has the extract in its history.
  await openRecord(id, { focus: false });
  issued = extract;
  $("extract-link").href = extractHref(extract.id);
  $("extract-link").dataset.extractId = extract.id;
  $("extract-issued-text").textContent = t("extractIssued", { id: extract.id });
  $("extract-issued").hidden = false;
  $("extract-link").focus();
  ctx.changed();
}
