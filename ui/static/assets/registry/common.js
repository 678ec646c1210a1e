// What the registry pages share: the helpers of every page with the registry words added; the
// kinds, statuses and actions of records; the particulars of each kind with their labels and how
// their values are written; and a QR code's SVG markup made safe to insert.

import { addText, currentLang, day, el, t } from "../common.js";
import { LABELS, TEXT } from "./text.js";

addText(TEXT);

export { $, ApiError, api, currentLang, day, el, hideError, pair, setupLang, showError, t, today, unitName, when } from "../common.js";

export const KINDS = ["birth", "marriage", "death", "recognition"];
export const STATUSES = ["draft", "declared", "registered", "certified", "corrected", "archived"];
export const NOTE_KINDS = ["change_of_name", "divorce", "court_decision", "other"];

// The particulars of each kind, in the order of the books' forms.
export const FIELDS = {
  birth: [
    "child_name", "sex", "birth_date", "birth_place", "native_place", "ethnicity", "nationality", "id_number",
    "father_name", "father_birth_year", "father_ethnicity", "father_nationality", "father_residence",
    "mother_name", "mother_birth_year", "mother_ethnicity", "mother_nationality", "mother_residence",
  ],
  marriage: [
    "husband_name", "husband_birth_date", "husband_ethnicity", "husband_nationality", "husband_residence", "husband_id_number",
    "wife_name", "wife_birth_date", "wife_ethnicity", "wife_nationality", "wife_residence", "wife_id_number",
    "marriage_date",
  ],
  death: ["deceased_name", "sex", "birth_date", "ethnicity", "nationality", "id_number", "death_date", "death_place", "cause"],
  recognition: [
    "recognition_type", "recognizer_name", "recognizer_birth_date", "recognizer_id_number", "recognizer_residence",
    "recognized_name", "recognized_birth_date", "recognized_id_number", "recognized_residence", "recognition_date",
  ],
};

// The particular that names the person a record is about (required on a new record).
export const MAIN_NAME = { birth: "child_name", marriage: "husband_name", death: "deceased_name", recognition: "recognized_name" };

// Particulars with a fixed set of values.
export const CHOICES = { sex: ["male", "female"], recognition_type: ["father", "mother", "child"] };
const CHOICE_PREFIX = { sex: "sex_", recognition_type: "rt_" };

const known = (key) => t(key) !== key;
export const kindLabel = (k) => (known("kind_" + k) ? t("kind_" + k) : k || "");
export const statusLabel = (s) => (STATUSES.includes(s) ? t("st_" + s) : s || "");
export const statusBadge = (s) => el("span", { class: "status reg-" + s, "data-status": s, text: statusLabel(s) });
export const actionLabel = (a) => (known("ac_" + a) ? t("ac_" + a) : a || "");
export const noteLabel = (n) => (NOTE_KINDS.includes(n) ? t("note_" + n) : n || "");

// A particular's name in the current language; one this page does not know is shown as named.
export const fieldLabel = (name) => LABELS[currentLang()][name] ?? LABELS.vi[name] ?? name;

export const isDateField = (name) => name.endsWith("_date") || name === "registered_on";
export const isIdField = (name) => name === "id_number" || name.endsWith("_id_number");
export const isYearField = (name) => name.endsWith("_birth_year");

// A particular's value as written for people: sexes and kinds of recognition in words, dates as
// dd/mm/yyyy; lists and nested objects (an extract's notes, say) spelled out.
export function valueText(name, value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => valueText(name, v)).filter(Boolean).join("; ");
  if (typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${fieldLabel(k)}: ${valueText(k, v)}`)
      .join(", ");
  }
  const s = String(value);
  if (CHOICES[name] && CHOICES[name].includes(s)) return t(CHOICE_PREFIX[name] + s);
  if (isDateField(name) && /^\d{4}-\d{2}-\d{2}$/.test(s)) return day(s);
  if (name === "note_kind") return noteLabel(s);
  return s;
}

// A record's (or extract's) particulars in order: the kind's own first, then any others as they
// came.
export function orderedFields(kind, fields) {
  const own = FIELDS[kind] || [];
  const names = Object.keys(fields || {});
  return [...own.filter((n) => names.includes(n)), ...names.filter((n) => !own.includes(n))];
}

// The particulars as <dt>/<dd> pairs, each <dd> marked with its field; empty ones left out.
export function fieldPairs(kind, fields) {
  return orderedFields(kind, fields).flatMap((name) => {
    const text = valueText(name, fields[name]);
    if (text === "") return [];
    return [el("dt", { text: fieldLabel(name) }), el("dd", { "data-field": name, text })];
  });
}

export const recordHref = (id) => "/registry#record=" + encodeURIComponent(id);
export const extractHref = (id) => "/extract#id=" + encodeURIComponent(id);

// A QR code from the server's SVG markup, as elements of this page: only shapes are kept (no
// scripts, styles, event handlers or outside links: the page's policy allows none inline).
export function svgFrom(markup, label) {
  if (typeof markup !== "string" || !markup) return null;
  // Styles and event handlers go before parsing: the parsed document shares this page's
  // policy, which would refuse them (and say so in the console).
  const plain = markup.replace(/<style[\s\S]*?<\/style>/gi, "")
    .replace(/\s(style|on[a-z]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>/]+)/gi, "");
  const doc = new DOMParser().parseFromString(plain, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
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
  svg.setAttribute("aria-label", label);
  svg.setAttribute("shape-rendering", "crispEdges");
  return document.importNode(svg, true);
}
