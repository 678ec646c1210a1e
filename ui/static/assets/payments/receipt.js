// The receipt page: the receipt of a paid payment (/receipt?ref=REF), laid out to be printed;
// printing leaves the site's header out.

import { $, api, el, methodLabel, pair, setupLang, showError, t, vnd, vndWords, when } from "./common.js";

let receipt = null;

// An office may come as a name or as a unit with names.
const officeName = (o) => (o && typeof o === "object" ? o.name_vi || o.name || o.code || "" : o || "");

function render() {
  if (!receipt) return;
  const r = receipt;
  $("receipt").hidden = false;
  $("receipt").dataset.reference = r.reference;
  $("receipt-office").textContent = officeName(r.office);
  const title = $("receipt-title");
  title.textContent = t("receiptNo", { n: r.number });
  title.dataset.number = String(r.number);
  $("receipt-facts").replaceChildren(
    ...pair(t("receiptNumber"), el("strong", { id: "receipt-number", "data-testid": "receipt-number", text: String(r.number) })),
    ...pair(t("reference"), el("span", { id: "receipt-reference", class: "mono", text: r.reference })),
    ...pair(t("dossierCode"), r.dossier_code ? el("span", { id: "receipt-dossier", class: "mono", text: r.dossier_code }) : null),
    ...pair(t("description"), r.description),
    ...pair(t("amount"), el("strong", { id: "receipt-amount", "data-amount": r.amount, "data-testid": "receipt-amount", text: vnd(r.amount) })),
    ...pair(t("inWords"), el("span", { id: "receipt-words", text: vndWords(r.amount) })),
    ...pair(t("method"), el("span", { id: "receipt-method", "data-method": r.method, "data-testid": "receipt-method", text: methodLabel(r.method) })),
    ...pair(t("paidAt"), el("span", { id: "receipt-paid-at", text: when(r.paid_at) })),
    ...pair(t("issuedBy"), r.issued_by),
  );
}

async function start() {
  setupLang(render);
  $("print").addEventListener("click", () => window.print());
  const ref = new URLSearchParams(location.search).get("ref");
  if (!ref) {
    showError($("load-error"), t("needRef"));
  } else {
    try {
      receipt = await api("GET", `/api/v1/payments/${encodeURIComponent(ref)}/receipt`, undefined, { anonymous: true });
      render();
      $("receipt-title").focus();
    } catch (e) {
      showError($("load-error"), e.status === 404 ? t("notFound") : e.status === 409 ? t("receiptNotYet") : t("receiptFailed") + ": " + e.message);
    }
  }
  document.body.dataset.ready = "true";
}

start();
