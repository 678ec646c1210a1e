// The certified extract, laid out to be printed (/extract#id=EXTRACT_ID): the kind's title, the
// particulars it shows (ID numbers masked by the server), when and by whom it was issued, and
// the QR code of the public page that confirms it, with that page's address written out.
// Printing leaves the site's header and the print button out.

import { $, api, day, el, fieldLabel, fieldPairs, pair, setupLang, showError, svgFrom, t, valueText, when } from "./common.js";

const TITLES = ["birth", "marriage", "death", "recognition"];

let extract = null;

const extractId = () => new URLSearchParams(location.hash.slice(1)).get("id");

// What an extract carries besides its particulars (shown in its heading), and what it carries
// for machines only.
const PLACE = ["volume", "page", "entry", "registered_on", "unit_name"];
const HIDDEN = ["kind", "unit", "fields"];

function render() {
  if (!extract) return;
  const x = extract;
  const content = x.content && typeof x.content === "object" ? x.content : {};
  // The particulars: under `fields`, or (from an older server) the content itself.
  const nested = content.fields && typeof content.fields === "object" && !Array.isArray(content.fields);
  const particulars = nested ? content.fields : Object.fromEntries(Object.entries(content).filter(([k]) => !PLACE.includes(k) && !HIDDEN.includes(k)));
  // Anything else the extract says, after the particulars.
  const others = nested ? Object.fromEntries(Object.entries(content).filter(([k]) => !PLACE.includes(k) && !HIDDEN.includes(k))) : {};
  $("extract").hidden = false;
  $("extract").dataset.id = x.id;
  $("extract").dataset.kind = x.kind;
  $("extract").dataset.recordId = x.record_id;
  $("extract-unit").textContent = content.unit_name || "";
  $("extract-title").textContent = t(TITLES.includes(x.kind) ? "ex_" + x.kind : "ex_other");
  const plain = (v) => (v === undefined || v === null ? "" : String(v));
  $("extract-meta").replaceChildren(
    ...pair(t("ex_number"), el("span", { id: "extract-id", class: "mono", text: x.id })),
    ...pair(fieldLabel("unit_name"), plain(content.unit_name) ? el("span", { id: "extract-place", text: plain(content.unit_name) }) : null),
    ...pair(fieldLabel("volume"), plain(content.volume) ? el("span", { id: "extract-volume", text: plain(content.volume) }) : null),
    ...pair(fieldLabel("page"), plain(content.page) ? el("span", { id: "extract-page", text: plain(content.page) }) : null),
    ...pair(fieldLabel("entry"), plain(content.entry) ? el("span", { id: "extract-entry", text: plain(content.entry) }) : null),
    ...pair(fieldLabel("registered_on"), plain(content.registered_on) ? el("span", { id: "extract-registered", text: valueText("registered_on", content.registered_on) }) : null),
    ...pair(t("ex_record"), el("span", { id: "extract-record", text: String(x.record_id) })),
  );
  $("extract-content").replaceChildren(...fieldPairs(x.kind, particulars), ...fieldPairs(x.kind, others));
  $("extract-issue").replaceChildren(
    ...pair(t("issuedAt"), el("time", { id: "extract-issued-at", datetime: x.issued_at, title: when(x.issued_at), text: day(x.issued_at) })),
    ...pair(t("issuedBy"), el("span", { id: "extract-issuer", text: x.issued_by || "" })),
  );
  const svg = $("extract-qr").querySelector("svg");
  if (svg) svg.setAttribute("aria-label", t("qrLabel"));
  // The address the QR code carries, in full.
  let url = x.verify_url || "";
  try {
    url = new URL(url, location.origin).href;
  } catch (_) {
    // Shown as it came.
  }
  $("verify-url").href = url;
  $("verify-url").textContent = url;
}

async function load() {
  const id = extractId();
  extract = null;
  $("extract").hidden = true;
  if (!id) {
    showError($("load-error"), t("needExtractId"));
    return;
  }
  try {
    extract = await api("GET", `/api/v1/registry/extracts/${encodeURIComponent(id)}`);
  } catch (e) {
    showError($("load-error"), e.status === 404 ? t("extractNotFound")
      : e.status === 401 || e.status === 403 ? t("loginForExtract") : t("extractLoadFailed") + ": " + e.message);
    return;
  }
  $("load-error").hidden = true;
  const svg = svgFrom(extract.qr_svg, t("qrLabel"));
  $("extract-qr").replaceChildren(...(svg ? [svg] : []));
  render();
  $("extract-title").focus();
}

async function start() {
  setupLang(render);
  $("print").addEventListener("click", () => window.print());
  window.addEventListener("hashchange", load);
  await load();
  document.body.dataset.ready = "true";
}

start();
