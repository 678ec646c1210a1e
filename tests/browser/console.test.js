// The operators' monitoring console: the operator logs in, opens the console from the home page,
// sees a complaint just filed on the map and not on the timeline's map of 24 hours ago, registers
// a server-room thermometer in Phường 1 with a critical upper threshold; a gateway sends a
// reading past it, and the alert appears on the open page without a reload (pushed by the live
// feed) with the critical banner; the operator acknowledges it, assigns it to the ward's
// official and resolves it with a note, then starts a video call with the ward about it and one
// with another ward; the page reads in English too.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE, accessibilityProblems, demoAccounts, gatewayKey, launch, sendReading, until } from "./lib.js";

const WARD = "27211"; // Phường 1
let browser;
const problems = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

async function send(key, sensor, value) {
  const res = await sendReading(key, sensor, value);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

test("an operator sees a sensor's alert pushed live, acknowledges, assigns and resolves it", async () => {
  const account = demoAccounts().find((a) => a.username === "operator");
  const context = await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 768 }, bypassCSP: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(e.message));
  // Refused requests (the deliberate bad inputs below) are logged by the browser; script errors
  // are what must not happen.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#console-link").click();
  await page.waitForURL(/\/console$/);
  await until("the live feed to connect", async () => (await page.locator("#live-state").textContent()).includes("●"));

  // A complaint filed now appears on the map; on the timeline, 24 hours ago, it had not been filed.
  const filed = await fetch(BASE + "/api/v1/complaints", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ category: "garbage", description: "Rác tồn đọng trên vỉa hè " + Date.now(), lat: 10.7725, lon: 106.66725 }),
  });
  assert.equal(filed.status, 201);
  const square = page.locator(`#console-map path[data-complaint="${(await filed.json()).id}"]`);
  await square.waitFor();
  await page.locator("#timeline").fill("0");
  assert.equal(await square.count(), 0, "not on the map of 24 hours ago");
  assert.match(await page.locator("#timeline-at").textContent(), /: 0 phản ánh/);
  await page.locator("#timeline").fill("96");
  await square.waitFor();

  // Registering a sensor; a bad threshold pair is refused with a clear reason first.
  const code = "p1-server-room-" + Date.now();
  await page.locator("#s-code").fill(code);
  await page.locator("#s-name").fill("Nhiệt độ phòng máy chủ UBND Phường 1");
  await page.locator("#s-kind").selectOption("temperature");
  await page.locator("#s-where").selectOption(WARD);
  await page.locator("#s-low").fill("35");
  await page.locator("#s-high").fill("30");
  await page.locator("#s-severity").selectOption("critical");
  // The map zooms with its button; Enter places a point at the cross-hair in its middle.
  const ward = page.locator(`#console-map path[data-ward="${WARD}"]`);
  await ward.scrollIntoViewIfNeeded();
  const before = (await ward.boundingBox()).width;
  await page.locator("#console-map .leaflet-control-zoom-in").click();
  await until("the map to zoom in", async () => (await ward.boundingBox()).width > before * 1.2);
  await page.locator("#console-map").focus();
  await page.keyboard.press("Enter");
  assert.match(await page.locator("#s-place").textContent(), /10\.\d+, 106\.\d+/, "placed from the keyboard");
  // Placed on the map, inside Phường 1: the ward is chosen from the point.
  await ward.scrollIntoViewIfNeeded();
  const box = await ward.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  assert.match(await page.locator("#s-place").textContent(), /10\.\d+, 106\.\d+/);
  assert.equal(await page.locator("#s-where").inputValue(), WARD);
  await page.locator('#sensor-form button[type="submit"]').click();
  await until("the threshold error", () => page.locator("#sensor-error").isVisible());
  await page.locator("#s-low").fill("10");
  await page.locator('#sensor-form button[type="submit"]').click();
  const row = page.locator(`#sensor-table tr[data-code="${code}"]`);
  await row.waitFor();
  assert.doesNotMatch(await page.locator("#s-place").textContent(), /10\.\d+/, "the form starts afresh");
  assert.match(await row.textContent(), /Phường 1/);
  const dot = page.locator(`#console-map path[data-sensor="${code}"]`);
  const looks = async () => (await dot.getAttribute("class")).split(" ").filter((c) => c.startsWith("sensor-")).join(" ");
  assert.equal(await looks(), "sensor-ok", "the sensor is on the map");

  await page.locator("#sound").check();
  const key = gatewayKey("console-test-gateway");
  const report = await send(key, code, 34.5);
  assert.equal(report.alerts_raised.length, 1);
  const id = report.alerts_raised[0];
  const alertRow = page.locator(`#alert-table tr[data-id="${id}"]`);
  await alertRow.waitFor({ timeout: 10_000 });
  assert.match(await alertRow.textContent(), /Khẩn cấp/);
  assert.match(await alertRow.textContent(), /Mới/);
  assert.ok(await page.locator("#critical").isVisible(), "a new critical alert shows the banner");
  assert.match(await row.textContent(), /34\.5/, "the sensor shows its latest value");
  await until("the sensor to turn red on the map", async () => (await looks()) === "sensor-alerting");

  await alertRow.getByRole("button", { name: /Tiếp nhận cảnh báo/ }).click();
  await until("the alert to be acknowledged", async () => /Đã tiếp nhận/.test(await alertRow.textContent()));

  await alertRow.getByRole("button", { name: /Mở cảnh báo/ }).click();
  await page.locator("#assignee").fill("ward1.official");
  await page.locator("#do-assign").click();
  await until("the assignee", async () => /Cán bộ Phường 1/.test(await alertRow.textContent()));
  await page.locator("#assignee").fill("nobody.here");
  await page.locator("#do-assign").click();
  await until("the refusal of an unknown colleague", () => page.locator("#act-error").isVisible());

  // Back within the threshold; then resolved with what was done.
  await send(key, code, 24);
  await until("the reading to clear on the page", async () => /24/.test(await row.textContent()));
  // The sensor's readings as a chart, with its thresholds.
  await row.getByRole("button", { name: /Xem số đo/ }).click();
  await page.locator("#sensor-chart canvas").waitFor();
  assert.match(await page.locator("#sensor-chart-summary").textContent(), /^2 số đo, thấp nhất 24 °C, cao nhất 34\.5 °C/);
  assert.match(await page.locator("#sensor-chart").innerText(), /Ngưỡng trên/, "the threshold is in the legend");
  await page.locator("#resolve-note").fill("Đã khởi động lại máy lạnh phòng máy chủ");
  await page.locator("#do-resolve").click();
  await until("the alert to be resolved", async () => /Đã xử lý xong/.test(await alertRow.textContent()));
  assert.ok(await page.locator("#do-resolve").isDisabled(), "a resolved alert takes no more actions");
  assert.match(await page.locator("#d-facts").textContent(), /máy lạnh/);
  await until("the sensor to be back to normal on the map", async () => (await looks()) === "sensor-ok");
  await page.locator("#layer-sensors").uncheck();
  assert.ok(await dot.isHidden(), "the sensors layer can be hidden");
  await page.locator("#layer-sensors").check();

  // A video call with the ward about the alert: a meeting Phường 1 is invited to, starting now.
  await page.locator("#do-call").click();
  const join = page.locator("#act-done a.join-call");
  await join.waitFor();
  const meeting = (await join.getAttribute("href")).match(/^\/room#meeting=(\d+)$/);
  assert.ok(meeting, "a link into the call's room");
  const official = demoAccounts().find((a) => a.username === "ward1.official");
  const tokenRes = await fetch(`${BASE}/api/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: official.username, password: official.password }),
  });
  const { access_token: officialToken } = await tokenRes.json();
  const invited = await (await fetch(`${BASE}/api/v1/meetings`, { headers: { authorization: "Bearer " + officialToken } })).json();
  assert.ok(invited.some((m) => String(m.id) === meeting[1] && /máy chủ/.test(m.title)), "Phường 1's official is invited: " + JSON.stringify(invited));
  // Or any ward, from the calls panel.
  await page.locator("#call-unit").selectOption("27190");
  await page.locator('#call-form button[type="submit"]').click();
  await page.locator("#call-done a.join-call").waitFor();
  assert.match(await page.locator("#call-done").textContent(), /Phường 15/);

  assert.deepEqual(await accessibilityProblems(page), [], "WCAG 2.2 AA in Vietnamese");
  await page.locator("#lang").click();
  assert.equal(await page.locator("h1 span").textContent(), "Monitoring console");
  assert.match(await alertRow.textContent(), /Resolved/);
  assert.deepEqual(await accessibilityProblems(page), [], "WCAG 2.2 AA in English");
  assert.deepEqual(problems, []);
});

test("a clinic's account is turned away from the console", async () => {
  const account = demoAccounts().find((a) => a.username === "ward1.clinic");
  const page = await (await browser.newContext()).newPage();
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#logout").waitFor();
  assert.ok(await page.locator("#console-link").isHidden(), "no link to the console");
  await page.goto(BASE + "/console");
  await page.locator("#gate").waitFor();
  assert.ok(await page.locator("#console-view").isHidden());
});
