// The civil-status registry page: the Justice office's digitised books. Registry clerks open
// books, import a book's CSV file (a dry run first shows every rejected line with its reasons; a
// file with any rejected line imports nothing), create records and act on them; district and
// ward officials search and view. A record opens beside the results (and at /registry#record=ID).
// Needs a staff session from the home page's login.

import {
  $, CHOICES, FIELDS, KINDS, MAIN_NAME, api, day, el, fieldLabel, hideError, isDateField, isIdField, isYearField,
  kindLabel, pair, setupLang, showError, statusBadge, t, today, unitName, valueText,
} from "./common.js";
import { openRecord, renderRecord, setupRecord, showRecord, shownId, refreshRecord } from "./record.js";

// Who may use the page; only clerks change the registry (the server decides what each may see).
const STAFF = ["registry_clerk", "district_official", "ward_official"];
const CLERKS = ["registry_clerk"];
const PAGE_SIZE = 50;

let me = null;
let clerk = false;
let books = [];
let units = [];
let report = null;
let importing = false;
// The last search: what was asked, what came back.
let query = null;
let results = [];
let total = 0;
let tookMs = 0;
let searchRun = 0;
let searched = false;

function gate(message) {
  $("gate-text").textContent = message;
  $("gate").hidden = false;
  $("staff-view").hidden = true;
}

const bookOf = (id) => books.find((b) => String(b.id) === String(id));
const bookText = (b) => [b.volume, kindLabel(b.kind), b.unit_name || b.unit].filter(Boolean).join(" · ");

// A select's options, keeping what was chosen when it is still there.
function fillSelect(select, first, options) {
  const chosen = select.value;
  select.replaceChildren(...(first ? [el("option", { value: "", text: first })] : []),
    ...options.map(([value, text]) => el("option", { value: String(value), text })));
  if (options.some(([value]) => String(value) === chosen)) select.value = chosen;
}

function renderSelects() {
  const kinds = KINDS.map((k) => [k, kindLabel(k)]);
  fillSelect($("s-kind"), t("allKinds"), kinds);
  fillSelect($("book-kind"), null, kinds);
  const bookOptions = books.map((b) => [b.id, bookText(b)]);
  fillSelect($("s-book"), t("allBooks"), bookOptions);
  fillSelect($("import-book"), t("chooseBook"), bookOptions);
  fillSelect($("nr-book"), t("chooseBook"), bookOptions);
  // Without the list of units, the caller's own.
  const unitOptions = units.length ? units.map((u) => [u.code, `${unitName(u)} (${u.code})`])
    : [...new Set((me ? me.grants : []).map((g) => g.jurisdiction))].map((code) => [code, code]);
  fillSelect($("book-unit"), null, unitOptions);
}

function renderBooks() {
  $("books-table").tBodies[0].replaceChildren(...books.map((b) =>
    el("tr", { "data-id": b.id, "data-volume": b.volume, "data-kind": b.kind },
      el("td", { class: "volume", text: b.volume }),
      el("td", { text: kindLabel(b.kind) }),
      el("td", { text: String(b.year) }),
      el("td", { text: b.unit_name ? `${b.unit_name} (${b.unit})` : b.unit }),
      el("td", { class: "records", "data-n": b.records, text: String(b.records) }))));
  $("books-empty").hidden = books.length > 0;
}

async function loadBooks() {
  try {
    books = await api("GET", "/api/v1/registry/books");
  } catch (e) {
    $("books-error").textContent = t("error") + ": " + e.message;
    $("books-error").hidden = false;
    return;
  }
  $("books-error").hidden = true;
  renderBooks();
  renderSelects();
  renderNewFields();
}

// The district and its wards, where books are registered.
async function loadUnits() {
  try {
    const all = await api("GET", "/api/v1/jurisdictions");
    units = all.filter((u) => u.kind === "district" || u.kind === "ward")
      .sort((a, b) => (a.kind === b.kind ? unitName(a).localeCompare(unitName(b), "vi", { numeric: true }) : a.kind === "district" ? -1 : 1));
  } catch (_) {
    units = [];
  }
  renderSelects();
  // The clerk's own unit first.
  const own = me.grants.map((g) => g.jurisdiction).find((code) => units.some((u) => u.code === code));
  if (own) $("book-unit").value = own;
}

