// The civil-status registry through its pages: the registry clerk opens a birth book for Phường 1,
// dry-runs a digitised book's CSV file with one bad line (shown with its reasons; nothing
// imported), is refused the import of that file as a whole, imports the fixed file, and imports
// it again to no effect; finds a child by a name typed without accents and by a near spelling,
// takes the record, corrects the place of birth with its reason and supporting document (the
// history shows before and after), issues a certified extract and prints it; the extract's QR
// page confirms it to anyone, and refuses a tampered address. The district official may search
// and view, with ID numbers masked, and no actions.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import { BASE, demoAccounts, launch, until } from "./lib.js";

const WARD = "27211"; // Phường 1
const WARD_NAME = "Phường 1";
const CLERK = "registry.clerk";
const OFFICIAL = "district.official";
const OUR_PAGES = ["/registry", "/extract"];

const HEADER = [
  "page", "entry", "registered_on", "child_name", "sex", "birth_date", "birth_place", "native_place", "ethnicity",
  "nationality", "id_number", "father_name", "father_birth_year", "father_ethnicity", "father_nationality",
  "father_residence", "mother_name", "mother_birth_year", "mother_ethnicity", "mother_nationality", "mother_residence",
];

// This run's ID numbers: the province (079, Hồ Chí Minh City), century and sex (2 male, 3 female,
// born 2000–2099), the year of birth (24), then six digits of which this run picks four.
const RUN = String(randomInt(0, 10_000)).padStart(4, "0");
const idNumber = (sex, n) => `079${sex === "male" ? 2 : 3}24${RUN}${String(n).padStart(2, "0")}`;

const OLD_PLACE = "Bệnh viện Hùng Vương, Quận 5, Thành phố Hồ Chí Minh";
const NEW_PLACE = "Bệnh viện Từ Dũ, Quận 1, Thành phố Hồ Chí Minh";
const AN = "Nguyễn Văn An";

// Five births of the book, in the order of its pages.
function births() {
  const parents = (father, mother) => ({
    father_name: father, father_birth_year: "1992", father_ethnicity: "Kinh", father_nationality: "Việt Nam",
    father_residence: "25 Đường 3 Tháng 2, Phường 1, Quận 10, Thành phố Hồ Chí Minh",
    mother_name: mother, mother_birth_year: "1995", mother_ethnicity: "Kinh", mother_nationality: "Việt Nam",
    mother_residence: "25 Đường 3 Tháng 2, Phường 1, Quận 10, Thành phố Hồ Chí Minh",
  });
  const common = { native_place: "Quận 10, Thành phố Hồ Chí Minh", ethnicity: "Kinh", nationality: "Việt Nam" };
  return [
    { page: 1, entry: 1, registered_on: "2024-01-22", child_name: AN, sex: "male", birth_date: "2024-01-15", birth_place: OLD_PLACE, ...common, id_number: idNumber("male", 1), ...parents("Nguyễn Văn Bình", "Lê Thị Cúc") },
    { page: 1, entry: 2, registered_on: "2024-02-05", child_name: "Trần Thị Bích", sex: "female", birth_date: "2024-01-28", birth_place: "Bệnh viện Nhân dân 115, Quận 10", ...common, id_number: idNumber("female", 2), ...parents("Trần Văn Dũng", "Phạm Thị Hoa") },
    { page: 2, entry: 3, registered_on: "2024-03-11", child_name: "Lê Hoàng Phúc", sex: "male", birth_date: "2024-03-02", birth_place: "Bệnh viện Từ Dũ, Quận 1", ...common, id_number: idNumber("male", 3), ...parents("Lê Hoàng Long", "Võ Thị Mai") },
    { page: 2, entry: 4, registered_on: "2024-04-08", child_name: "Phạm Minh Châu", sex: "female", birth_date: "2024-03-30", birth_place: "Bệnh viện Hùng Vương, Quận 5", ...common, id_number: idNumber("female", 4), ...parents("Phạm Minh Tuấn", "Đặng Thị Thu") },
    { page: 3, entry: 5, registered_on: "2024-05-20", child_name: "Võ Thị Hồng", sex: "female", birth_date: "2024-05-12", birth_place: "Trạm Y tế Phường 1, Quận 10", ...common, id_number: "", ...parents("Võ Văn Sơn", "Huỳnh Thị Lan") },
  ];
}

