// The dossier tracking page: the citizen gives the dossier code (typed, or from #code= in the
// link on the receipt; sent in a request body) and sees where the dossier stands: its status,
// dates, fee and whether it is paid, and its public history. When the officer asks for more
// documents the citizen uploads them here; once the result is returned, the citizen rates it.

import {
  $, DOC_ACCEPT, api, day, docTypeOk, el, hideError, historyItem, nameOf, pair, payHref, setupLang, showError, size,
  statusBadge, t, vnd, when,
} from "./common.js";

const CODE_KEY = "q10.dossier";

let shown = null;
let code = null;
// Look-ups are numbered so that only the newest one is shown.
let asked = 0;
// The supplement's file inputs by document key.
const inputs = new Map();

async function lookUp(ev, { focus = true } = {}) {
  if (ev) ev.preventDefault();
  const typed = $("code").value.trim();
  hideError($("track-error"), $("code"));
  if (!typed) {
    showError($("track-error"), t("needCode"), $("code"));
    return;
  }
  const mine = ++asked;
  let found;
  try {
    found = await api("POST", "/api/v1/dossiers/track", { code: typed }, { anonymous: true });
  } catch (e) {
    if (mine !== asked) return;
    shown = null;
    $("result").hidden = true;
    showError($("track-error"), e.status === 404 ? t("codeNotFound") : t("trackFailed") + ": " + e.message, $("code"));
    return;
  }
  if (mine !== asked) return;
  if (!shown || shown.code !== found.code) {
    inputs.clear();
    $("supplement-form").reset();
    $("rate-form").reset();
  }
  shown = found;
  code = found.code || typed;
  sessionStorage.setItem(CODE_KEY, code);
  $("supplement-done").textContent = "";
  render();
  if (focus) $("result-title").focus();
}

function supplementInput(doc) {
  let entry = inputs.get(doc.key);
  if (!entry) {
    const id = "sup-" + String(doc.key).replace(/[^A-Za-z0-9_-]/g, "_");
    entry = {
      doc,
      input: el("input", { id, type: "file", accept: DOC_ACCEPT, "data-key": doc.key, "data-testid": "sup-" + doc.key, "aria-describedby": id + "-chosen supplement-hint" }),
      label: el("label", { for: id }),
      chosen: el("p", { id: id + "-chosen", class: "note chosen", "aria-live": "polite" }),
    };
    const e = entry;
    e.input.addEventListener("change", () => renderChosen(e));
    inputs.set(doc.key, entry);
  }
  entry.doc = doc;
  entry.label.replaceChildren(el("span", { text: nameOf(doc) }));
  renderChosen(entry);
  return el("div", { class: "doc-input", "data-key": doc.key }, entry.label, entry.input, entry.chosen);
}

function renderChosen(entry) {
  const file = entry.input.files[0];
  if (!file) entry.chosen.replaceChildren();
  else if (!docTypeOk(file)) entry.chosen.replaceChildren(el("span", { class: "error", text: t("wrongType", { name: file.name }) }));
  else entry.chosen.replaceChildren(file.name + " (" + size(file.size) + ")");
}

const ratingOf = (r) => (r !== null && typeof r === "object" ? r.rating ?? r.value : r);

function render() {
  if (!shown) return;
  const d = shown;
  const fee = Number(d.fee) || 0;
  $("result").hidden = false;
  $("result").dataset.code = d.code;
  $("result").dataset.status = d.status;
  $("result-title").textContent = nameOf(d.procedure) || d.code;
  $("result-status").replaceChildren(statusBadge(d.status));
  $("result-overdue").hidden = !d.overdue;
  $("result-facts").replaceChildren(
    ...pair(t("dossierCode"), el("span", { id: "result-code", class: "code", text: d.code })),
    ...pair(t("procedure"), nameOf(d.procedure)),
    ...pair(t("ward"), nameOf(d.ward)),
    ...pair(t("receivedAt"), when(d.received_at)),
    ...pair(t("appointment"), el("strong", { id: "result-due", "data-due": d.due_at, "data-testid": "result-due", text: day(d.due_at) })),
    ...pair(t("resultAt"), when(d.result_at)),
    ...pair(t("returnedAt"), when(d.returned_at)),
    ...pair(t("fee"), el("span", {},
      el("span", { id: "result-fee", "data-amount": fee, "data-testid": "result-fee", text: fee > 0 ? vnd(fee) : t("noFee") }),
      fee > 0 ? [" · ", el("span", { id: "fee-state", class: d.fee_paid ? "paid" : "unpaid", "data-paid": d.fee_paid ? "true" : "false", "data-testid": "fee-state", text: d.fee_paid ? t("feePaid") : t("feeUnpaid") })] : null)),
    ...pair(t("paymentRef"), d.payment_reference),
  );
  $("pay-link").hidden = !(fee > 0 && !d.fee_paid);
  $("pay-link").href = payHref(d.code);
  const history = d.history || [];
  $("timeline").replaceChildren(...(history.length ? history.map((u) => historyItem(u)) : [el("li", { text: t("noUpdates") })]));

  const supplement = d.status === "supplement_requested";
  $("supplement-form").hidden = !supplement;
  if (supplement) {
    $("supplement-request").textContent = d.supplement_note || "";
    $("supplement-inputs").replaceChildren(...(d.documents_required || []).map(supplementInput));
  }

  const rating = ratingOf(d.rating);
  $("rating-done").hidden = rating == null;
  $("rating-done").textContent = rating == null ? "" : t("rated", { n: rating });
  $("rate-form").hidden = !d.can_rate;
}