// Opening a book.
async function openBook(ev) {
  ev.preventDefault();
  const volume = $("book-volume");
  const year = $("book-year");
  const unit = $("book-unit");
  const box = $("book-error");
  hideError(box, volume, year, unit);
  $("book-done").textContent = "";
  if (!volume.value.trim()) return showError(box, t("needVolume"), volume);
  const y = Number(year.value);
  if (!Number.isInteger(y) || y < 1900 || y > Number(today().slice(0, 4))) return showError(box, t("needYear"), year);
  if (!unit.value) return showError(box, t("needUnit"), unit);
  const body = { kind: $("book-kind").value, volume: volume.value.trim(), year: y, unit: unit.value };
  $("book-submit").disabled = true;
  let book;
  try {
    book = await api("POST", "/api/v1/registry/books", body);
  } catch (e) {
    const field = { volume, year, unit }[e.field];
    return showError(box, t("bookFailed") + ": " + e.message, field);
  } finally {
    $("book-submit").disabled = false;
  }
  books = [book, ...books.filter((b) => b.id !== book.id)];
  renderBooks();
  renderSelects();
  $("import-book").value = String(book.id);
  $("nr-book").value = String(book.id);
  renderNewFields();
  volume.value = "";
  $("book-done").textContent = t("bookOpened", { volume: book.volume });
}

// Import.

function renderReport() {
  const section = $("import-report");
  if (!report) {
    section.hidden = true;
    delete section.dataset.outcome;
    delete $("import-outcome").dataset.outcome;
    return;
  }
  const r = report;
  const rejected = [...(r.rejected || [])].sort((a, b) => a.line - b.line);
  const n = rejected.length;
  const outcome = r.dry_run ? (n ? "dry_run_rejected" : "dry_run") : r.applied && n === 0 ? "applied" : "rejected";
  section.hidden = false;
  section.dataset.outcome = outcome;
  section.dataset.dryRun = r.dry_run ? "true" : "false";
  const message = $("import-outcome");
  message.dataset.outcome = outcome;
  message.className = "outcome outcome-" + outcome;
  message.textContent = t("out_" + outcome, { n: outcome === "dry_run" ? r.added : n, added: r.added, unchanged: r.unchanged });
  const count = (id, value) => el("span", { id, "data-n": value, text: String(value) });
  $("import-counts").replaceChildren(
    ...pair(t("ir_mode"), el("span", { id: "ir-mode", text: r.dry_run ? t("mode_dry") : t("mode_real") })),
    ...pair(t("ir_rows"), count("ir-rows", r.rows)),
    ...pair(t("ir_added"), count("ir-added", r.added)),
    ...pair(t("ir_unchanged"), count("ir-unchanged", r.unchanged)),
    ...pair(t("ir_rejected"), count("ir-rejected", n)),
    ...pair(t("ir_took"), el("span", { id: "ir-took", text: `${Math.round(Number(r.took_ms) || 0)} ms` })),
  );
  $("rejected").hidden = n === 0;
  $("rejected-table").tBodies[0].replaceChildren(...rejected.map((row) =>
    el("tr", { "data-line": row.line },
      el("td", { class: "line", text: String(row.line) }),
      el("td", {}, el("ul", { class: "reasons" }, (row.reasons || []).map((reason) => el("li", { text: reason })))))));
}

async function runImport(dryRun) {
  if (importing) return;
  const select = $("import-book");
  const input = $("import-file");
  const box = $("import-error");
  hideError(box, select, input);
  if (!select.value) return showError(box, t("needBook"), select);
  const file = input.files && input.files[0];
  if (!file) return showError(box, t("needFile"), input);
  importing = true;
  for (const id of ["import-dry", "import-run"]) $(id).disabled = true;
  $("import-state").textContent = t("importing");
  report = null;
  renderReport();
  try {
    // The file's text (a byte-order mark dropped), sent as CSV.
    const text = await file.text();
    report = await api("POST", `/api/v1/registry/books/${encodeURIComponent(select.value)}/import?dry_run=${dryRun ? "true" : "false"}`,
      new Blob([text], { type: "text/csv" }), { headers: { "Content-Type": "text/csv" } });
  } catch (e) {
    // A refused file may still come with its report.
    if (e.data && Array.isArray(e.data.rejected)) report = e.data;
    else showError(box, t("importFailed") + ": " + e.message, input);
  } finally {
    importing = false;
    for (const id of ["import-dry", "import-run"]) $(id).disabled = false;
    $("import-state").textContent = "";
  }
  renderReport();
  if (report) $("import-outcome").focus();
  if (report && !report.dry_run) await loadBooks();
}

// Search.

