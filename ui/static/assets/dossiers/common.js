// What the dossier pages share: the helpers of every page with the dossier words added, and how
// dossier statuses, actions, procedures and document files are shown.

import { addText, currentLang, day, el, t, when } from "../common.js";
import { TEXT } from "./text.js";

addText(TEXT);

export { $, api, currentLang, day, el, hideError, pair, setupLang, showError, size, t, today, unitName, vnd, when } from "../common.js";

export const STATUSES = ["received", "supplement_requested", "in_process", "result_ready", "returned", "refused"];

// The status words; a status this page does not know is shown as it came.
export const statusLabel = (s) => (STATUSES.includes(s) ? t("st_" + s) : s);
export const statusBadge = (s) => el("span", { class: "status status-" + s, "data-status": s, text: statusLabel(s) });

const known = (key) => t(key) !== key;
export const actionLabel = (a) => (known("ac_" + a) ? t("ac_" + a) : a);

// A procedure's (or ward's) name in the current language, from {name_vi, name_en} or {name}.
export const nameOf = (x) => (x ? (currentLang() === "en" && x.name_en) || x.name_vi || x.name || x.code || "" : "");

// The files a citizen may attach.
export const DOC_TYPES = ["application/pdf", "image/jpeg", "image/png"];
export const DOC_ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png";

export function docTypeOk(file) {
  return DOC_TYPES.includes(file.type) || /\.(pdf|jpe?g|png)$/i.test(file.name);
}

// The pay page for a dossier's fee.
export const payHref = (code) => "/pay#dossier=" + encodeURIComponent(code);
export const trackHref = (code) => "/dossier#code=" + encodeURIComponent(code);

// One history entry: when, what, the status it left, who (staff only) and its note.
export function historyItem(u, { staff = false } = {}) {
  const internal = staff && u.public === false;
  return el("li", { class: internal ? "internal" : "", "data-action": u.action, "data-status": u.status || "" },
    el("div", { class: "when" }, el("time", { datetime: u.at, text: when(u.at) })),
    el("div", {},
      el("strong", { class: "action", text: actionLabel(u.action) }), " ",
      u.status ? statusBadge(u.status) : null, " ",
      internal ? el("span", { class: "badge internal-badge", text: t("internal") }) : null, " ",
      staff && u.actor ? el("span", { class: "muted", text: "· " + t("by", { who: u.actor }) }) : null,
      staff && u.step_due ? el("span", { class: "muted step-due", text: " · " + t("stepDue", { d: day(u.step_due) }) }) : null,
      u.note ? el("p", { class: "update-note", text: u.note }) : null),
  );
}
