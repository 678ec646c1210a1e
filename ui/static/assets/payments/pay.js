// The pay page: pays one payment intent, opened as /pay?ref=REF, or as /pay#dossier=CODE to
// create the intent of a dossier's fee first (with an Idempotency-Key kept in this tab's
// sessionStorage per dossier, so a reload finds the same intent), after which the address
// becomes ?ref=REF. The citizen pays by VNPay (off to its gateway and back here with &result=)
// or by VietQR (a QR code to scan in a banking app; the page asks every 2 s until the bank's
// notice has reached the server). Paid: the receipt's number and a link to it.

import {
  $, FINAL, api, createDossierPayment, currentLang, dossierHref, el, hideError, methodLabel, pair, purposeLabel,
  receiptHref, setupLang, showError, statusBadge, t, uuid, vnd, when,
} from "./common.js";

const POLL_MS = 2000;
// After coming back from VNPay: how many times to ask while the result is on its way.
const RETURN_TRIES = 15;
// Waiting for a bank transfer: 15 minutes of asking.
const TRANSFER_TRIES = 450;
const KEY_PREFIX = "q10.pay.key.";

// The banks a VietQR code may name, by their NAPAS BIN; others are shown by BIN.
const BANKS = {
  970436: "Vietcombank", 970415: "VietinBank", 970418: "BIDV", 970405: "Agribank", 970422: "MB Bank",
  970407: "Techcombank", 970416: "ACB", 970432: "VPBank", 970423: "TPBank", 970403: "Sacombank",
  970437: "HDBank", 970441: "VIB", 970443: "SHB", 970431: "Eximbank", 970448: "OCB", 970426: "MSB",
  970454: "Bản Việt", 970429: "SCB", 970409: "Bắc Á", 970412: "PVcomBank", 970449: "LPBank", 970440: "SeABank",
};

let payment = null;
let qr = null;
let checking = false;
let notFinished = false;
// Each poll loop has a number; starting another one ends the one before.
let pollRun = 0;

const keyFor = (code) => KEY_PREFIX + code;

// The dossier's Idempotency-Key: the one this tab used before, or a new one.
function idempotencyKey(code, fresh) {
  let key = fresh ? null : sessionStorage.getItem(keyFor(code));
  if (!key) {
    key = uuid();
    sessionStorage.setItem(keyFor(code), key);
  }
  return key;
}

function fail(message) {
  showError($("load-error"), message);
}

async function create(code, fresh) {
  let p;
  try {
    p = await createDossierPayment(code, idempotencyKey(code, fresh), { anonymous: true });
  } catch (e) {
    fail(t("createFailed") + ": " + e.message);
    return;
  }
  qr = null;
  history.replaceState(null, "", "/pay?ref=" + encodeURIComponent(p.reference));
  show(p);
  if (p.status === "processing") poll();
}

async function load(ref) {
  try {
    show(await api("GET", "/api/v1/payments/" + encodeURIComponent(ref), undefined, { anonymous: true }));
  } catch (e) {
    fail(e.status === 404 ? t("notFound") : t("loadFailed") + ": " + e.message);
    return false;
  }
  return true;
}

function show(p) {
  const before = payment ? payment.status : null;
  payment = p;
  hideError($("load-error"));
  render();
  if (before && before !== p.status && p.status === "succeeded") $("paid-title").focus();
  else if (before && before !== p.status && (p.status === "failed" || p.status === "canceled")) $("failed-text").focus();
}

// Asks for the payment's status every 2 s (the first time after `first` ms) until it is final,
// `tries` times at most (no limit when absent). Resolves when it stops.
async function poll({ tries = Infinity, first = POLL_MS } = {}) {
  const run = ++pollRun;
  for (let i = 0; i < tries; i++) {
    await new Promise((r) => setTimeout(r, i === 0 ? first : POLL_MS));
    if (run !== pollRun || !payment) return;
    try {
      const p = await api("GET", "/api/v1/payments/" + encodeURIComponent(payment.reference), undefined, { anonymous: true });
      if (run !== pollRun) return;
      show(p);
    } catch (_) {
      // A missed answer: ask again next time.
    }
    if (FINAL.includes(payment.status)) return;
  }
}