function readQuery() {
  const box = $("search-error");
  const name = $("s-name"), entry = $("s-entry"), id = $("s-id"), from = $("s-from"), to = $("s-to");
  hideError(box, name, entry, id, from, to);
  const q = {};
  const text = (v) => v.trim() || undefined;
  q.name = text(name.value);
  q.kind = $("s-kind").value || undefined;
  q.event_from = from.value || undefined;
  q.event_to = to.value || undefined;
  if (q.event_from && q.event_to && q.event_from > q.event_to) return showError(box, t("badRange"), from);
  q.book_id = $("s-book").value ? Number($("s-book").value) : undefined;
  if (entry.value.trim()) {
    const n = Number(entry.value);
    if (!Number.isInteger(n) || n < 1) return showError(box, t("badEntry"), entry);
    q.entry = n;
  }
  q.parent = text($("s-parent").value);
  const digits = id.value.replace(/\s+/g, "");
  if (digits) {
    if (!/^\d{12}$/.test(digits)) return showError(box, t("badId"), id);
    q.id_number = digits;
  }
  for (const k of Object.keys(q)) if (q[k] === undefined) delete q[k];
  return q;
}

function resultRow(s) {
  const open = el("button", {
    type: "button", class: "link-button open-record", "aria-label": t("openRecord", { name: s.name }), text: s.name || "#" + s.id,
    onclick: () => openRecord(s.id).then(markShown),
  });
  return el("tr", { "data-id": s.id, "data-name": s.name, "data-status": s.status, "aria-current": String(shownId()) === String(s.id) ? "true" : null },
    el("td", { class: "name" }, open),
    el("td", { text: kindLabel(s.kind) }),
    el("td", { class: "nowrap event-date", text: day(s.event_date) }),
    el("td", { class: "place", text: s.place || "" }),
    el("td", { class: "book-ref", text: t("bookRef", { volume: s.volume, page: s.page, entry: s.entry }) }),
    el("td", {}, statusBadge(s.status)));
}

function renderResults() {
  $("results-table").tBodies[0].replaceChildren(...results.map(resultRow));
  $("results-empty").hidden = !searched || results.length > 0;
  $("results-more").hidden = results.length >= total;
  $("search-state").textContent = searched ? t("found", { n: total, ms: (Number(tookMs) || 0).toFixed(1) }) : "";
}

function markShown() {
  for (const tr of $("results-table").tBodies[0].rows) {
    if (String(tr.dataset.id) === String(shownId())) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
}

// Asks for the query's results from `offset`; `append` adds them to those shown.
async function search(q, { offset = 0, append = false, quiet = false } = {}) {
  const run = ++searchRun;
  if (!quiet) $("search-state").textContent = t("searching");
  let page;
  try {
    page = await api("POST", "/api/v1/registry/search", { ...q, limit: PAGE_SIZE, offset });
  } catch (e) {
    if (run !== searchRun) return;
    $("search-state").textContent = "";
    showError($("search-error"), t("searchFailed") + ": " + e.message, e.field === "id_number" ? $("s-id") : null);
    return;
  }
  if (run !== searchRun) return;
  query = q;
  results = append ? [...results, ...(page.items || [])] : page.items || [];
  total = page.total ?? results.length;
  tookMs = page.took_ms;
  searched = true;
  renderResults();
  const section = $("results");
  section.dataset.searches = String(Number(section.dataset.searches || 0) + 1);
}

function submitSearch(ev) {
  ev.preventDefault();
  const q = readQuery();
  if (q) search(q);
}

// A new record.

function newFieldControl(kind, name, value) {
  const id = "nr-f-" + name;
  const required = name === MAIN_NAME[kind];
  let control;
  if (CHOICES[name]) {
    control = el("select", { id, "data-field": name },
      el("option", { value: "", text: t("chooseValue") }),
      CHOICES[name].map((v) => el("option", { value: v, text: valueText(name, v) })));
  } else {
    control = el("input", {
      id, "data-field": name, autocomplete: "off", maxlength: isIdField(name) ? "12" : isYearField(name) ? "4" : "300",
      type: isDateField(name) ? "date" : "text",
      inputmode: isIdField(name) || isYearField(name) ? "numeric" : null,
    });
  }
  control.value = value || "";
  return el("div", { class: "field" },
    el("label", { for: id }, el("span", { text: fieldLabel(name) }), required ? el("span", { class: "muted", text: " " + t("required") }) : null),
    control);
}

// The particulars of the chosen book's kind, keeping what was typed.
function renderNewFields() {
  const box = $("nr-fields");
  const typed = {};
  for (const c of box.querySelectorAll("[data-field]")) typed[c.dataset.field] = c.value;
  const book = bookOf($("nr-book").value);
  const kind = book ? book.kind : null;
  if (box.dataset.kind && box.dataset.kind !== kind) for (const k of Object.keys(typed)) delete typed[k];
  box.dataset.kind = kind || "";
  $("nr-pick").hidden = Boolean(kind);
  box.replaceChildren(...(kind ? FIELDS[kind].map((name) => newFieldControl(kind, name, typed[name])) : []));
}

async function createRecord(ev) {
  ev.preventDefault();
  const box = $("record-form-error");
  const page = $("nr-page"), entry = $("nr-entry"), registered = $("nr-registered");
  const controls = [...$("nr-fields").querySelectorAll("[data-field]")];
  hideError(box, page, entry, registered, $("nr-book"), ...controls);
  $("record-form-done").textContent = "";
  const book = bookOf($("nr-book").value);
  if (!book) return showError(box, t("needBook"), $("nr-book"));
  const p = Number(page.value), n = Number(entry.value);
  if (!Number.isInteger(p) || p < 1) return showError(box, t("needPage"), page);
  if (!Number.isInteger(n) || n < 1) return showError(box, t("needEntry"), entry);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(registered.value)) return showError(box, t("needRegistered"), registered);
  const fields = {};
  for (const c of controls) {
    const v = c.value.trim();
    if (!v) continue;
    if (isIdField(c.dataset.field) && !/^\d{12}$/.test(v)) return showError(box, t("badId"), c);
    fields[c.dataset.field] = v;
  }
  const main = MAIN_NAME[book.kind];
  if (!fields[main]) return showError(box, t("needMainName"), $("nr-f-" + main));
  $("record-submit").disabled = true;
  let record;
  try {
    record = await api("POST", "/api/v1/registry/records", { book_id: book.id, page: p, entry: n, registered_on: registered.value, fields });
  } catch (e) {
    const field = e.field ? { page, entry, registered_on: registered }[e.field] || $("nr-f-" + String(e.field).replace(/^fields\./, "")) : null;
    return showError(box, t("recordFailed") + ": " + e.message, field);
  } finally {
    $("record-submit").disabled = false;
  }
  for (const c of controls) c.value = "";
  entry.value = "";
  $("record-form-done").textContent = t("recordCreated", { id: record.id });
  showRecord(record);
  changed();
}

