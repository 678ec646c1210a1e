// The officer's view of one dossier: its facts, the applicant (the citizen ID masked by the
// server), the documents to download, the steps handed on with their deadlines, the whole
// history (internal notes marked) and the actions its status allows.

import { $, actionLabel, api, day, el, historyItem, nameOf, pair, size, statusBadge, t, today, vnd, when } from "./common.js";

// Which statuses each action applies to (the core's state machine), so that only useful buttons
// show; the server decides.
const ALLOWED = {
  accept: ["received"],
  request_supplement: ["received"],
  refuse: ["received", "supplement_requested"],
  hand_off: ["in_process"],
  result_ready: ["in_process"],
  return: ["result_ready"],
  apologize: ["received", "in_process", "result_ready"],
  comment: null,
  note: null,
};
const NEEDS_NOTE = ["request_supplement", "refuse", "apologize", "comment", "note"];
// Only an overdue dossier calls for an apology.
const allowed = (action, d) => {
  const statuses = ALLOWED[action];
  if (action === "apologize" && !d.overdue) return false;
  return statuses === null || statuses.includes(d.status);
};

let shown = null;
let ctx = null;
let busy = false;

// `ctx`: { changed() }, called after an action so the list is reloaded.
export function setupDetail(context) {
  ctx = context;
  for (const b of document.querySelectorAll("#action-form button[data-action]")) {
    b.addEventListener("click", () => act(b.dataset.action, b));
  }
  $("action-form").addEventListener("submit", (ev) => ev.preventDefault());
}

export const shownId = () => (shown ? shown.id : null);

export async function openDossier(id, { focus = true } = {}) {
  $("detail-error").hidden = true;
  let d;
  try {
    d = await api("GET", `/api/v1/dossiers/${encodeURIComponent(id)}`);
  } catch (e) {
    $("detail-error").textContent = t("error") + ": " + e.message;
    $("detail-error").hidden = false;
    return;
  }
  const other = !shown || shown.id !== d.id;
  shown = d;
  if (other) {
    for (const id of ["action-note", "handoff-to", "handoff-days", "new-due"]) $(id).value = "";
    $("action-done").textContent = "";
    $("action-error").hidden = true;
  }
  renderDetail();
  if (focus) $("detail-title").focus();
}

// Reloads the dossier shown.
export function refreshDetail() {
  if (shown && !busy) return openDossier(shown.id, { focus: false });
  return Promise.resolve();
}

function documentItem(d, doc) {
  const kind = (d.documents_required || []).find((r) => r.key === doc.key);
  return el("li", { "data-key": doc.key, "data-id": doc.id },
    el("a", { href: `/api/v1/dossiers/${encodeURIComponent(d.id)}/documents/${encodeURIComponent(doc.id)}`, target: "_blank", rel: "noopener", class: "document-link", text: doc.filename || doc.key }),
    " ", el("span", { class: "muted", text: [kind ? nameOf(kind) : doc.key, doc.content_type, doc.size != null ? size(doc.size) : "", when(doc.uploaded_at)].filter(Boolean).join(" · ") }),
  );
}

// The steps handed on: the history entries that set a step's deadline.
function stepItem(u) {
  return el("li", { "data-action": u.action },
    el("strong", { text: actionLabel(u.action) }),
    u.actor ? el("span", { class: "muted", text: " · " + t("by", { who: u.actor }) }) : null,
    u.step_due ? el("span", { class: "step-due", text: " · " + t("stepDue", { d: day(u.step_due) }) }) : null,
    el("span", { class: "muted", text: " · " + when(u.at) }),
    u.note ? el("p", { class: "update-note", text: u.note }) : null,
  );
}

const ratingOf = (r) => (r !== null && typeof r === "object" ? r.rating ?? r.value : r);