function svgFrom(markup) {
  // Styles go before parsing: the parsed document shares this page's policy, which would
  // refuse them (and say so in the console).
  const plain = markup.replace(/<style[\s\S]*?<\/style>/gi, "").replace(/\sstyle\s*=\s*("[^"]*"|'[^']*')/gi, "");
  const doc = new DOMParser().parseFromString(plain, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
  // Only shapes: no scripts, no styles (the page's policy allows none inline), no outside links.
  for (const bad of svg.querySelectorAll("script, style, foreignObject, iframe, image")) bad.remove();
  for (const node of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...node.attributes]) {
      const name = attr.name.toLowerCase();
      const link = (name === "href" || name === "xlink:href") && !attr.value.startsWith("#");
      if (name.startsWith("on") || name === "style" || link) node.removeAttribute(attr.name);
    }
  }
  const w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
  if (!svg.hasAttribute("viewBox") && w > 0 && h > 0) svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("qrLabel"));
  svg.setAttribute("shape-rendering", "crispEdges");
  return document.importNode(svg, true);
}

function renderQr() {
  if (!qr) return;
  const bank = BANKS[qr.bank_bin];
  $("qr-facts").replaceChildren(
    ...pair(t("bank"), el("span", { id: "qr-bank", "data-bin": qr.bank_bin, text: bank ? `${bank} (${qr.bank_bin})` : String(qr.bank_bin) })),
    ...pair(t("account"), el("span", { id: "qr-account", class: "mono", text: qr.account })),
    ...pair(t("accountName"), el("span", { id: "qr-name", text: qr.account_name })),
    ...pair(t("amount"), el("span", { id: "qr-amount", "data-amount": qr.amount, text: vnd(qr.amount) })),
  );
  $("qr-reference").replaceChildren(t("transferText", { ref: "" }), el("strong", { id: "qr-ref", class: "mono", text: qr.reference }));
}

function render() {
  if (!payment) return;
  const p = payment;
  const status = p.status;
  $("intent").hidden = false;
  $("intent").dataset.reference = p.reference;
  $("intent").dataset.status = status;
  $("pay-amount").textContent = vnd(p.amount);
  $("pay-amount").dataset.amount = p.amount;
  $("pay-status").replaceChildren(statusBadge(status));
  $("pay-facts").replaceChildren(
    ...pair(t("description"), el("span", { id: "pay-description", text: p.description || purposeLabel(p.purpose) })),
    ...pair(t("dossierCode"), p.dossier_code ? el("a", { id: "pay-dossier", href: dossierHref(p.dossier_code), text: p.dossier_code }) : null),
    ...pair(t("reference"), el("span", { id: "pay-ref", class: "mono", "data-testid": "pay-ref", text: p.reference })),
    ...pair(t("createdAt"), when(p.created_at)),
  );
  $("checking").hidden = !checking;
  // Sent to a provider, a payment may still be paid another way.
  const open = status === "requires_payment" || status === "processing";
  $("methods").hidden = !open || checking;
  $("method-state").textContent = !open ? "" : notFinished ? t("notFinished") : status === "processing" && p.provider === "vnpay" ? t("atVnpay") : "";
  $("vietqr").hidden = !(qr && open);
  renderQr();

  $("paid").hidden = status !== "succeeded";
  $("paid-facts").replaceChildren(
    ...pair(t("receiptNumber"), p.receipt_number != null ? el("strong", { id: "receipt-number", class: "receipt-number", "data-testid": "receipt-number", text: String(p.receipt_number) }) : null),
    ...pair(t("amount"), vnd(p.amount)),
    ...pair(t("method"), methodLabel(p.provider)),
    ...pair(t("paidAt"), when(p.paid_at)),
  );
  $("receipt-link").href = receiptHref(p.reference);
  $("dossier-link").hidden = !p.dossier_code;
  if (p.dossier_code) $("dossier-link").href = dossierHref(p.dossier_code);

  const failed = status === "failed" || status === "canceled" || status === "refunded";
  $("failed").hidden = !failed;
  $("failed").dataset.status = status;
  $("failed-text").textContent = status === "failed" ? t("failedText") : status === "canceled" ? t("canceledText") : t("refundedText");
  $("start-again").hidden = !(p.dossier_code && (status === "failed" || status === "canceled"));
}