// After an action on a record: its line in the results and the books' counts may have changed.
function changed() {
  if (query) search(query, { quiet: true });
  loadBooks();
}

function openFromHash() {
  const id = new URLSearchParams(location.hash.slice(1)).get("record");
  if (id && String(id) !== String(shownId())) openRecord(id, { focus: false });
}

function redraw() {
  renderSelects();
  renderBooks();
  renderReport();
  renderResults();
  renderNewFields();
  renderRecord();
}

async function start() {
  setupLang(redraw);
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    return gate(e.status === 401 ? t("loginFirst") : t("error") + ": " + e.message);
  }
  if (!me.grants.some((g) => STAFF.includes(g.role))) return gate(t("notStaff"));
  clerk = me.grants.some((g) => CLERKS.includes(g.role));
  $("who").textContent = me.display_name;
  $("staff-view").hidden = false;
  $("view-only").hidden = clerk;
  for (const e of document.querySelectorAll(".clerk-only")) e.hidden = !clerk;
  $("book-year").value = today().slice(0, 4);
  $("book-year").max = today().slice(0, 4);
  $("nr-registered").value = today();
  renderSelects();
  setupRecord({ me, clerk, changed });
  $("search-form").addEventListener("submit", submitSearch);
  $("search-clear").addEventListener("click", () => {
    for (const id of ["s-name", "s-kind", "s-book", "s-entry", "s-from", "s-to", "s-parent", "s-id"]) $(id).value = "";
    hideError($("search-error"));
    $("s-name").focus();
  });
  $("results-more").addEventListener("click", () => {
    if (query) search(query, { offset: results.length, append: true });
  });
  $("book-form").addEventListener("submit", openBook);
  $("import-form").addEventListener("submit", (ev) => ev.preventDefault());
  $("import-dry").addEventListener("click", () => runImport(true));
  $("import-run").addEventListener("click", () => runImport(false));
  $("record-form").addEventListener("submit", createRecord);
  $("nr-book").addEventListener("change", renderNewFields);
  window.addEventListener("hashchange", openFromHash);
  // Coming back to the tab: others may have changed things.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshRecord();
  });
  await Promise.all([loadBooks(), loadUnits()]);
  openFromHash();
  document.body.dataset.ready = "true";
}

start();
