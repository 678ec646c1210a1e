// The apply page: a citizen, logged in or not, picks an administrative procedure, sees what it
// needs (documents, fee, processing time, level), fills in who they are and the ward, attaches
// one file per document and submits the dossier. The answer's code is shown, with the way to
// pay the fee and to track the dossier.

import {
  $, DOC_ACCEPT, api, day, docTypeOk, el, nameOf, pair, payHref, setupLang, size, statusBadge, t, trackHref, vnd, when,
} from "./common.js";

// The track page offers the last code from here (this tab only).
const CODE_KEY = "q10.dossier";

let procedures = [];
let wards = [];
let receipt = null;
let errorField = null;
// The message shown, as a function so that it can be said again in the other language.
let errorText = null;
// The file inputs by document key, kept while the citizen switches procedures so that no chosen
// file is lost.
const inputs = new Map();

const chosen = () => procedures.find((p) => p.code === $("procedure").value) || null;
const feeText = (fee) => (Number(fee) > 0 ? vnd(fee) : t("noFee"));
const safeId = (key) => "doc-" + String(key).replace(/[^A-Za-z0-9_-]/g, "_");

function fillSelect(select, first, options) {
  const value = select.value;
  select.replaceChildren(new Option(first, ""), ...options.map(([v, label]) => new Option(label, v)));
  if (options.some(([v]) => v === value)) select.value = value;
}

function renderProcedures() {
  fillSelect($("procedure"), t("chooseProcedure"), procedures.map((p) => [p.code, nameOf(p)]));
  renderProcedure();
}

function renderWards() {
  fillSelect($("ward"), t("chooseWard"), wards.map((w) => [w.code, nameOf(w)]));
}

// The chosen procedure's facts, its documents and a file input for each.
function renderProcedure() {
  const p = chosen();
  $("procedure-info").hidden = !p;
  $("documents-empty").hidden = !!p;
  if (!p) {
    $("procedure-facts").replaceChildren();
    $("procedure-documents").replaceChildren();
    $("document-inputs").replaceChildren();
    return;
  }
  $("procedure-info").dataset.procedure = p.code;
  $("procedure-facts").replaceChildren(
    ...pair(t("level"), el("span", { id: "procedure-level", "data-level": p.level, text: t("level_" + p.level) })),
    ...pair(t("fee"), el("span", { id: "procedure-fee", "data-amount": p.fee, "data-testid": "procedure-fee", text: feeText(p.fee) })),
    ...pair(t("workingDays"), el("span", { id: "procedure-days", "data-days": p.working_days, "data-testid": "procedure-days", text: t("days", { n: p.working_days }) })),
    ...pair(t("office"), t("office_" + p.office)),
  );
  $("procedure-partial").hidden = p.level !== "partial_online";
  const docs = p.documents || [];
  $("procedure-documents").replaceChildren(...docs.map((d) => el("li", { "data-key": d.key, "data-required": d.required ? "true" : "false" },
    nameOf(d), " ", el("span", { class: d.required ? "required" : "muted", text: d.required ? t("required") : t("optional") }))));
  $("document-inputs").replaceChildren(...docs.map(docInput));
}

function docInput(doc) {
  let entry = inputs.get(doc.key);
  if (!entry) {
    const id = safeId(doc.key);
    entry = {
      input: el("input", { id, type: "file", accept: DOC_ACCEPT, "data-key": doc.key, "data-testid": "doc-" + doc.key, "aria-describedby": id + "-chosen documents-hint" }),
      label: el("label", { for: id }),
      chosen: el("p", { id: id + "-chosen", class: "note chosen", "aria-live": "polite" }),
      doc,
    };
    const e = entry;
    e.input.addEventListener("change", () => renderChosen(e));
    inputs.set(doc.key, entry);
  }
  entry.doc = doc;
  entry.input.required = !!doc.required;
  entry.input.dataset.required = doc.required ? "true" : "false";
  entry.label.replaceChildren(
    el("span", { text: nameOf(doc) }), " ",
    el("span", { class: doc.required ? "required" : "muted", text: doc.required ? t("required") : t("optional") }));
  renderChosen(entry);
  return el("div", { class: "doc-input", "data-key": doc.key }, entry.label, entry.input, entry.chosen);
}