function methodError(message) {
  showError($("method-error"), message);
}

function busy(on) {
  for (const id of ["pay-vnpay", "pay-vietqr"]) $(id).disabled = on;
}

async function vnpay() {
  if (!payment) return;
  hideError($("method-error"));
  busy(true);
  $("method-state").textContent = t("redirecting");
  let answer;
  try {
    answer = await api("POST", `/api/v1/payments/${encodeURIComponent(payment.reference)}/vnpay`, { locale: currentLang() === "en" ? "en" : "vn" }, { anonymous: true });
  } catch (e) {
    busy(false);
    $("method-state").textContent = "";
    methodError(t("methodFailed") + ": " + e.message);
    return;
  }
  window.location.assign(answer.redirect_url);
}

async function vietqr({ focus = true } = {}) {
  if (!payment) return;
  hideError($("method-error"));
  busy(true);
  try {
    qr = await api("POST", `/api/v1/payments/${encodeURIComponent(payment.reference)}/vietqr`, undefined, { anonymous: true });
  } catch (e) {
    methodError(t("methodFailed") + ": " + e.message);
    return;
  } finally {
    busy(false);
  }
  const svg = qr.svg ? svgFrom(qr.svg) : null;
  $("qr").replaceChildren(...(svg ? [svg] : []));
  $("qr-payload").textContent = qr.payload;
  $("copy-state").textContent = "";
  render();
  if (focus) $("qr-title").focus();
  // The payment now waits for the transfer: show that at once, then keep asking.
  poll({ tries: TRANSFER_TRIES, first: 0 });
}

// Back from VNPay (?result=…): the notice may still be on its way, so ask a few times.
async function afterReturn() {
  checking = true;
  render();
  if (!FINAL.includes(payment.status)) await poll({ tries: RETURN_TRIES });
  checking = false;
  notFinished = payment.status === "requires_payment";
  history.replaceState(null, "", "/pay?ref=" + encodeURIComponent(payment.reference));
  render();
}

async function startAgain() {
  if (!payment || !payment.dossier_code) return;
  pollRun++;
  notFinished = false;
  $("qr").replaceChildren();
  $("start-again").disabled = true;
  try {
    await create(payment.dossier_code, true);
  } finally {
    $("start-again").disabled = false;
  }
  if (payment.status === "requires_payment") $("methods-title").focus();
}

async function start() {
  setupLang(render);
  $("pay-vnpay").addEventListener("click", vnpay);
  $("pay-vietqr").addEventListener("click", vietqr);
  $("start-again").addEventListener("click", startAgain);
  $("copy-payload").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(qr.payload);
      $("copy-state").textContent = t("copied");
    } catch (_) {
      $("copy-state").textContent = "";
    }
  });
  const params = new URLSearchParams(location.search);
  const ref = params.get("ref");
  // A dossier's code rides in the fragment, which never reaches a server or its logs.
  const dossier = new URLSearchParams(location.hash.slice(1)).get("dossier");
  if (ref) {
    if (await load(ref)) {
      if (params.has("result")) afterReturn();
      // Waiting for a transfer: show the code again.
      else if (payment.status === "processing" && payment.provider === "vietqr") vietqr({ focus: false });
      else if (payment.status === "processing") poll({ tries: RETURN_TRIES });
    }
  } else if (dossier) {
    await create(dossier.trim(), false);
  } else {
    fail(params.get("result") === "invalid" ? t("invalidReturn") : t("needRef"));
  }
  document.body.dataset.ready = "true";
}

start();