async function supplement(ev) {
  ev.preventDefault();
  const box = $("supplement-error");
  const entries = (shown.documents_required || []).map((d) => inputs.get(d.key)).filter(Boolean);
  hideError(box, ...entries.map((e) => e.input));
  const withFile = entries.filter((e) => e.input.files[0]);
  if (!withFile.length) {
    showError(box, t("needSupplementFile"), entries.length ? entries[0].input : null);
    return;
  }
  const wrong = withFile.find((e) => !docTypeOk(e.input.files[0]));
  if (wrong) {
    showError(box, t("wrongType", { name: wrong.input.files[0].name }), wrong.input);
    return;
  }
  const form = new FormData();
  form.append("supplement", JSON.stringify({ code, note: $("supplement-note").value.trim() }));
  for (const e of withFile) form.append("doc:" + e.doc.key, e.input.files[0], e.input.files[0].name);
  const button = $("supplement-submit");
  button.disabled = true;
  $("supplement-form").setAttribute("aria-busy", "true");
  try {
    shown = await api("POST", "/api/v1/dossiers/supplement", form, { anonymous: true });
  } catch (e) {
    const doc = e.field && /^(?:doc:|doc\.|documents?\.)(.+)$/.exec(e.field);
    const field = doc && inputs.has(doc[1]) ? inputs.get(doc[1]).input : e.field === "note" ? $("supplement-note") : null;
    showError(box, t("supplementFailed") + ": " + e.message, field);
    return;
  } finally {
    button.disabled = false;
    $("supplement-form").removeAttribute("aria-busy");
  }
  $("supplement-form").reset();
  for (const e of inputs.values()) e.input.value = "";
  render();
  $("supplement-done").textContent = t("supplementSent");
  $("supplement-done").focus();
}

async function rate(ev) {
  ev.preventDefault();
  const first = document.querySelector('#rate-stars input[name="rating"]');
  hideError($("rate-error"), first);
  const picked = document.querySelector('#rate-stars input[name="rating"]:checked');
  if (!picked) {
    showError($("rate-error"), t("needRating"), first);
    return;
  }
  const button = $("rate-submit");
  button.disabled = true;
  try {
    shown = await api("POST", "/api/v1/dossiers/rate", { code, rating: Number(picked.value), comment: $("rate-comment").value.trim() }, { anonymous: true });
  } catch (e) {
    showError($("rate-error"), t("rateFailed") + ": " + e.message, e.field === "comment" ? $("rate-comment") : null);
    return;
  } finally {
    button.disabled = false;
  }
  $("rate-form").reset();
  render();
  $("rating-done").focus();
}

function start() {
  setupLang(() => {
    render();
    if (!$("supplement-done").textContent) return;
    $("supplement-done").textContent = t("supplementSent");
  });
  $("track-form").addEventListener("submit", lookUp);
  $("supplement-form").addEventListener("submit", supplement);
  $("rate-form").addEventListener("submit", rate);
  // The code rides in the fragment, which never reaches a server or its logs.
  const linked = new URLSearchParams(location.hash.slice(1)).get("code");
  const kept = linked || sessionStorage.getItem(CODE_KEY);
  if (kept) {
    $("code").value = kept;
    lookUp(null, { focus: !!linked });
  }
  document.body.dataset.ready = "true";
}

start();