function renderChosen(entry) {
  const file = entry.input.files[0];
  if (!file) {
    entry.chosen.replaceChildren();
  } else if (!docTypeOk(file)) {
    entry.chosen.replaceChildren(el("span", { class: "error", text: t("wrongType", { name: file.name }) }));
  } else {
    entry.chosen.replaceChildren(file.name + " (" + size(file.size) + ")");
  }
  if (file && !docTypeOk(file)) entry.input.setAttribute("aria-invalid", "true");
  else entry.input.removeAttribute("aria-invalid");
}

// The documents of the chosen procedure with their inputs.
const currentDocs = () => ((chosen() || {}).documents || []).map((d) => inputs.get(d.key)).filter(Boolean);

function clearError() {
  $("form-error").hidden = true;
  $("form-error").replaceChildren();
  for (const e of document.querySelectorAll("#apply-form [aria-invalid]")) {
    if (e.type !== "file") e.removeAttribute("aria-invalid");
  }
  for (const entry of currentDocs()) renderChosen(entry);
  errorField = null;
  errorText = null;
}

function renderError() {
  const box = $("form-error");
  if (!errorText) return;
  box.replaceChildren(el("span", { text: errorText() }));
  if (errorField) box.append(" ", el("button", { type: "button", class: "link-button", text: t("goToField"), onclick: () => errorField.focus() }));
}

// Shows what is wrong and moves the focus to the message, which offers a way to the field.
function showFormError(fieldId, message) {
  const box = $("form-error");
  errorField = fieldId && $(fieldId) ? $(fieldId) : null;
  errorText = message;
  if (errorField) errorField.setAttribute("aria-invalid", "true");
  renderError();
  box.hidden = false;
  box.focus();
}

const value = (id) => $(id).value.trim();

// 12 digits, the first three a province code (001–096), as the server checks.
function idNumberOk(s) {
  const digits = s.replace(/\s/g, "");
  if (!/^\d{12}$/.test(digits)) return false;
  const province = Number(digits.slice(0, 3));
  return province >= 1 && province <= 96;
}

// 10 digits starting with 0, or +84 and 9 digits; spaces, dots and dashes allowed.
function phoneOk(s) {
  const p = s.replace(/[\s.-]/g, "").replace(/^\+84/, "0");
  return /^0\d{9}$/.test(p);
}

// The first thing the citizen still has to fix, as [field id, message].
function check() {
  const say = (key, vars) => () => t(key, vars);
  const p = chosen();
  if (!p) return ["procedure", say("needProcedure")];
  if (!$("ward").value) return ["ward", say("needWard")];
  if (!value("full-name")) return ["full-name", say("needName")];
  if (!idNumberOk(value("id-number"))) return ["id-number", say("needIdNumber")];
  if (!value("phone")) return ["phone", say("needPhone")];
  if (!phoneOk(value("phone"))) return ["phone", say("badPhone")];
  if (value("email") && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value("email"))) return ["email", say("badEmail")];
  if (!value("applicant-address")) return ["applicant-address", say("needAddress")];
  for (const entry of currentDocs()) {
    const file = entry.input.files[0];
    if (entry.doc.required && !file) return [entry.input.id, () => t("needDocument", { name: nameOf(entry.doc) })];
    if (file && !docTypeOk(file)) return [entry.input.id, () => t("wrongType", { name: file.name })];
  }
  return null;
}

// The form control a problem's `field` is about, and what to say about it in the page's
// language (the server's words otherwise).
const FIELDS = {
  procedure: ["procedure", "needProcedure"], ward: ["ward", "needWard"], full_name: ["full-name", "needName"],
  id_number: ["id-number", "needIdNumber"], phone: ["phone", "badPhone"], email: ["email", "badEmail"],
  address: ["applicant-address", "needAddress"], note: ["note", null],
};

function fieldFor(field) {
  if (!field) return [null, null];
  const doc = /^(?:doc:|doc\.|documents?\.|documents?\[)([^\]]+)\]?$/.exec(field);
  if (doc) return [inputs.has(doc[1]) ? inputs.get(doc[1]).input.id : null, null];
  return FIELDS[field.replace(/^(?:applicant|dossier)\./, "")] || [null, null];
}

