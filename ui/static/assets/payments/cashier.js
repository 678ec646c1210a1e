// The cash desk: a cashier types a payment reference or a dossier code (for a dossier, its fee's
// payment is created, with a new Idempotency-Key for each attempt), sees the amount, takes the
// cash and prints the receipt. Needs a cashier's session from the home page's login.

import {
  $, api, createDossierPayment, dossierHref, el, hideError, pair, purposeLabel, receiptHref, setupLang, showError,
  statusBadge, t, uuid, vnd, when,
} from "./common.js";

const CASHIERS = ["cashier"];

let payment = null;

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("desk").hidden = true;
}

function render() {
  const p = payment;
  $("c-payment").hidden = !p;
  if (!p) return;
  $("c-payment").dataset.reference = p.reference;
  $("c-payment").dataset.status = p.status;
  $("c-amount").textContent = vnd(p.amount);
  $("c-amount").dataset.amount = p.amount;
  $("c-status").replaceChildren(statusBadge(p.status));
  $("c-facts").replaceChildren(
    ...pair(t("reference"), el("span", { id: "c-reference", class: "mono", "data-testid": "c-reference", text: p.reference })),
    ...pair(t("dossierCode"), p.dossier_code ? el("a", { id: "c-dossier", class: "mono", href: dossierHref(p.dossier_code), text: p.dossier_code }) : null),
    ...pair(t("description"), p.description || purposeLabel(p.purpose)),
    ...pair(t("createdAt"), when(p.created_at)),
  );
  // A payment waiting for a transfer may still be paid in cash (the server refuses while VNPay
  // has it).
  const open = p.status === "requires_payment" || p.status === "processing";
  $("take-cash").hidden = !open;
  $("c-note").textContent = open ? "" : p.status === "succeeded" ? t("alreadyPaid") : t("notPayable", { status: $("c-status").textContent });
  const paid = p.status === "succeeded" && p.receipt_number != null;
  $("c-done").hidden = !paid;
  if (paid) {
    $("c-receipt-number").textContent = String(p.receipt_number);
    $("c-receipt-link").href = receiptHref(p.reference);
  }
}

// Payment references are Q10P and ten letters or digits; anything else is taken for a dossier
// code first.
const looksLikeReference = (code) => /^Q10P[0-9A-Z]{10}$/i.test(code);

const getPayment = (ref) => api("GET", "/api/v1/payments/" + encodeURIComponent(ref));

// A payment by its reference, or else the fee payment of the dossier with that code (a new
// Idempotency-Key for each attempt).
async function find(code) {
  const tries = looksLikeReference(code)
    ? [() => getPayment(code), () => createDossierPayment(code, uuid(), { anonymous: false })]
    : [() => createDossierPayment(code, uuid(), { anonymous: false }), () => getPayment(code)];
  // Not found: no such payment, or no such dossier (which creating its payment says with a 400
  // about the dossier_code).
  const missing = (e) => e.status === 404 || (e.status === 400 && e.field === "dossier_code");
  try {
    return await tries[0]();
  } catch (e) {
    if (!missing(e)) throw e;
  }
  try {
    return await tries[1]();
  } catch (e) {
    if (missing(e)) throw Object.assign(new Error(t("nothingFound", { code })), { notFound: true });
    throw e;
  }
}

async function lookUp(ev) {
  ev.preventDefault();
  const input = $("lookup");
  const code = input.value.trim();
  hideError($("lookup-error"), input);
  hideError($("cash-error"));
  if (!code) {
    showError($("lookup-error"), t("needLookup"), input);
    return;
  }
  const button = $("lookup-submit");
  button.disabled = true;
  try {
    payment = await find(code);
  } catch (e) {
    payment = null;
    render();
    showError($("lookup-error"), e.notFound ? e.message : t("error") + ": " + e.message, input);
    return;
  } finally {
    button.disabled = false;
  }
  render();
  $("c-title").focus();
}

async function takeCash() {
  if (!payment) return;
  hideError($("cash-error"));
  const button = $("take-cash");
  button.disabled = true;
  try {
    payment = await api("POST", `/api/v1/payments/${encodeURIComponent(payment.reference)}/cash`, {});
  } catch (e) {
    showError($("cash-error"), t("cashFailed") + ": " + e.message);
    return;
  } finally {
    button.disabled = false;
  }
  render();
  $("c-done-title").focus();
}

function next() {
  payment = null;
  $("lookup-form").reset();
  hideError($("lookup-error"), $("lookup"));
  hideError($("cash-error"));
  $("c-done").hidden = true;
  render();
  $("lookup").focus();
}

async function start() {
  setupLang(render);
  let me;
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    gate(e.status === 401 ? t("loginFirst") : t("error") + ": " + e.message);
    document.body.dataset.ready = "true";
    return;
  }
  if (!me.grants.some((g) => CASHIERS.includes(g.role))) {
    gate(t("notCashier"));
    document.body.dataset.ready = "true";
    return;
  }
  $("who").textContent = me.display_name;
  $("desk").hidden = false;
  $("lookup-form").addEventListener("submit", lookUp);
  $("take-cash").addEventListener("click", takeCash);
  $("next").addEventListener("click", next);
  $("lookup").focus();
  document.body.dataset.ready = "true";
}

start();
