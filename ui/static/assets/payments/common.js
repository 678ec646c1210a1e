// What the payment pages share: the helpers of every page with the payment words added, how a
// payment's status and method are shown, idempotency keys, and amounts in Vietnamese words.

import { addText, api, el, t } from "../common.js";
import { TEXT } from "./text.js";

addText(TEXT);

export { $, api, currentLang, day, el, hideError, pair, setupLang, showError, t, vnd, when } from "../common.js";

export const FINAL = ["succeeded", "failed", "canceled", "refunded"];
const STATUSES = ["requires_payment", "processing", ...FINAL];

export const statusLabel = (s) => (STATUSES.includes(s) ? t("pst_" + s) : s);
export const statusBadge = (s) => el("span", { class: "status pay-" + s, "data-status": s, text: statusLabel(s) });
export const methodLabel = (m) => (["vnpay", "vietqr", "cash"].includes(m) ? t("method_" + m) : m || "");
export const purposeLabel = (p) => (p === "dossier_fee" ? t("purpose_dossier_fee") : p || "");

export const receiptHref = (ref) => "/receipt?ref=" + encodeURIComponent(ref);
export const dossierHref = (code) => "/dossier#code=" + encodeURIComponent(code);

// A random (version 4) UUID for an Idempotency-Key; crypto.randomUUID needs a secure context,
// getRandomValues does not.
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Creates (or, with the same key, finds again) the payment of a dossier's fee.
export function createDossierPayment(code, key, { anonymous }) {
  return api("POST", "/api/v1/payments", { purpose: "dossier_fee", dossier_code: code }, { anonymous, headers: { "Idempotency-Key": key } });
}

const DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"];
const SCALES = ["", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ"];

// Three digits as read in Vietnamese; `full` when a higher group comes before (so "không trăm",
// "lẻ" are said).
function group(n, full) {
  const h = Math.floor(n / 100), ten = Math.floor(n / 10) % 10, u = n % 10;
  const out = [];
  if (full || h > 0) out.push(DIGITS[h], "trăm");
  if (ten === 0) {
    if (u > 0 && (full || h > 0)) out.push("lẻ");
  } else if (ten === 1) {
    out.push("mười");
  } else {
    out.push(DIGITS[ten], "mươi");
  }
  if (u > 0) {
    if (u === 1 && ten >= 2) out.push("mốt");
    else if (u === 5 && ten >= 1) out.push("lăm");
    else out.push(DIGITS[u]);
  }
  return out.join(" ");
}

// An amount of đồng in Vietnamese words, as written on receipts: "Năm mươi nghìn đồng".
export function vndWords(amount) {
  let n = Math.round(Number(amount) || 0);
  if (n === 0) return "Không đồng";
  const groups = [];
  while (n > 0) {
    groups.push(n % 1000);
    n = Math.floor(n / 1000);
  }
  const words = [];
  for (let i = groups.length - 1; i >= 0; i--) {
    if (groups[i] === 0) continue;
    words.push(group(groups[i], i < groups.length - 1), SCALES[i]);
  }
  const s = words.filter(Boolean).join(" ") + " đồng";
  return s.charAt(0).toUpperCase() + s.slice(1);
}