function dossierJson() {
  const applicant = {
    full_name: value("full-name"), id_number: value("id-number").replace(/\s/g, ""), phone: value("phone"), address: value("applicant-address"),
  };
  if (value("email")) applicant.email = value("email");
  const out = { procedure: $("procedure").value, ward: $("ward").value, applicant };
  if (value("note")) out.note = value("note");
  return out;
}

async function submit(ev) {
  ev.preventDefault();
  clearError();
  const problem = check();
  if (problem) {
    showFormError(...problem);
    return;
  }
  const form = new FormData();
  form.append("dossier", JSON.stringify(dossierJson()));
  for (const entry of currentDocs()) {
    const file = entry.input.files[0];
    if (file) form.append("doc:" + entry.doc.key, file, file.name);
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("sending");
  $("apply-form").setAttribute("aria-busy", "true");
  try {
    receipt = await api("POST", "/api/v1/dossiers", form, { anonymous: true });
  } catch (e) {
    const [field, key] = fieldFor(e.field);
    showFormError(field, () => t("sendFailed") + ": " + (key && e.status === 400 ? t(key) : e.message));
    return;
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
    $("apply-form").removeAttribute("aria-busy");
  }
  sessionStorage.setItem(CODE_KEY, receipt.code);
  $("apply-form").hidden = true;
  $("receipt").hidden = false;
  $("copy-state").textContent = "";
  renderReceipt();
  $("receipt-title").focus();
}

function renderReceipt() {
  if (!receipt) return;
  const r = receipt;
  const procedure = typeof r.procedure === "object" && r.procedure ? r.procedure : procedures.find((p) => p.code === r.procedure);
  const ward = typeof r.ward === "object" && r.ward ? r.ward : wards.find((w) => w.code === r.ward);
  $("dossier-code").textContent = r.code;
  $("receipt").dataset.code = r.code;
  $("receipt-facts").replaceChildren(
    ...pair(t("procedure"), nameOf(procedure) || String(r.procedure || "")),
    ...pair(t("ward"), nameOf(ward) || String(r.ward || "")),
    ...pair(t("status"), el("span", { id: "receipt-status" }, statusBadge(r.status))),
    ...pair(t("receivedAt"), when(r.received_at)),
    ...pair(t("appointment"), el("strong", { id: "receipt-due", "data-due": r.due_at, "data-testid": "receipt-due", text: day(r.due_at) })),
    ...pair(t("fee"), el("span", { id: "receipt-fee", "data-amount": r.fee, "data-testid": "receipt-fee", text: feeText(r.fee) })),
  );
  $("pay-link").hidden = !(Number(r.fee) > 0);
  $("pay-link").href = payHref(r.code);
  $("track-link").href = trackHref(r.code);
}

// Back to an empty form for the next dossier.
function another() {
  receipt = null;
  $("apply-form").reset();
  for (const entry of inputs.values()) entry.input.value = "";
  clearError();
  renderProcedure();
  $("receipt").hidden = true;
  $("apply-form").hidden = false;
  $("procedure").focus();
}

function redraw() {
  renderProcedures();
  renderWards();
  renderReceipt();
  renderError();
}

async function start() {
  setupLang(redraw);
  $("apply-form").addEventListener("submit", submit);
  $("procedure").addEventListener("change", renderProcedure);
  $("another").addEventListener("click", another);
  $("copy-code").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(receipt.code);
      $("copy-state").textContent = t("copied");
    } catch (_) {
      $("copy-state").textContent = "";
    }
  });
  try {
    const [procs, units] = await Promise.all([
      api("GET", "/api/v1/procedures", undefined, { anonymous: true }),
      api("GET", "/api/v1/jurisdictions?kind=ward", undefined, { anonymous: true }),
    ]);
    procedures = Array.isArray(procs) ? procs : (procs && procs.items) || [];
    wards = units.filter((w) => w.kind === "ward");
  } catch (e) {
    $("load-error").textContent = t("error") + ": " + e.message;
    $("load-error").hidden = false;
    return;
  }
  renderProcedures();
  renderWards();
  // A link may name the procedure: /apply?procedure=CODE.
  const asked = new URLSearchParams(location.search).get("procedure");
  if (asked && procedures.some((p) => p.code === asked)) {
    $("procedure").value = asked;
    renderProcedure();
  }
  document.body.dataset.ready = "true";
}

start();
