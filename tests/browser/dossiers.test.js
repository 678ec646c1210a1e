// Online dossiers and payments through the pages: a citizen applies for a ward procedure with a
// fee, attaching a file per required document; Phường 1's official finds it in the queue, asks
// for a supplement, which the citizen uploads, accepts it, marks the result ready and is refused
// the return while the fee is unpaid; the citizen pays by VNPay (the simulator's page) and gets a
// receipt; the official returns the result and the citizen rates it. A second dossier is paid by
// VietQR (the payload given to the simulated bank), a third in cash at the cash desk, and the
// three receipts are numbered consecutively.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { BASE, demoAccounts, launch, until } from "./lib.js";

const WARD = "27211"; // Phường 1
const WARD_NAME = "Phường 1";
const OFFICIAL = "ward1.official";
const CASHIER = "cashier";
const OUR_PAGES = ["/apply", "/dossier", "/dossiers", "/pay", "/receipt", "/cashier"];
const APPLICANT = {
  name: "Nguyễn Thị Lan",
  idNumber: "079203001234",
  phone: "0901 234 567",
  email: "lan.nguyen@example.vn",
  address: "25 Đường 3 Tháng 2, Phường 1, Quận 10",
};

let browser;
let dir;
const problems = [];

before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), "q10-dossiers-"));
});
after(async () => {
  if (browser) await browser.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The failed request the test causes on purpose: the return refused while the fee is unpaid.
function expectedFailure(m) {
  const url = (m.location() && m.location().url) || "";
  return /status of 409/.test(m.text()) && /\/api\/v1\/dossiers\/\d+\/actions$/.test(url);
}

// Records console errors (CSP violations among them) and uncaught exceptions of our pages.
function watch(page, who) {
  const onOurPage = () => OUR_PAGES.includes(new URL(page.url()).pathname);
  page.on("console", (m) => {
    if (m.type() === "error" && onOurPage() && !expectedFailure(m)) problems.push(`[${who}] ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`[${who}] ${page.url()}: ${e.message}`));
}

async function newPage(who) {
  const page = await (await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 900 } })).newPage();
  watch(page, who);
  return page;
}

const text = async (page, selector) => (await page.locator(selector).innerText()).trim();

// Đồng as the pages write them: 15.000 ₫.
const vnd = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";

// A day in the district as dd/mm/yyyy.
function ddmmyyyy(iso) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" })
    .formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year}`;
}

// CRC-32 (for PNG chunks) and CRC-16/CCITT-FALSE (VietQR's checksum), written out here.
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function crc16(s) {
  let c = 0xffff;
  for (const b of Buffer.from(s, "utf8")) {
    c ^= b << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return c.toString(16).toUpperCase().padStart(4, "0");
}

// A small real PNG (a coloured square), different for each `seed`.
function png(seed) {
  const size = 8;
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "ascii");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "ascii"), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = [];
  for (let y = 0; y < size; y++) {
    rows.push(0);
    for (let x = 0; x < size; x++) rows.push((seed * 40 + x * 16) & 255, (y * 30) & 255, (seed * 90) & 255);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0)),
  ]);
}

// A small real PDF.
function pdf(title) {
  return Buffer.from(`%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >> endobj
trailer << /Root 1 0 R /Title (${title}) >>
%%EOF
`, "latin1");
}

let fileNo = 0;
// Writes one file per document to attach (PNG and PDF in turn); returns {key: path}.
function documentFiles(docs) {
  const out = {};
  docs.forEach((d, i) => {
    fileNo++;
    const path = join(dir, i % 2 === 0 ? `${d.key}-${fileNo}.png` : `${d.key}-${fileNo}.pdf`);
    writeFileSync(path, i % 2 === 0 ? png(fileNo) : pdf(`${d.key} ${fileNo}`));
    out[d.key] = path;
  });
  return out;
}

async function trackApi(code) {
  const res = await fetch(`${BASE}/api/v1/dossiers/track`, {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify({ code }),
  });
  assert.equal(res.status, 200, `tracking ${code}`);
  return res.json();
}

// Fills the apply form for `proc` (the page already open), attaching `files` by document key.
async function fillApplication(page, proc, files, idNumber = APPLICANT.idNumber) {
  await page.locator("#procedure").selectOption(proc.code);
  await page.locator("#ward").selectOption(WARD);
  await page.locator("#full-name").fill(APPLICANT.name);
  await page.locator("#id-number").fill(idNumber);
  await page.locator("#phone").fill(APPLICANT.phone);
  await page.locator("#email").fill(APPLICANT.email);
  await page.locator("#applicant-address").fill(APPLICANT.address);
  for (const [key, path] of Object.entries(files)) {
    await page.locator(`#document-inputs input[type="file"][data-key="${key}"]`).setInputFiles(path);
  }
}

// Applies for `proc` on a fresh /apply and returns the dossier's code.
async function apply(page, proc) {
  await page.goto(BASE + "/apply");
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  await fillApplication(page, proc, documentFiles(proc.documents.filter((d) => d.required)));
  await page.locator("#submit").click();
  await page.locator("#receipt").waitFor({ state: "visible" });
  return text(page, "#dossier-code");
}

// Logs a demo account in on the home page and follows its staff link.
async function login(username, link, path) {
  const account = demoAccounts().find((a) => a.username === username);
  assert.ok(account, `demo account ${username}`);
  const page = await newPage(username);
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator(link).waitFor({ state: "visible" });
  await page.locator(link).click();
  await page.waitForURL((url) => url.pathname === path);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  return page;
}

// The pay page's receipt number once it shows paid.
async function paidReceiptNumber(page) {
  await page.locator("#paid").waitFor({ state: "visible", timeout: 30_000 });
  assert.equal(await text(page, "#paid-title"), "Đã thanh toán");
  assert.equal(await text(page, "#pay-status .status"), "Đã thanh toán");
  const n = Number(await text(page, "#receipt-number"));
  assert.ok(Number.isInteger(n) && n > 0, `a receipt number, got ${n}`);
  return n;
}

test("a citizen applies, adds a document, pays by VNPay and rates; VietQR and cash pay two more, with consecutive receipts", async () => {
  const started = Date.now();
  const procedures = await (await fetch(`${BASE}/api/v1/procedures`)).json();
  const proc = procedures.find((p) => p.office === "ward" && p.fee > 0 && p.level === "full_online" && p.documents.some((d) => d.required));
  assert.ok(proc, "a fully online ward procedure with a fee");
  const required = proc.documents.filter((d) => d.required);

  // (a) The citizen applies.
  const citizen = await newPage("citizen");
  await citizen.goto(BASE + "/apply");
  await citizen.locator("body[data-ready]").waitFor({ state: "attached" });
  assert.equal(await citizen.locator("html").getAttribute("lang"), "vi");
  assert.equal(await text(citizen, "#form-title"), "Nộp hồ sơ trực tuyến");
  assert.equal(await citizen.locator(`#ward option[value="${WARD}"]`).innerText(), WARD_NAME);
  const files = documentFiles(required);
  // A CCCD number one digit short is caught before sending, and nothing typed is lost.
  await fillApplication(citizen, proc, files, APPLICANT.idNumber.slice(0, 11));
  assert.equal(await text(citizen, "#procedure-fee"), vnd(proc.fee));
  assert.equal(await text(citizen, "#procedure-days"), `${proc.working_days} ngày làm việc`);
  assert.equal(await text(citizen, "#procedure-level"), "Dịch vụ công trực tuyến toàn trình");
  assert.equal(await citizen.locator('#document-inputs input[type="file"]').count(), proc.documents.length);
  assert.equal(await citizen.locator('#document-inputs input[type="file"][data-required="true"]').count(), required.length);
  const note = "Xin nhận kết quả qua bưu điện.";
  await citizen.locator("#note").fill(note);
  await citizen.locator("#submit").click();
  await citizen.locator("#form-error").waitFor({ state: "visible" });
  assert.match(await text(citizen, "#form-error"), /^Số CCCD gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh \(001–096\)\./);
  assert.equal(await citizen.locator("#id-number").getAttribute("aria-invalid"), "true");
  assert.equal(await citizen.locator("#full-name").inputValue(), APPLICANT.name);
  assert.equal(await citizen.locator("#note").inputValue(), note);
  for (const d of required) {
    assert.equal(await citizen.locator(`#document-inputs input[data-key="${d.key}"]`).evaluate((i) => i.files.length), 1, `${d.key} still attached`);
  }
  assert.ok(await citizen.locator("#receipt").isHidden());
  await citizen.locator("#id-number").fill(APPLICANT.idNumber);
  await citizen.locator("#submit").click();
  await citizen.locator("#receipt").waitFor({ state: "visible" });
  const code = await text(citizen, "#dossier-code");
  assert.match(code, /^HS-[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  const applied = await trackApi(code);
  assert.equal(applied.status, "received");
  assert.equal(applied.fee, proc.fee);
  assert.equal(applied.ward.code, WARD);
  assert.equal(await text(citizen, "#receipt-status .status"), "Đã tiếp nhận");
  assert.equal(await text(citizen, "#receipt-due"), ddmmyyyy(applied.due_at));
  assert.match(await text(citizen, "#receipt-due"), /^\d{2}\/\d{2}\/\d{4}$/);
  assert.equal(await text(citizen, "#receipt-fee"), vnd(proc.fee));
  assert.match(await text(citizen, "#receipt-facts"), new RegExp(WARD_NAME));
  assert.equal(await text(citizen, "#pay-link"), "Thanh toán lệ phí");
  assert.equal(await citizen.locator("#pay-link").getAttribute("href"), `/pay#dossier=${code}`);
  assert.equal(await citizen.locator("#track-link").getAttribute("href"), `/dossier#code=${code}`);

  // (b) Phường 1's official finds it, notes something internal and asks for a supplement.
  const official = await login(OFFICIAL, "#dossiers-link", "/dossiers");
  const row = official.locator(`#queue-table tbody tr[data-code="${code}"]`);
  await row.waitFor({ state: "visible" });
  assert.equal(await row.getAttribute("data-status"), "received");
  assert.match(await row.innerText(), new RegExp(proc.name_vi));
  assert.match(await row.innerText(), new RegExp(WARD_NAME));
  await row.locator("button.open-dossier").click();
  const detail = official.locator(`#detail-body[data-code="${code}"]`);
  await detail.waitFor({ state: "visible" });
  const status = () => text(official, "#d-status .status");
  assert.equal(await status(), "Đã tiếp nhận");
  assert.equal(await text(official, "#d-applicant-name"), APPLICANT.name);
  assert.equal(await text(official, "#d-id-masked"), "••••••••" + APPLICANT.idNumber.slice(-4));
  assert.ok(!(await detail.innerText()).includes(APPLICANT.idNumber), "the full CCCD number is not shown");
  const links = official.locator("#d-documents a.document-link");
  assert.equal(await links.count(), required.length);
  const first = required[0];
  const href = await official.locator(`#d-documents li[data-key="${first.key}"] a.document-link`).getAttribute("href");
  assert.match(href, /^\/api\/v1\/dossiers\/\d+\/documents\/[0-9a-f]{32}$/);
  const download = await official.context().request.get(BASE + href);
  assert.equal(download.status(), 200);
  assert.deepEqual(Buffer.from(await download.body()), readFileSync(files[first.key]), "the document as uploaded");
  const visible = async (action) => official.locator(`#action-form button[data-action="${action}"]`).isVisible();
  assert.ok(await visible("accept"));
  assert.ok(!(await visible("return")) && !(await visible("result_ready")), "no return or result before processing");

  const act = async (action, expected) => {
    await official.locator(`#action-form button[data-action="${action}"]`).click();
    await until(`the status to become ${expected} after ${action}`, async () => (await status()) === expected);
  };
  const internal = "Đã đối chiếu CCCD với cơ sở dữ liệu dân cư.";
  await official.locator("#action-note").fill(internal);
  await official.locator('#action-form button[data-action="note"]').click();
  await until("the internal note in the history", async () => (await official.locator("#d-history li.internal").allInnerTexts()).some((s) => s.includes(internal)));
  assert.equal(await text(official, "#action-done"), "Đã lưu: Lưu ghi chú nội bộ.");
  const ask = `Đề nghị bổ sung bản chụp rõ nét ${first.name_vi}.`;
  await official.locator('#action-form button[data-action="request_supplement"]').click();
  assert.equal(await text(official, "#action-error"), "Bước này cần ghi chú.", "a supplement request needs a note");
  await official.locator("#action-note").fill(ask);
  await act("request_supplement", "Cần bổ sung");
  await until("the queue to refresh", async () => (await row.getAttribute("data-status")) === "supplement_requested");

  // The citizen follows the receipt's link and uploads the document asked for.
  await citizen.locator("#track-link").click();
  await citizen.waitForURL((url) => url.pathname === "/dossier");
  const result = citizen.locator(`#result[data-code="${code}"]`);
  await result.waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#result-title"), proc.name_vi);
  assert.equal(await text(citizen, "#result-status .status"), "Cần bổ sung");
  assert.equal(await text(citizen, "#supplement-request"), ask);
  assert.equal(await text(citizen, "#result-due"), ddmmyyyy((await trackApi(code)).due_at));
  assert.equal(await citizen.locator("#supplement-inputs input[type=file]").count(), proc.documents.length);
  const again = documentFiles([first]);
  await citizen.locator(`#supplement-inputs input[data-key="${first.key}"]`).setInputFiles(again[first.key]);
  await citizen.locator("#supplement-note").fill("Gửi lại bản chụp rõ hơn.");
  await citizen.locator("#supplement-submit").click();
  await until("the dossier to be received again", async () => (await text(citizen, "#result-status .status")) === "Đã tiếp nhận");
  assert.ok(await citizen.locator("#supplement-form").isHidden());
  assert.equal(await text(citizen, "#supplement-done"), "Đã gửi bổ sung. Cán bộ sẽ xem lại hồ sơ.");
  let timeline = await text(citizen, "#timeline");
  for (const step of ["Nộp hồ sơ", "Yêu cầu bổ sung", "Bổ sung hồ sơ", ask]) assert.ok(timeline.includes(step), `the timeline shows ${step}`);
  assert.ok(!timeline.includes(internal), "internal notes stay internal");

  // The official sees the new document, accepts, marks the result ready, and may not return it
  // while the fee is unpaid.
  await official.locator("#refresh").click();
  await until("the supplement to reach the official", async () => (await status()) === "Đã tiếp nhận");
  assert.equal(await links.count(), required.length + 1);
  await act("accept", "Đang xử lý");
  await act("result_ready", "Có kết quả");
  assert.equal(await text(official, "#d-fee-state"), "Chưa nộp");
  await official.locator('#action-form button[data-action="return"]').click();
  await official.locator("#action-error").waitFor({ state: "visible" });
  assert.equal(await official.locator("#action-error").getAttribute("data-http-status"), "409");
  assert.match(await text(official, "#action-error"), /^Không thực hiện được: \S/);
  assert.equal(await status(), "Có kết quả");

  // (c) The citizen pays the fee by VNPay.
  await citizen.reload();
  await result.waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#result-status .status"), "Có kết quả");
  assert.equal(await text(citizen, "#result-fee"), vnd(proc.fee));
  assert.equal(await text(citizen, "#fee-state"), "Chưa nộp");
  await citizen.locator("#pay-link").click();
  await citizen.waitForURL((url) => url.pathname === "/pay" && url.searchParams.has("ref"));
  const ref1 = new URL(citizen.url()).searchParams.get("ref");
  assert.match(ref1, /^Q10P[0-9A-Z]{10}$/);
  await citizen.locator("#intent").waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#pay-amount"), vnd(proc.fee));
  assert.equal(await text(citizen, "#pay-status .status"), "Chờ thanh toán");
  assert.equal(await text(citizen, "#pay-dossier"), code);
  // Opening the dossier's pay link again in this tab finds the same payment (same key).
  await citizen.goto(`${BASE}/pay#dossier=${code}`);
  await citizen.waitForURL((url) => url.searchParams.has("ref"));
  assert.equal(new URL(citizen.url()).searchParams.get("ref"), ref1);
  await citizen.locator("#pay-vnpay").waitFor({ state: "visible" });
  await citizen.locator("#pay-vnpay").click();
  await citizen.waitForURL((url) => url.pathname.startsWith("/sim/vnpay/pay"));
  await citizen.locator('[data-testid="sim-pay"]').click();
  await citizen.waitForURL((url) => url.pathname === "/pay" && url.searchParams.get("ref") === ref1);
  const n1 = await paidReceiptNumber(citizen);
  await citizen.locator("#receipt-link").click();
  await citizen.waitForURL((url) => url.pathname === "/receipt" && url.searchParams.get("ref") === ref1);
  await citizen.locator("#receipt").waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#receipt-title"), `Biên lai số ${n1}`);
  assert.equal(await text(citizen, "#receipt-number"), String(n1));
  assert.equal(await text(citizen, "#receipt-amount"), vnd(proc.fee));
  assert.equal(await text(citizen, "#receipt-method"), "VNPay");
  assert.equal(await text(citizen, "#receipt-dossier"), code);
  assert.equal(await text(citizen, "#receipt-reference"), ref1);
  assert.ok(await citizen.locator("#print").isVisible());
  await citizen.emulateMedia({ media: "print" });
  assert.ok(await citizen.locator("header").isHidden(), "printing leaves the header out");
  assert.ok(await citizen.locator("#print").isHidden(), "and the print button");
  assert.ok(await citizen.locator("#receipt-title").isVisible());
  await citizen.emulateMedia({ media: "screen" });

  // (d) The official returns the result; the citizen rates it.
  await official.locator("#refresh").click();
  await until("the payment to reach the official", async () => (await text(official, "#d-fee-state")) === "Đã nộp");
  await act("return", "Đã trả kết quả");
  for (const action of ["accept", "result_ready", "return", "request_supplement", "refuse"]) {
    assert.ok(!(await visible(action)), `no ${action} once returned`);
  }
  await citizen.goto(`${BASE}/dossier#code=${code}`);
  await result.waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#result-status .status"), "Đã trả kết quả");
  assert.equal(await text(citizen, "#fee-state"), "Đã nộp");
  assert.ok(await citizen.locator("#pay-link").isHidden(), "nothing left to pay");
  await citizen.locator("#rate-form").waitFor({ state: "visible" });
  await citizen.locator('#rate-stars input[value="4"]').check();
  await citizen.locator("#rate-comment").fill("Cán bộ hướng dẫn tận tình.");
  await citizen.locator("#rate-submit").click();
  await until("the rating to be saved", async () => (await text(citizen, "#rating-done")) === "Đánh giá của bạn: 4/5. Cảm ơn bạn!");
  assert.ok(await citizen.locator("#rate-form").isHidden(), "rated once only");
  timeline = await text(citizen, "#timeline");
  for (const step of ["Tiếp nhận, chuyển xử lý", "Có kết quả", "Trả kết quả", "Đánh giá"]) assert.ok(timeline.includes(step), `the timeline shows ${step}`);
  assert.equal((await trackApi(code)).rating, 4);

  // (e) A second dossier, paid by VietQR through the simulated bank.
  const code2 = await apply(citizen, proc);
  assert.notEqual(code2, code);
  await citizen.locator("#pay-link").click();
  await citizen.waitForURL((url) => url.pathname === "/pay" && url.searchParams.has("ref"));
  const ref2 = new URL(citizen.url()).searchParams.get("ref");
  assert.notEqual(ref2, ref1);
  await citizen.locator("#pay-vietqr").click();
  await citizen.locator("#vietqr").waitFor({ state: "visible" });
  const payload = await text(citizen, '[data-testid="vietqr-payload"]');
  assert.equal(payload.slice(-8, -4), "6304", "the payload ends with its CRC field");
  assert.equal(payload.slice(-4), crc16(payload.slice(0, -4)), "the payload's CRC");
  assert.ok(payload.includes(`54${String(proc.fee.toString().length).padStart(2, "0")}${proc.fee}`), "the payload carries the amount");
  assert.ok(payload.includes(ref2), "the payload carries the reference");
  assert.equal(await text(citizen, '[data-testid="vietqr-reference"]'), `Nội dung chuyển khoản: ${ref2}`);
  assert.equal(await text(citizen, "#qr-amount"), vnd(proc.fee));
  assert.equal(await citizen.locator("#qr svg").count(), 1, "the QR code is drawn");
  // Its dark modules: rectangles, or the squares of its paths.
  const modules = await citizen.locator("#qr svg").evaluate((svg) => svg.querySelectorAll("rect").length
    + [...svg.querySelectorAll("path")].reduce((n, p) => n + ((p.getAttribute("d") || "").match(/M/gi) || []).length, 0));
  assert.ok(modules > 100, `the QR code has its modules (${modules})`);
  const box = await citizen.locator("#qr svg").boundingBox();
  assert.ok(box && box.width >= 200 && Math.abs(box.width - box.height) < 1, `a square QR code at least 200 px wide, got ${JSON.stringify(box)}`);
  const bank = await newPage("bank");
  await bank.goto(BASE + "/sim/bank");
  await bank.locator('[data-testid="sim-bank-payload"]').fill(payload);
  await bank.locator('[data-testid="sim-bank-transfer"]').click();
  const n2 = await paidReceiptNumber(citizen);
  assert.ok(await citizen.locator("#vietqr").isHidden(), "the QR code goes once paid");
  assert.equal((await trackApi(code2)).fee_paid, true);

  // (f) A third dossier, paid in cash at the cash desk.
  const code3 = await apply(citizen, proc);
  const cashier = await login(CASHIER, "#cashier-link", "/cashier");
  await cashier.locator("#lookup").fill(code3);
  await cashier.locator("#lookup-submit").click();
  await cashier.locator("#c-payment").waitFor({ state: "visible" });
  assert.equal(await text(cashier, "#c-amount"), vnd(proc.fee));
  assert.equal(await text(cashier, "#c-status .status"), "Chờ thanh toán");
  assert.equal(await text(cashier, "#c-dossier"), code3);
  await cashier.locator("#take-cash").click();
  await cashier.locator("#c-done").waitFor({ state: "visible" });
  const n3 = Number(await text(cashier, "#c-receipt-number"));
  assert.equal(await text(cashier, "#c-status .status"), "Đã thanh toán");
  assert.ok(await cashier.locator("#take-cash").isHidden(), "cash is taken once");
  await cashier.locator("#c-receipt-link").click();
  await cashier.waitForURL((url) => url.pathname === "/receipt");
  await cashier.locator("#receipt").waitFor({ state: "visible" });
  assert.equal(await text(cashier, "#receipt-title"), `Biên lai số ${n3}`);
  assert.equal(await text(cashier, "#receipt-method"), "Tiền mặt");
  assert.equal(await text(cashier, "#receipt-dossier"), code3);
  assert.equal((await trackApi(code3)).fee_paid, true);

  assert.deepEqual([n2 - n1, n3 - n2], [1, 1], `receipts ${n1}, ${n2}, ${n3} are consecutive`);
  assert.deepEqual(problems, [], "no console errors on the dossier and payment pages");
  assert.ok(Date.now() - started < 120_000, `took ${Date.now() - started} ms`);
});