// A CSV file (RFC 4180: fields with commas or quotes are quoted).
function csv(rows) {
  const cell = (v) => {
    const s = String(v ?? "");
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [HEADER.join(","), ...rows.map((r) => HEADER.map((h) => cell(r[h])).join(","))].join("\r\n") + "\r\n";
}

let browser;
let dir;
const problems = [];

before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), "q10-registry-"));
});
after(async () => {
  if (browser) await browser.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Records console errors (CSP violations among them) and uncaught exceptions of our pages.
function watch(page, who) {
  const onOurPage = () => OUR_PAGES.includes(new URL(page.url()).pathname);
  page.on("console", (m) => {
    if (m.type() === "error" && onOurPage()) problems.push(`[${who}] ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`[${who}] ${page.url()}: ${e.message}`));
}

async function newContext() {
  return browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 900 } });
}

const text = async (page, selector) => (await page.locator(selector).innerText()).trim();

// A day as dd/mm/yyyy in the district.
function ddmmyyyy(iso) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" })
    .formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year}`;
}

// Logs a demo account in on the home page and follows its staff link.
async function login(username, link, path) {
  const account = demoAccounts().find((a) => a.username === username);
  assert.ok(account, `demo account ${username}`);
  const page = await (await newContext()).newPage();
  watch(page, username);
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator(link).waitFor({ state: "visible" });
  assert.equal((await page.locator(link).innerText()).trim(), "Hộ tịch");
  await page.locator(link).click();
  await page.waitForURL((url) => url.pathname === path);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  return page;
}

// Runs an import (dry or not) of `file` into the chosen book and waits for its report.
async function runImport(page, file, dryRun, outcome) {
  await page.locator("#import-file").setInputFiles(file);
  await page.locator(dryRun ? "#import-dry" : "#import-run").click();
  await until(`the ${dryRun ? "dry run's" : "import's"} report`, async () => {
    const seen = await page.locator("#import-report").getAttribute("data-outcome");
    const error = await page.locator("#import-error").isVisible() ? await text(page, "#import-error") : null;
    if (error) throw new Error(error);
    return seen === outcome ? seen : false;
  });
  const n = async (id) => Number(await page.locator(id).getAttribute("data-n"));
  return {
    rows: await n("#ir-rows"), added: await n("#ir-added"), unchanged: await n("#ir-unchanged"), rejected: await n("#ir-rejected"),
    outcome: await text(page, "#import-outcome"),
    lines: await page.locator("#rejected-table tbody tr").evaluateAll((rows) => rows.map((r) => ({
      line: Number(r.dataset.line), reasons: [...r.querySelectorAll(".reasons li")].map((li) => li.textContent.trim()),
    }))),
  };
}

// Searches with the form filled by `fill`; returns the rows found.
async function search(page, fill) {
  const before = Number(await page.locator("#results").getAttribute("data-searches"));
  await page.locator("#search-clear").click();
  await fill();
  await page.locator("#search-submit").click();
  await until("the search's results", async () => {
    if (await page.locator("#search-error").isVisible()) throw new Error(await text(page, "#search-error"));
    return Number(await page.locator("#results").getAttribute("data-searches")) > before;
  });
  return page.locator("#results-table tbody tr").evaluateAll((rows) => rows.map((r) => ({
    id: r.dataset.id, name: r.dataset.name, status: r.dataset.status,
    cells: [...r.cells].map((c) => c.innerText.trim()),
  })));
}

const recordsOf = (page, volume) => page.locator(`#books-table tbody tr[data-volume="${volume}"] td.records`).innerText();

// The history entries of the record shown, by action.
const historyCount = (page, action) => page.locator(`#r-history > li[data-action="${action}"]`).count();

// One character of the token changed for another of the same sort.
function tamper(url) {
  const u = new URL(url);
  const parts = u.pathname.split("/");
  const token = parts.pop();
  const i = Math.floor(token.length / 2);
  const c = token[i];
  const other = /[0-9]/.test(c) ? (c === "0" ? "1" : "0") : /[a-z]/.test(c) ? (c === "a" ? "b" : "a") : c === "A" ? "B" : "A";
  parts.push(token.slice(0, i) + other + token.slice(i + 1));
  u.pathname = parts.join("/");
  assert.notEqual(u.href, url);
  return u.href;
}

test("a registry clerk imports a birth book, finds, corrects and certifies a record; its QR page confirms the extract", async () => {
  const rows = births();
  const goodFile = join(dir, "book.csv");
  writeFileSync(goodFile, csv(rows));
  // Line 4 (the third row): a sex that is neither male nor female and a day that does not exist.
  const badFile = join(dir, "book-bad.csv");
  writeFileSync(badFile, csv(rows.map((r, i) => (i === 2 ? { ...r, sex: "x", birth_date: "2024-02-30" } : r))));

  // (a) The clerk opens a birth book for Phường 1.
  const clerk = await login(CLERK, "#registry-link", "/registry");
  assert.equal(await clerk.locator("html").getAttribute("lang"), "vi");
  assert.equal(await text(clerk, "header h1 span"), "Sổ hộ tịch");
  assert.ok(await clerk.locator("#book-form").isVisible(), "a clerk opens books");
  assert.ok(await clerk.locator("#import-form").isVisible(), "and imports them");
  assert.ok(await clerk.locator("#view-only").isHidden());
  assert.equal(await clerk.locator("#s-name").getAttribute("placeholder"), "Nguyen Van A");
  assert.equal(await clerk.locator(`#book-unit option[value="${WARD}"]`).innerText(), `${WARD_NAME} (${WARD})`);
  const volume = `T-${RUN}${randomInt(0, 1000)}/2024`;
  await clerk.locator("#book-kind").selectOption("birth");
  await clerk.locator("#book-volume").fill("");
  await clerk.locator("#book-submit").click();
  await clerk.locator("#book-error").waitFor({ state: "visible" });
  assert.equal(await text(clerk, "#book-error"), "Hãy ghi quyển số.");
  assert.equal(await clerk.locator("#book-volume").getAttribute("aria-invalid"), "true");
  await clerk.locator("#book-volume").fill(volume);
  await clerk.locator("#book-year").fill("2024");
  await clerk.locator("#book-unit").selectOption(WARD);
  await clerk.locator("#book-submit").click();
  await until("the book to be opened", async () => (await text(clerk, "#book-done")) === `Đã mở quyển sổ ${volume}.`);
  assert.ok(await clerk.locator("#book-error").isHidden());
  const bookRow = clerk.locator(`#books-table tbody tr[data-volume="${volume}"]`);
  const bookId = await bookRow.getAttribute("data-id");
  assert.match(bookId, /^\d+$/);
  assert.equal(await bookRow.getAttribute("data-kind"), "birth");
  assert.equal(await recordsOf(clerk, volume), "0");
  assert.match(await bookRow.innerText(), new RegExp(`Khai sinh[\\s\\S]*2024[\\s\\S]*${WARD_NAME}`));
  assert.equal(await clerk.locator("#import-book").inputValue(), bookId, "the new book is chosen for the import");

  // (b) A dry run of the file with a bad line: the line and its reasons, nothing imported.
  let report = await runImport(clerk, badFile, true, "dry_run_rejected");
  assert.equal(report.rows, 5);
  assert.equal(report.rejected, 1);
  assert.deepEqual(report.lines.map((l) => l.line), [4], "the third row is line 4 of the file");
  const reasons = report.lines[0].reasons.join(" | ");
  for (const f of ["sex", "birth_date"]) assert.ok(reasons.includes(f), `the reasons name ${f}: ${reasons}`);
  assert.ok(report.lines[0].reasons.every((r) => r.length > 0));
  assert.match(report.outcome, /^Chạy thử: có 1 dòng bị từ chối\. Nếu nhập tệp này, sẽ không bản ghi nào được nhập\.$/);
  assert.equal(await text(clerk, "#ir-mode"), "Chạy thử");
  assert.equal(await recordsOf(clerk, volume), "0");

  // The same file imported for real: all or nothing, so nothing.
  report = await runImport(clerk, badFile, false, "rejected");
  assert.deepEqual(report.lines.map((l) => l.line), [4]);
  assert.match(report.outcome, /^Không nhập bản ghi nào: có 1 dòng bị từ chối\./);
  assert.equal(await text(clerk, "#ir-mode"), "Nhập thật");
  await clerk.locator("#import-outcome.outcome-rejected").waitFor({ state: "visible" });

  // (c) The fixed file: five records added; again: none added, five unchanged.
  report = await runImport(clerk, goodFile, false, "applied");
  assert.deepEqual([report.rows, report.added, report.unchanged, report.rejected], [5, 5, 0, 0], JSON.stringify(report));
  assert.equal(report.outcome, "Đã nhập 5 bản ghi mới; 0 bản ghi đã có được giữ nguyên.");
  assert.ok(await clerk.locator("#rejected").isHidden(), "no rejected lines");
  await until("the book to count its records", async () => (await recordsOf(clerk, volume)) === "5");
  report = await runImport(clerk, goodFile, false, "applied");
  assert.deepEqual([report.rows, report.added, report.unchanged, report.rejected], [5, 0, 5, 0], JSON.stringify(report));
  assert.equal(await recordsOf(clerk, volume), "5");

  // (d) A name typed without accents, and a near spelling, find the child.
  let found = await search(clerk, async () => {
    await clerk.locator("#s-name").fill("nguyen van an");
    await clerk.locator("#s-book").selectOption(bookId);
  });
  assert.ok(found.some((r) => r.name === AN), `"nguyen van an" finds ${AN}: ${JSON.stringify(found)}`);
  assert.ok(!found.some((r) => r.name === "Trần Thị Bích"), "and not everyone");
  assert.match(await text(clerk, "#search-state"), /^\d+ kết quả · \d+\.\d ms$/);
  const an = found.find((r) => r.name === AN);
  assert.equal(an.status, "registered", "imported records are registered as they stood in the book");
  // Name, kind, date of the event, place (not checked: the server says which), book, status.
  assert.deepEqual([...an.cells.slice(0, 3), ...an.cells.slice(4)], [AN, "Khai sinh", "15/01/2024", `Quyển ${volume}, trang 1, số 1`, "Đã đăng ký"]);
  found = await search(clerk, async () => {
    await clerk.locator("#s-name").fill("Nguyen Van Ann");
    await clerk.locator("#s-book").selectOption(bookId);
  });
  assert.ok(found.some((r) => r.id === an.id), `"Nguyen Van Ann" finds ${AN} too: ${JSON.stringify(found)}`);
  // A whole ID number finds its record, and only it.
  found = await search(clerk, async () => {
    await clerk.locator("#s-id").fill(rows[1].id_number);
  });
  assert.deepEqual(found.map((r) => r.name), ["Trần Thị Bích"]);
  found = await search(clerk, async () => {
    await clerk.locator("#s-name").fill("Nguyen Van An");
    await clerk.locator("#s-book").selectOption(bookId);
  });
  assert.ok(found.some((r) => r.id === an.id));

  // (e) The record: its particulars, taken by the clerk.
  await clerk.locator(`#results-table tbody tr[data-id="${an.id}"] .open-record`).click();
  const body = clerk.locator(`#record-body[data-id="${an.id}"]`);
  await body.waitFor({ state: "visible" });
  assert.equal(new URL(clerk.url()).hash, `#record=${an.id}`);
  const field = (name) => text(clerk, `#r-fields dd[data-field="${name}"]`);
  assert.equal(await field("child_name"), AN);
  assert.equal(await field("sex"), "Nam");
  assert.equal(await field("birth_date"), "15/01/2024");
  assert.equal(await field("birth_place"), OLD_PLACE);
  assert.equal(await field("father_name"), "Nguyễn Văn Bình");
  assert.equal(await field("mother_name"), "Lê Thị Cúc");
  assert.ok((await field("id_number")).endsWith(rows[0].id_number.slice(-4)), "the ID number (maybe masked) ends as it should");
  assert.equal(await text(clerk, "#r-volume"), volume);
  assert.equal(await clerk.locator("#r-unit").getAttribute("data-unit"), WARD);
  assert.equal(await text(clerk, "#r-registered"), "22/01/2024");
  assert.equal(await text(clerk, "#r-status .status"), "Đã đăng ký");
  assert.ok(await clerk.locator("#r-duplicate").isHidden(), "no duplicate flagged");
  assert.ok(await historyCount(clerk, "import") >= 1, "the history starts with the import");
  assert.ok(await clerk.locator('[data-testid="do-declare"]').isHidden(), "a registered record is not declared again");
  assert.ok(await clerk.locator("#assign-hint").isVisible(), "the clerk is told to take the record first");
  await clerk.locator('[data-testid="do-assign"]').click();
  await until("the record to be taken", async () => (await text(clerk, "#action-done")) === "Đã lưu: Nhận xử lý.");
  assert.match(await text(clerk, "#r-assignee"), /registry\.clerk|Công chức Hộ tịch/);
  assert.equal(await historyCount(clerk, "assign"), 1);
  assert.ok(await clerk.locator("#assign-hint").isHidden());
  assert.ok(await clerk.locator('[data-testid="do-assign"]').isHidden(), "taken once");

  // (f) A correction of the place of birth needs its supporting document, then shows before and after.
  await clerk.locator("#correct-field").selectOption("birth_place");
  assert.equal(await clerk.locator("#correct-value").inputValue(), OLD_PLACE, "the current value to edit");
  await clerk.locator("#correct-value").fill(NEW_PLACE);
  const reason = "Ghi sai nơi sinh khi số hóa sổ; đối chiếu giấy chứng sinh.";
  const documentRef = "Quyết định số 125/QĐ-UBND ngày 02/05/2024 của UBND Phường 1";
  await clerk.locator("#correct-reason").fill(reason);
  await clerk.locator("#correct-submit").click();
  await clerk.locator("#correct-error").waitFor({ state: "visible" });
  assert.equal(await text(clerk, "#correct-error"), "Hãy ghi văn bản làm căn cứ.");
  assert.equal(await field("birth_place"), OLD_PLACE, "nothing changed");
  assert.equal(await historyCount(clerk, "correct"), 0);
  await clerk.locator("#correct-doc").fill(documentRef);
  await clerk.locator("#correct-submit").click();
  await until("the correction to be saved", async () => (await text(clerk, "#action-done")) === "Đã lưu: Cải chính.");
  assert.ok(await clerk.locator("#correct-error").isHidden());
  assert.equal(await field("birth_place"), NEW_PLACE);
  assert.equal(await field("child_name"), AN, "the other particulars stay");
  assert.equal(await text(clerk, "#r-status .status"), "Đã cải chính");
  assert.equal(await historyCount(clerk, "correct"), 1);
  const correction = clerk.locator('#r-history > li[data-action="correct"]');
  assert.equal(await correction.locator('tr[data-field="birth_place"] td.before').innerText(), OLD_PLACE);
  assert.equal(await correction.locator('tr[data-field="birth_place"] td.after').innerText(), NEW_PLACE);
  assert.equal(await correction.locator("tbody tr").count(), 1, "only the place of birth changed");
  const corrected = await correction.innerText();
  assert.ok(corrected.includes(reason), "the history keeps the reason");
  assert.ok(corrected.includes(documentRef), "and the document");
  assert.ok(corrected.includes("Cải chính"));

  // (g) A certified extract, printed.
  await clerk.locator("#issue-extract").click();
  await clerk.locator("#extract-issued").waitFor({ state: "visible" });
  const href = await clerk.locator("#extract-link").getAttribute("href");
  assert.match(href, /^\/extract#id=[^&]+$/);
  const extractId = decodeURIComponent(href.slice("/extract#id=".length));
  assert.equal(await text(clerk, "#extract-issued-text"), `Đã cấp trích lục ${extractId}.`);
  assert.equal(await historyCount(clerk, "certify"), 1);
  assert.equal(await text(clerk, "#r-status .status"), "Đã cấp trích lục");
  const [tab] = await Promise.all([clerk.context().waitForEvent("page"), clerk.locator("#extract-link").click()]);
  watch(tab, "extract");
  await tab.waitForURL((url) => url.pathname === "/extract");
  await tab.locator("body[data-ready]").waitFor({ state: "attached" });
  await tab.locator("#extract").waitFor({ state: "visible" });
  assert.ok(await tab.locator("#load-error").isHidden());
  assert.equal(await text(tab, "#extract-title"), "TRÍCH LỤC KHAI SINH");
  assert.equal(await text(tab, "#extract-id"), extractId);
  assert.equal(await text(tab, "#extract-record"), String(an.id));
  const content = (name) => text(tab, `#extract-content dd[data-field="${name}"]`);
  assert.equal(await content("child_name"), AN);
  assert.equal(await content("birth_place"), NEW_PLACE, "the extract shows the corrected place");
  assert.equal(await content("birth_date"), "15/01/2024");
  assert.equal(await content("sex"), "Nam");
  const shownId = await content("id_number");
  assert.notEqual(shownId, rows[0].id_number, "an extract shows the ID number masked");
  assert.ok(shownId.endsWith(rows[0].id_number.slice(-4)), `masked: ${shownId}`);
  assert.equal(await text(tab, "#extract-volume"), volume);
  assert.equal(await text(tab, "#extract-entry"), "1");
  assert.equal(await text(tab, "#extract-registered"), "22/01/2024");
  assert.equal(await text(tab, "#extract-place"), WARD_NAME);
  const issuedAt = await tab.locator("#extract-issued-at").getAttribute("datetime");
  assert.equal(await text(tab, "#extract-issued-at"), ddmmyyyy(issuedAt));
  assert.ok(Math.abs(Date.now() - new Date(issuedAt).getTime()) < 10 * 60_000, `issued just now: ${issuedAt}`);
  assert.ok((await text(tab, "#extract-issuer")).length > 0, "the issuer is named");
  const qr = tab.locator('[data-testid="extract-qr"] svg');
  assert.equal(await qr.count(), 1, "the QR code is drawn");
  const modules = await qr.evaluate((svg) => svg.querySelectorAll("rect").length
    + [...svg.querySelectorAll("path")].reduce((n, p) => n + ((p.getAttribute("d") || "").match(/M/gi) || []).length, 0));
  assert.ok(modules > 50, `the QR code has its modules (${modules})`);
  const box = await qr.boundingBox();
  assert.ok(box && box.width >= 120 && Math.abs(box.width - box.height) < 1, `a square QR code, got ${JSON.stringify(box)}`);
  const verifyUrl = await text(tab, '[data-testid="verify-url"]');
  assert.match(new URL(verifyUrl).pathname, /^\/verify\/[^/]+$/, `the verify address: ${verifyUrl}`);
  assert.equal(await tab.locator('[data-testid="verify-url"]').getAttribute("href"), verifyUrl);
  await tab.emulateMedia({ media: "print" });
  assert.ok(await tab.locator("header").isHidden(), "printing leaves the header out");
  assert.ok(await tab.locator("#print").isHidden(), "and the print button");
  assert.ok(await tab.locator("#extract-title").isVisible());
  assert.ok(await tab.locator('[data-testid="extract-qr"] svg').isVisible(), "the QR code is printed");
  await tab.emulateMedia({ media: "screen" });

  // (h) Anyone (no login) opening the QR code's address sees the extract confirmed; a tampered
  // address is not.
  const anyone = await (await newContext()).newPage();
  const target = new URL(new URL(verifyUrl).pathname, BASE).href;
  const res = await anyone.goto(target);
  assert.equal(res.status(), 200, `GET ${target}`);
  let page = await anyone.locator("body").innerText();
  assert.ok(page.includes("Bản trích lục hợp lệ"), `genuine: ${page.slice(0, 300)}`);
  assert.ok(page.includes(AN), "with the child's name");
  assert.ok(page.includes(NEW_PLACE), "and the corrected place of birth");
  assert.ok(!page.includes(rows[0].id_number), "but not the ID number");
  assert.ok(!page.includes("Không xác thực được"));
  await anyone.goto(tamper(target));
  page = await anyone.locator("body").innerText();
  assert.ok(page.includes("Không xác thực được"), `tampered: ${page.slice(0, 300)}`);
  assert.ok(!page.includes("Bản trích lục hợp lệ"));
  assert.ok(!page.includes(AN), "and tells nothing of the record");

  // (i) The district official searches and views, with ID numbers masked, and changes nothing.
  const official = await login(OFFICIAL, "#registry-link", "/registry");
  assert.ok(await official.locator("#view-only").isVisible());
  for (const id of ["#book-form", "#import-form", "#record-form"]) assert.ok(await official.locator(id).isHidden(), `no ${id} for an official`);
  found = await search(official, async () => {
    await official.locator("#s-name").fill("nguyen van an");
    await official.locator("#s-book").selectOption(bookId);
  });
  assert.ok(found.some((r) => r.id === an.id), `the official finds ${AN}`);
  await official.locator(`#results-table tbody tr[data-id="${an.id}"] .open-record`).click();
  await official.locator(`#record-body[data-id="${an.id}"]`).waitFor({ state: "visible" });
  assert.equal(await text(official, '#r-fields dd[data-field="birth_place"]'), NEW_PLACE);
  const masked = await text(official, '#r-fields dd[data-field="id_number"]');
  assert.notEqual(masked, rows[0].id_number, "the ID number is masked for the official");
  assert.ok(!masked.includes(rows[0].id_number.slice(0, 8)), `masked: ${masked}`);
  assert.ok(await official.locator("#record-actions").isHidden(), "no actions for the official");
  assert.ok(await official.locator('#r-history > li[data-action="correct"] tr[data-field="birth_place"]').count() === 1);

  assert.deepEqual(problems, [], "no console errors on the registry pages");
});