export function renderDetail() {
  if (!shown) return;
  const d = shown;
  const fee = Number(d.fee) || 0;
  const a = d.applicant || {};
  $("detail-empty").hidden = true;
  $("detail-body").hidden = false;
  $("detail-body").dataset.id = d.id;
  $("detail-body").dataset.code = d.code;
  $("detail-body").dataset.status = d.status;
  $("detail-title").textContent = d.code + " · " + nameOf(d.procedure);
  $("d-status").replaceChildren(statusBadge(d.status));
  $("d-overdue").hidden = !d.overdue;
  const rating = ratingOf(d.rating);
  $("d-facts").replaceChildren(
    ...pair(t("dossierCode"), el("span", { id: "d-code", class: "code", text: d.code })),
    ...pair(t("procedure"), nameOf(d.procedure)),
    ...pair(t("ward"), nameOf(d.ward)),
    ...pair(t("handler"), el("span", { id: "d-handler", text: d.handler || t("nobody") })),
    ...pair(t("receivedAt"), when(d.received_at)),
    ...pair(t("appointment"), el("span", { id: "d-due", "data-due": d.due_at, text: day(d.due_at) })),
    ...pair(t("stepDueNow"), d.step_due_at ? el("span", { id: "d-step-due", class: "step-due", text: day(d.step_due_at) }) : null),
    ...pair(t("resultAt"), when(d.result_at)),
    ...pair(t("returnedAt"), when(d.returned_at)),
    ...pair(t("fee"), el("span", {},
      el("span", { id: "d-fee", "data-amount": fee, text: fee > 0 ? vnd(fee) : t("noFee") }),
      fee > 0 ? [" · ", el("span", { id: "d-fee-state", class: d.fee_paid ? "paid" : "unpaid", "data-paid": d.fee_paid ? "true" : "false", "data-testid": "d-fee-state", text: d.fee_paid ? t("feePaid") : t("feeUnpaid") })] : null)),
    ...pair(t("paymentRef"), d.payment_reference),
    ...(d.status === "supplement_requested" ? pair(t("supplementTitle"), d.supplement_note) : []),
    ...(rating != null ? pair(t("rating"), rating + "/5" + (d.rating && d.rating.comment ? " · " + d.rating.comment : "")) : []),
  );
  $("d-applicant").replaceChildren(
    ...pair(t("fullName"), el("span", { id: "d-applicant-name", text: a.full_name || "" })),
    ...pair(t("idMasked"), el("span", { id: "d-id-masked", "data-testid": "d-id-masked", text: a.id_number_masked || "" })),
    ...pair(t("phone"), a.phone),
    ...pair(t("email"), a.email),
    ...pair(t("address"), a.address),
  );
  const docs = d.documents || [];
  $("d-documents").replaceChildren(...(docs.length ? docs.map((doc) => documentItem(d, doc)) : [el("li", { class: "muted", text: t("noDocs") })]));
  const history = d.history || [];
  const steps = history.filter((u) => u.step_due || u.action === "hand_off");
  $("d-steps").replaceChildren(...(steps.length ? steps.map(stepItem) : [el("li", { class: "muted", text: t("noSteps") })]));
  $("d-history").replaceChildren(...history.map((u) => historyItem(u, { staff: true })));
  for (const b of document.querySelectorAll("#action-form button[data-action]")) b.hidden = !allowed(b.dataset.action, d);
  for (const row of document.querySelectorAll("#action-form [data-when]")) row.hidden = !allowed(row.dataset.when, d);
  $("new-due").min = today();
}

function actionError(message, field, status) {
  const box = $("action-error");
  box.textContent = message;
  box.dataset.httpStatus = status == null ? "" : String(status);
  box.hidden = false;
  if (field) field.setAttribute("aria-invalid", "true");
  box.focus();
}

async function act(action, button) {
  if (!shown || busy) return;
  const note = $("action-note");
  const fields = { note, handler: $("handoff-to"), step_days: $("handoff-days"), new_due: $("new-due") };
  for (const f of Object.values(fields)) f.removeAttribute("aria-invalid");
  $("action-error").hidden = true;
  $("action-done").textContent = "";
  const body = { action, note: note.value.trim() };
  if (NEEDS_NOTE.includes(action) && !body.note) return actionError(t("needNote"), note);
  if (action === "hand_off") {
    body.handler = $("handoff-to").value.trim();
    if (!body.handler) return actionError(t("needHandler"), $("handoff-to"));
    const days = Number($("handoff-days").value);
    if (!Number.isInteger(days) || days < 1) return actionError(t("needStepDays"), $("handoff-days"));
    body.step_days = days;
  }
  if (action === "apologize") {
    body.new_due = $("new-due").value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(body.new_due)) return actionError(t("needNewDue"), $("new-due"));
  }
  const id = shown.id;
  busy = true;
  button.disabled = true;
  let answer;
  try {
    answer = await api("POST", `/api/v1/dossiers/${encodeURIComponent(id)}/actions`, body);
  } catch (e) {
    actionError(t("actionFailed") + ": " + e.message, fields[e.field], e.status);
    return;
  } finally {
    busy = false;
    button.disabled = false;
  }
  for (const f of Object.values(fields)) f.value = "";
  // The answer is the dossier as it now is; without one, ask again.
  if (answer && answer.id === id && answer.status) {
    shown = answer;
    renderDetail();
  } else {
    await openDossier(id, { focus: false });
  }
  $("action-done").textContent = t("done", { what: t("do_" + action) });
  $("action-done").focus();
  ctx.changed();
}
