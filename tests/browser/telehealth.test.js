// Telehealth through its pages: the city doctor publishes a span of 15-minute slots covering now
// on /telehealth; Phường 1's health station books the slot under way for a patient; on /visit the
// station checks its camera, microphone and network, records the patient's consent and waits in
// the waiting room, where it stays while the doctor is already in the call; the doctor sees it
// waiting, admits it, and both decode each other's camera and receive each other's sound; the
// doctor's visit note fulfils the appointment. Then: an anonymous visitor and an account of
// another role are turned away; the station books a later slot, moves it to another one and
// cancels it with a reason, which frees the slot.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE, demoAccounts, inbound, launch, remoteVideos, until } from "./lib.js";

const DOCTOR = "doctor";
const CLINIC = "ward1.clinic";
const OTHER = "ward1.official";
const OUR_PAGES = ["/telehealth", "/visit"];
const ZONE = "Asia/Ho_Chi_Minh";
const MINUTE = 60_000;
const PATIENT = { name: "Nguyễn Thị Hoa", year: "1958", phone: "0901234567", reason: "Đau ngực khi gắng sức, cần bác sĩ tư vấn" };

let browser;
const problems = [];

before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

// Records console errors (CSP violations among them) and uncaught exceptions of our pages.
function watch(page, who) {
  const onOurPage = () => OUR_PAGES.includes(new URL(page.url()).pathname);
  page.on("console", (m) => {
    if (m.type() === "error" && onOurPage()) problems.push(`[${who}] ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`[${who}] ${page.url()}: ${e.message}`));
}

async function newPage(who) {
  const context = await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  watch(page, who);
  return page;
}

// A district date (YYYY-MM-DD) and time (HH:MM) of an instant.
function district(ms) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

// Calls the API from a page with its session (and the CSRF token its login kept).
function call(page, method, path, body = null) {
  return page.evaluate(async ([method, path, body]) => {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = sessionStorage.getItem("q10.csrf") || "";
    if (body !== null) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch (_) { data = text; }
    return { status: res.status, data };
  }, [method, path, body]);
}

async function get(page, path) {
  const res = await call(page, "GET", path);
  assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(res.data)}`);
  return res.data;
}

// Logs a demo account in on the home page; with `link`, follows the home page's telehealth link.
async function login(username, { link = true } = {}) {
  const account = demoAccounts().find((a) => a.username === username);
  assert.ok(account, `demo account ${username}`);
  const page = await newPage(username);
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#home-view").waitFor({ state: "visible" });
  if (link) {
    await page.locator("#telehealth-link").waitFor({ state: "visible" });
    assert.equal((await page.locator("#telehealth-link").innerText()).trim(), "Khám bệnh từ xa");
    await page.locator("#telehealth-link").click();
    await page.waitForURL((url) => url.pathname === "/telehealth");
    await page.locator("body[data-ready]").waitFor({ state: "attached" });
  }
  return page;
}

const text = async (page, selector) => (await page.locator(selector).innerText()).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The free slots of a doctor from an hour before to `hours` after now, as the API lists them.
async function freeSlots(page, doctorId, hours = 3) {
  const now = Date.now();
  const q = new URLSearchParams({ doctor: String(doctorId), status: "free", from: iso(now - 60 * MINUTE), to: iso(now + hours * 60 * MINUTE) });
  return get(page, `/api/v1/telehealth/slots?${q}`);
}

// Books `slot` on the clinic's page for the patient; returns the appointment's id.
async function bookOnPage(page, doctorId, slot, patient = PATIENT) {
  await page.locator(`#book-doctor option[value="${doctorId}"]`).waitFor({ state: "attached" });
  await page.locator("#book-doctor").selectOption(String(doctorId));
  await page.locator("#book-day").fill(district(Date.parse(slot.start)).date);
  await page.locator('#find-form button[type="submit"]').click();
  const item = page.locator(`#free-slots li[data-id="${slot.id}"]`);
  await item.waitFor({ state: "visible" });
  await item.locator("button.pick-slot").click();
  assert.equal(await page.locator("#book-slot").getAttribute("data-slot"), String(slot.id));
  assert.equal(await item.locator("button").getAttribute("aria-pressed"), "true");
  await page.locator("#p-name").fill(patient.name);
  await page.locator("#p-year").fill(patient.year);
  await page.locator("#p-reason").fill(patient.reason);
  // A wrong phone number is refused next to the form before anything is sent.
  await page.locator("#p-phone").fill("12345");
  await page.locator("#book-submit").click();
  await page.locator("#book-error").waitFor({ state: "visible" });
  assert.match(await text(page, "#book-error"), /Số điện thoại/);
  assert.equal(await page.locator("#p-phone").getAttribute("aria-invalid"), "true");
  await page.locator("#p-phone").fill(patient.phone);
  await page.locator("#book-submit").click();
  await until("the booking to be confirmed", async () => {
    if (await page.locator("#book-error").isVisible()) throw new Error(await text(page, "#book-error"));
    return page.locator("#book-done").getAttribute("data-id");
  });
  const id = Number(await page.locator("#book-done").getAttribute("data-id"));
  assert.ok(id > 0);
  return id;
}

// The remote camera tiles' <video> sizes on a page.
function remoteSizes(page) {
  return page.locator('#stage .tile[data-kind="camera"] video').evaluateAll((vs) => vs.map((v) => ({ w: v.videoWidth, h: v.videoHeight })));
}

// Runs the device and network check on a visit page and checks what it found.
async function passCheck(page, who) {
  await page.locator("#check").waitFor({ state: "visible" });
  await page.locator("#check-start").click();
  await until(`${who}'s check to finish`, async () => (await page.locator("#check-state").getAttribute("data-state")) === "done");
  await until(`${who}'s camera preview to show a picture`, async () =>
    (await page.locator("#cam-state").getAttribute("data-ok")) === "true" &&
    (await page.locator("#preview").evaluate((v) => v.videoWidth)) > 0);
  // The fake microphone beeps: the meter moves.
  await until(`${who}'s microphone level to move`, async () =>
    (await page.locator("#mic-state").getAttribute("data-ok")) === "true" &&
    Number(await page.locator("#mic-level").getAttribute("data-peak")) > 0.02);
  const verdict = await page.locator("#net-verdict").getAttribute("data-verdict");
  const ms = Number(await page.locator("#net-result").getAttribute("data-ms"));
  assert.ok(["good", "fair"].includes(verdict), `the loopback network's verdict: ${verdict}`);
  assert.ok(Number.isFinite(ms) && ms >= 0 && ms < 400, `round trip ${ms} ms`);
  assert.match(await text(page, "#net-verdict"), /^(Tốt|Tạm được)$/);
  assert.match(await text(page, "#net-result"), /ms \(trung vị của 5 lần đo\)/);
}

// A page decodes the other side's camera (a sized <video>, frames decoded and still coming) and
// receives its sound.
async function seesAndHears(page, who, other) {
  await until(`${who} to decode ${other}'s camera`, async () => {
    const vids = (await remoteVideos(page)).filter((v) => v.kind === "camera" && v.framesDecoded > 0);
    const sizes = await remoteSizes(page);
    if (vids.length !== 1 || !sizes.some((s) => s.w > 0 && s.h > 0)) throw new Error(JSON.stringify({ vids, sizes }));
    return true;
  }, { timeout: 30_000 });
  const frames = async () => (await inbound(page)).filter((s) => s.kind === "video").reduce((n, s) => n + s.framesDecoded, 0);
  const audio = async () => (await inbound(page)).filter((s) => s.kind === "audio").reduce((n, s) => n + s.packetsReceived, 0);
  const f0 = await frames();
  const a0 = await audio();
  await until(`${who} to keep decoding ${other}'s camera`, async () => (await frames()) > f0 + 10);
  await until(`${who} to keep receiving ${other}'s sound`, async () => (await audio()) > a0 + 25);
  assert.equal(await page.locator("#audio-sink audio").count(), 1, `${who} plays one remote microphone`);
}

test("a doctor publishes, a ward clinic books, waits, is admitted, both see and hear each other, the note fulfils it", async () => {
  // The doctor publishes an hour of 15-minute slots starting five minutes ago.
  const doctor = await login(DOCTOR);
  await doctor.locator("#doctor-view").waitFor({ state: "visible" });
  assert.ok(await doctor.locator("#clinic-view").isHidden(), "a doctor books nothing");
  const doctorMe = await get(doctor, "/api/v1/me");
  const start = Math.floor((Date.now() - 5 * MINUTE) / MINUTE) * MINUTE;
  const from = district(start);
  const to = district(start + 60 * MINUTE);
  await doctor.locator("#pub-date").fill(from.date);
  await doctor.locator("#pub-from").fill(from.time);
  await doctor.locator("#pub-to").fill(to.time);
  await doctor.locator("#pub-minutes").fill("15");
  await doctor.locator("#pub-submit").click();
  await until("the publication's report", async () => {
    if (await doctor.locator("#pub-error").isVisible()) throw new Error(await text(doctor, "#pub-error"));
    return doctor.locator("#pub-done").getAttribute("data-created");
  });
  const created = Number(await doctor.locator("#pub-done").getAttribute("data-created"));
  const skipped = Number(await doctor.locator("#pub-done").getAttribute("data-skipped"));
  assert.equal(created + skipped, 4, `an hour in 15-minute slots: ${created} created, ${skipped} skipped`);
  assert.match(await text(doctor, "#pub-done"), new RegExp(`Đã tạo ${created} lượt khám; bỏ qua ${skipped} lượt`));

  // The clinic finds the free slot under way now.
  const clinic = await login(CLINIC);
  await clinic.locator("#clinic-view").waitFor({ state: "visible" });
  assert.ok(await clinic.locator("#doctor-view").isHidden(), "a clinic publishes nothing");
  const now = Date.now();
  const slot = (await freeSlots(clinic, doctorMe.id)).find((s) => Date.parse(s.start) <= now && now < Date.parse(s.end));
  assert.ok(slot, "a free slot covering now");
  assert.equal(slot.doctor_id, doctorMe.id);
  // The doctor's page lists it among the day's slots.
  await doctor.locator(`#slots-table tbody tr[data-id="${slot.id}"][data-status="free"]`).waitFor({ state: "attached" });

  const id = await bookOnPage(clinic, doctorMe.id, slot);
  await clinic.locator(`#ward-list li[data-id="${id}"][data-status="booked"]`).waitFor({ state: "visible" });
  assert.equal(await clinic.locator(`#free-slots li[data-id="${slot.id}"]`).count(), 0, "the booked slot is no longer offered");
  const booked = await get(clinic, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(booked.status, "booked");
  assert.equal(booked.slot_id, slot.id);
  assert.deepEqual(booked.patient, { name: PATIENT.name, birth_year: Number(PATIENT.year), phone: PATIENT.phone });
  assert.equal(booked.reason, PATIENT.reason);
  assert.equal(booked.clinic_unit, "27211");
  assert.ok(!booked.consent, "no consent yet");

  // The clinic opens the visit from the booking's link and checks its devices.
  await clinic.locator("#book-visit").click();
  await clinic.waitForURL((url) => url.pathname === "/visit" && url.hash === `#appointment=${id}`);
  await clinic.locator("body[data-ready]").waitFor({ state: "attached" });
  assert.equal(await clinic.locator("body").getAttribute("data-side"), "clinic");
  const facts = await text(clinic, "#appt-facts");
  for (const s of [PATIENT.name, "sinh năm 1958", PATIENT.reason, doctorMe.display_name]) assert.ok(facts.includes(s), `the visit shows ${s}: ${facts}`);
  assert.equal(await clinic.locator("#appt-status").getAttribute("data-status"), "booked");
  assert.ok(await clinic.locator("#consent-form").isHidden(), "consent comes after the check");
  await passCheck(clinic, "the clinic");
  await clinic.locator("#check-continue").click();

  // Consent: the call's is required, recording's is not.
  await clinic.locator("#consent-form").waitFor({ state: "visible" });
  await clinic.locator("#consent-submit").click();
  await clinic.locator("#consent-error").waitFor({ state: "visible" });
  assert.equal(await text(clinic, "#consent-error"), "Cần có sự đồng ý của người bệnh để bắt đầu cuộc gọi.");
  assert.ok(!(await get(clinic, `/api/v1/telehealth/appointments/${id}`)).consent, "nothing recorded without the box ticked");
  await clinic.locator("#consent-call").check();
  await clinic.locator("#consent-submit").click();
  await clinic.locator("#arrive-step").waitFor({ state: "visible" });
  const consented = await get(clinic, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(consented.consent.call, true);
  assert.equal(consented.consent.recording, false);
  assert.equal(consented.consent.by, (await get(clinic, "/api/v1/me")).display_name);

  // The waiting room.
  await clinic.locator("#arrive").click();
  await clinic.locator("#waiting").waitFor({ state: "visible" });
  const arrived = await get(clinic, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(arrived.status, "arrived");
  assert.ok(arrived.arrived_at && !arrived.admitted_at, JSON.stringify(arrived));

  // The doctor's list shows the clinic waiting; the visit opens from it.
  await doctor.locator("#day-form button[type=submit]").click();
  const row = doctor.locator(`#doc-appts-table tbody tr[data-id="${id}"]`);
  await until("the doctor's list to show the clinic waiting", async () => (await row.getAttribute("data-waiting")) === "true");
  assert.equal(await row.locator(".waiting-badge").innerText(), "Đang chờ");
  await row.locator("a.open-visit").click();
  await doctor.waitForURL((url) => url.pathname === "/visit" && url.hash === `#appointment=${id}`);
  await doctor.locator("body[data-ready]").waitFor({ state: "attached" });
  assert.equal(await doctor.locator("body").getAttribute("data-side"), "doctor");
  await until("the doctor to see the clinic waiting", async () => (await doctor.locator("#clinic-state").getAttribute("data-state")) === "waiting");
  assert.equal(await text(doctor, "#clinic-state"), "Trạm y tế đang chờ trong phòng chờ.");
  assert.ok(await doctor.locator("#join-call").isDisabled(), "joining waits for the device check");
  await passCheck(doctor, "the doctor");
  await doctor.locator("#join-call").click();
  await doctor.locator("#call").waitFor({ state: "visible" });
  await doctor.locator('#stage .tile[data-kind="self"]').waitFor({ state: "attached" });

  // The doctor is in the call; the clinic, not admitted, goes on waiting without any media.
  const polls = Number(await clinic.locator("#waiting").getAttribute("data-polls"));
  await sleep(4_500);
  assert.ok(await clinic.locator("#waiting").isVisible(), "the clinic is still in the waiting room");
  assert.ok(await clinic.locator("#call").isHidden(), "the clinic has no call");
  assert.ok(Number(await clinic.locator("#waiting").getAttribute("data-polls")) >= polls + 2, "the clinic keeps asking every 2 s");
  assert.equal(await clinic.locator("#stage video").count(), 0, "the clinic shows no video");
  assert.equal(await clinic.evaluate(() => window.q10room.pc), null, "the clinic has no peer connection");
  assert.match(await text(clinic, "#waited"), /^Đã chờ \d+:\d\d$/);
  assert.ok(!(await get(clinic, `/api/v1/telehealth/appointments/${id}`)).admitted_at, "not admitted");
  assert.equal((await remoteVideos(doctor)).filter((v) => v.framesDecoded > 0).length, 0, "the doctor receives no video yet");

  // Admitted, the clinic joins; both see and hear each other.
  await doctor.locator("#admit").click();
  await until("the doctor to see the clinic admitted", async () => (await doctor.locator("#clinic-state").getAttribute("data-state")) === "admitted");
  await clinic.locator("#call").waitFor({ state: "visible", timeout: 15_000 });
  assert.ok(await clinic.locator("#waiting").isHidden());
  assert.equal(await text(clinic, "#rec-consent"), "Không ghi hình: người bệnh không đồng ý.");
  await seesAndHears(doctor, "the doctor", "the clinic");
  await seesAndHears(clinic, "the clinic", "the doctor");

  // Both show the link's quality from the connection's statistics.
  for (const [page, who] of [[doctor, "doctor"], [clinic, "clinic"]]) {
    await until(`the ${who}'s link quality`, async () => {
      const q = page.locator("#quality");
      const level = await q.getAttribute("data-level");
      const loss = await q.getAttribute("data-loss");
      const rtt = await q.getAttribute("data-rtt");
      if (!level || loss === null || loss === "" || !rtt) return false;
      assert.ok(["good", "fair", "poor"].includes(level), level);
      assert.ok(Number(loss) < 10, `loopback loss ${loss}%`);
      assert.ok(Number(rtt) >= 0 && Number(rtt) < 1000, `round trip ${rtt} ms`);
      return true;
    });
    assert.match(await text(page, "#quality"), /^Đường truyền: (Tốt|Trung bình|Kém) mất gói [\d.]+% · RTT \d+ ms/);
  }

  // A lossy link (the statistics made to report a fifth of the packets lost) turns "audio first"
  // on; the real statistics turn it off again.
  assert.ok(await clinic.locator("#audio-first").isHidden(), "no audio-first notice on a clean link");
  await clinic.evaluate(() => {
    const real = RTCPeerConnection.prototype.getStats;
    window.realGetStats = real;
    RTCPeerConnection.prototype.getStats = async function (...args) {
      const report = await real.apply(this, args);
      const lossy = new Map();
      report.forEach((s, k) => lossy.set(k, s.type === "inbound-rtp" ? { ...s, packetsLost: Math.round((s.packetsReceived || 0) / 4) } : s));
      return lossy;
    };
  });
  await clinic.locator("#audio-first").waitFor({ state: "visible", timeout: 10_000 });
  assert.equal(await text(clinic, "#audio-first"), "Đường truyền yếu: ưu tiên tiếng nói; hình có thể mờ đi hoặc tạm dừng.");
  assert.equal(await clinic.locator("#quality").getAttribute("data-level"), "poor");
  assert.ok(Number(await clinic.locator("#quality").getAttribute("data-loss")) >= 10);
  await clinic.evaluate(() => { RTCPeerConnection.prototype.getStats = window.realGetStats; });
  await clinic.locator("#audio-first").waitFor({ state: "hidden", timeout: 10_000 });
  assert.notEqual(await clinic.locator("#quality").getAttribute("data-level"), "poor");

  // The doctor writes the visit note, which fulfils the appointment.
  const note = "Khám qua video: huyết áp 150/90, nghe tim đều. Đề nghị làm điện tâm đồ tại trạm, tái khám sau 1 tuần.";
  await doctor.locator("#note-text").fill(note);
  await doctor.locator("#note-submit").click();
  await until("the note to be saved", async () => {
    if (await doctor.locator("#note-error").isVisible()) throw new Error(await text(doctor, "#note-error"));
    return (await doctor.locator("#appt-status").getAttribute("data-status")) === "fulfilled";
  });
  assert.equal(await text(doctor, "#note-done"), "Đã lưu ghi chú. Buổi khám đã hoàn tất.");
  const fulfilled = await get(doctor, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(fulfilled.status, "fulfilled");
  assert.equal(fulfilled.note, note);
  assert.equal((await get(clinic, `/api/v1/telehealth/appointments/${id}`)).status, "fulfilled");

  for (const [page, who] of [[clinic, "clinic"], [doctor, "doctor"]]) {
    await page.locator("#hangup").click();
    await page.locator("#ended").waitFor({ state: "visible" });
    assert.ok((await text(page, "#ended-why")).length > 0, `the ${who} is told the call ended`);
  }
  assert.deepEqual(problems, []);
});

test("visitors without the roles are turned away; a clinic reschedules and cancels on the page, which frees the slot", async () => {
  const doctor = await login(DOCTOR, { link: false });
  const doctorMe = await get(doctor, "/api/v1/me");
  // Two hours from now, an hour of slots (any the doctor has there already are kept).
  const start = Math.floor((Date.now() + 120 * MINUTE) / MINUTE) * MINUTE;
  const published = await call(doctor, "POST", "/api/v1/telehealth/slots", { start: iso(start), end: iso(start + 60 * MINUTE), minutes: 15 });
  assert.ok([200, 201].includes(published.status), JSON.stringify(published));

  const clinic = await login(CLINIC);
  const later = (await freeSlots(clinic, doctorMe.id, 4)).filter((s) => Date.parse(s.start) >= Date.now() + 60 * MINUTE);
  assert.ok(later.length >= 2, `two free slots later on: ${JSON.stringify(later)}`);
  // Two slots on the same district day.
  const first = later[0];
  const second = later.find((s) => s.id !== first.id && district(Date.parse(s.start)).date === district(Date.parse(first.start)).date);
  assert.ok(second, "a second free slot on the same day");
  const id = await bookOnPage(clinic, doctorMe.id, first, { ...PATIENT, name: "Trần Văn Nam", year: "1971", reason: "Tái khám tiểu đường" });

  // Reschedule to the second slot.
  const item = clinic.locator(`#ward-list li[data-id="${id}"]`);
  await item.waitFor({ state: "visible" });
  await item.locator("button.reschedule-open").click();
  const target = item.locator(`.reschedule-slots li[data-id="${second.id}"] button`);
  await target.waitFor({ state: "visible" });
  assert.equal(await item.locator(`.reschedule-slots li[data-id="${first.id}"]`).count(), 0, "its own slot is not offered");
  await target.click();
  await until("the reschedule to be confirmed", async () => /^Đã đổi lịch #\d+ sang /.test(await text(clinic, "#ward-done")));
  const moved = await get(clinic, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(moved.slot_id, second.id);
  assert.equal(moved.status, "booked");
  const slotStatus = async (slotId) => {
    const s = await get(clinic, `/api/v1/telehealth/slots?${new URLSearchParams({ doctor: String(doctorMe.id), from: iso(start - 60 * MINUTE), to: iso(start + 180 * MINUTE) })}`);
    return (s.find((x) => x.id === slotId) || {}).status;
  };
  assert.equal(await slotStatus(first.id), "free", "the old slot is freed");
  assert.equal(await slotStatus(second.id), "busy", "the new slot is taken");
  await clinic.locator(`#free-slots li[data-id="${first.id}"]`).waitFor({ state: "visible" });

  // Cancelling asks for a reason in the page's own form.
  await item.locator("button.cancel-open").click();
  await item.locator("textarea.cancel-reason").waitFor({ state: "visible" });
  await item.locator("button.do-cancel").click();
  await item.locator(".cancel-form .error").waitFor({ state: "visible" });
  assert.equal(await item.locator(".cancel-form .error").innerText(), "Hãy ghi lý do huỷ.");
  assert.equal((await get(clinic, `/api/v1/telehealth/appointments/${id}`)).status, "booked");
  const reason = "Người bệnh chuyển viện";
  await item.locator("textarea.cancel-reason").fill(reason);
  await item.locator("button.do-cancel").click();
  await until("the cancellation to be confirmed", async () => (await text(clinic, "#ward-done")) === `Đã huỷ lịch #${id}.`);
  await clinic.locator(`#ward-list li[data-id="${id}"][data-status="cancelled"]`).waitFor({ state: "attached" });
  const cancelled = await get(clinic, `/api/v1/telehealth/appointments/${id}`);
  assert.equal(cancelled.status, "cancelled");
  assert.equal(cancelled.cancel_reason, reason);
  assert.equal(await slotStatus(second.id), "free", "cancelling frees the slot");
  await clinic.locator(`#free-slots li[data-id="${second.id}"]`).waitFor({ state: "visible" });

  // An anonymous visitor to the visit is told to log in.
  const anonymous = await (await browser.newContext({ locale: "vi-VN" })).newPage();
  anonymous.on("pageerror", (e) => problems.push(`[anonymous] ${e.message}`));
  await anonymous.goto(`${BASE}/visit#appointment=${id}`);
  await anonymous.locator("#gate").waitFor({ state: "visible" });
  assert.equal(await anonymous.locator("#gate").getAttribute("data-reason"), "login");
  assert.equal(await text(anonymous, "#gate-text"), "Hãy đăng nhập ở trang chủ rồi mở lại buổi khám.");
  assert.equal(await anonymous.locator("#gate-login a").getAttribute("href"), "/");
  assert.ok(await anonymous.locator("#visit-view").isHidden());
  assert.equal(await anonymous.locator("#appt-facts").innerText(), "", "nothing of the appointment shows");
  await anonymous.goto(`${BASE}/telehealth`);
  await anonymous.locator("#gate").waitFor({ state: "visible" });
  assert.equal(await anonymous.locator("#gate").getAttribute("data-reason"), "login");

  // Another role logged in is told whom the page is for.
  const official = await login(OTHER, { link: false });
  assert.ok(await official.locator("#telehealth-link").isHidden(), "no telehealth link for a ward official");
  await official.goto(`${BASE}/telehealth`);
  await official.locator("#gate").waitFor({ state: "visible" });
  assert.equal(await official.locator("#gate").getAttribute("data-reason"), "role");
  assert.equal(await text(official, "#gate-text"), "Trang này dành cho bác sĩ và trạm y tế phường. Tài khoản của bạn không có vai trò đó.");
  assert.ok(await official.locator("#doctor-view").isHidden() && await official.locator("#clinic-view").isHidden());
  assert.deepEqual(problems, []);
});
