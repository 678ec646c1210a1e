// Citizen complaints through the pages: a citizen reports rubbish in Phường 1 with a photo,
// clicking the spot on the ward map; the ward's handler sees it in the queue, which also picks
// up a second report live; the handler takes it, starts, fixes it with a public comment and
// closes it from a second tab; the citizen tracks it by code, sees it closed with the comment, and rates it.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE, demoAccounts, launch, until } from "./lib.js";

const WARD = "27211"; // Phường 1
const HANDLER = "ward1.handler";
const HANDLER_NAME = "Xử lý phản ánh Phường 1";
const COMPLAINT_PAGES = ["/report", "/track", "/complaints"];

let browser;
let dir;
const problems = [];

before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), "q10-complaints-"));
});
after(async () => {
  if (browser) await browser.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Records console errors and uncaught exceptions of the complaint pages.
function watch(page, who) {
  const onOurPage = () => COMPLAINT_PAGES.includes(new URL(page.url()).pathname);
  page.on("console", (m) => {
    if (m.type() === "error" && onOurPage()) problems.push(`[${who}] ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`[${who}] ${page.url()}: ${e.message}`));
}

async function newPage(who) {
  const page = await (await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 900 } })).newPage();
  watch(page, who);
  return page;
}

// The page's projection, written out independently: x = 20 + (lon - west) k s, y = 20 + (north - lat) s.
function projection(features) {
  const pts = features.flatMap((f) => (f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates)).flat(2);
  const lons = pts.map((p) => p[0]);
  const lats = pts.map((p) => p[1]);
  const west = Math.min(...lons), east = Math.max(...lons), south = Math.min(...lats), north = Math.max(...lats);
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  const s = 960 / Math.max((east - west) * k, north - south);
  return ([lon, lat]) => [20 + (lon - west) * k * s, 20 + (north - lat) * s];
}

// The area centroid of a polygon's outer ring.
function centroid(ring) {
  let a = 0, cx = 0, cy = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[i + 1];
    const cross = x0 * y1 - x1 * y0;
    a += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  return [cx / (3 * a), cy / (3 * a)];
}

// Clicks the ward map at a longitude and latitude.
async function clickMapAt(page, features, lonLat) {
  const [x, y] = projection(features)(lonLat);
  await page.locator("#ward-map").scrollIntoViewIfNeeded();
  const [sx, sy] = await page.evaluate(([x, y]) => {
    const svg = document.getElementById("ward-map");
    const p = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM());
    return [p.x, p.y];
  }, [x, y]);
  await page.mouse.click(sx, sy);
}

// A small real JPEG, drawn and encoded by the browser, saved to a file to attach.
async function makeJpeg(page) {
  const b64 = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(64, 48);
    const g = canvas.getContext("2d");
    g.fillStyle = "#3a7d44";
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = "#f2c200";
    g.fillRect(16, 12, 32, 24);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 })).arrayBuffer());
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  const jpeg = Buffer.from(b64, "base64");
  assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], "a JPEG");
  const path = join(dir, "rac-thai.jpg");
  writeFileSync(path, jpeg);
  return path;
}

const text = (page, selector) => page.locator(selector).innerText();

test("a citizen reports rubbish with a photo, the ward's handler fixes and closes it, the citizen tracks and rates it", async () => {
  const started = Date.now();
  const shapes = await (await fetch(`${BASE}/api/v1/jurisdictions/boundaries?kind=ward`)).json();
  const wards = shapes.features.filter((f) => f.geometry);
  const ward = wards.find((f) => f.properties.code === WARD);
  assert.ok(ward, "Phường 1 has a boundary");
  const spot = centroid(ward.geometry.type === "Polygon" ? ward.geometry.coordinates[0] : ward.geometry.coordinates[0][0]);

  // The citizen files the report.
  const citizen = await newPage("citizen");
  await citizen.goto(BASE + "/report");
  await citizen.locator("body[data-ready]").waitFor({ state: "attached" });
  assert.equal(await citizen.locator("html").getAttribute("lang"), "vi");
  await citizen.locator("#category").selectOption("garbage");
  assert.equal(await citizen.locator("#category option:checked").innerText(), "Rác thải");
  const description = "Rác thải bỏ đầy vỉa hè trước số 12, chưa được thu gom từ hôm qua. " + Date.now();
  await citizen.locator("#description").fill(description);
  await clickMapAt(citizen, wards, spot);
  await until("the map to place the point in Phường 1", async () => (await citizen.locator("#point-ward").getAttribute("data-ward")) === WARD);
  assert.equal(await text(citizen, "#point-ward"), "Phường 1");
  const coords = citizen.locator("#point-coords");
  assert.ok(Math.abs(Number(await coords.getAttribute("data-lat")) - spot[1]) < 2e-4, "latitude of the click");
  assert.ok(Math.abs(Number(await coords.getAttribute("data-lon")) - spot[0]) < 2e-4, "longitude of the click");
  assert.ok(await citizen.locator("#ward-map .marker.shown").isVisible(), "a marker where the citizen clicked");

  await citizen.locator("#photos").setInputFiles(await makeJpeg(citizen));
  assert.match(await text(citizen, "#photos-chosen"), /rac-thai\.jpg \(\d+ KB\)/);
  await citizen.locator("#submit").click();
  await citizen.locator("#receipt").waitFor({ state: "visible" });
  const code = (await text(citizen, "#tracking-code")).trim();
  assert.match(code, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  const id = Number(await citizen.locator("#receipt-id").getAttribute("data-id"));
  assert.ok(id > 0);
  assert.match(await text(citizen, "#receipt"), /Mã theo dõi/);
  assert.match(await text(citizen, "#receipt-facts"), /Phường 1/);
  assert.equal(await text(citizen, "#receipt-facts .status"), "Đã tiếp nhận");
  assert.equal(await citizen.locator("#track-link").getAttribute("href"), "/track");
  assert.ok(!citizen.url().includes(code), "the code stays out of the URL");

  // The ward's handler opens the queue from the home page and finds it.
  const account = demoAccounts().find((a) => a.username === HANDLER);
  assert.ok(account, `demo account ${HANDLER}`);
  const handler = await newPage(HANDLER);
  await handler.goto(BASE + "/");
  await handler.locator('#login-form input[name="username"]').fill(account.username);
  await handler.locator('#login-form input[name="password"]').fill(account.password);
  await handler.locator('#login-form button[type="submit"]').click();
  await handler.locator("#complaints-link").waitFor({ state: "visible" });
  await handler.locator("#complaints-link").click();
  await handler.waitForURL(/\/complaints$/);
  const row = (n) => handler.locator(`#queue-table tbody tr[data-id="${n}"]`);
  await row(id).waitFor({ state: "visible" });
  assert.match(await row(id).innerText(), /Rác thải/);
  assert.equal(await row(id).getAttribute("data-status"), "submitted");
  await handler.evaluate(() => { window.stillThisPage = true; });

  // Back on the report page, the same spot offers the first report to follow; a second report
  // (noise) then reaches the handler's queue live.
  await citizen.locator("#another").click();
  await citizen.locator("#category").selectOption("garbage");
  await clickMapAt(citizen, wards, spot);
  const offered = citizen.locator(`#nearby-list li[data-id="${id}"]`);
  await offered.waitFor({ state: "visible" });
  assert.equal(await text(citizen, "#nearby-title"), "Có thể đã có người phản ánh việc này");
  await offered.locator("button.follow").click();
  await citizen.locator(`#followed li[data-id="${id}"] .status`).waitFor({ state: "visible" });
  assert.equal(await text(citizen, `#followed li[data-id="${id}"] .status`), "Đã tiếp nhận");
  await citizen.locator("#category").selectOption("noise");
  await citizen.locator("#description").fill("Karaoke ồn ào sau 22 giờ.");
  await citizen.locator("#submit").click();
  await citizen.locator("#receipt").waitFor({ state: "visible" });
  const second = Number(await citizen.locator("#receipt-id").getAttribute("data-id"));
  assert.notEqual(second, id);
  await row(second).waitFor({ state: "visible", timeout: 10_000 });
  assert.equal(await handler.evaluate(() => window.stillThisPage), true, "the queue refreshed without reloading the page");

  // The handler takes the first one, starts, fixes it with a public comment and closes it.
  await row(id).locator("button.open-complaint").click();
  await handler.locator(`#detail-body[data-id="${id}"]`).waitFor({ state: "visible" });
  assert.equal(await text(handler, "#d-description"), description);
  await until("the photo to show in the detail", () => handler.locator("#d-photos img").evaluate((img) => img.complete && img.naturalWidth > 0));
  const status = () => text(handler, "#d-status .status");
  const act = async (action, expected) => {
    await handler.locator(`#action-form button[data-action="${action}"]`).click();
    await until(`the status to become ${expected} after ${action}`, async () => (await status()) === expected);
  };
  await act("assign", "Đã phân công");
  assert.equal(await text(handler, "#d-handler"), HANDLER_NAME);
  await act("start", "Đang xử lý");
  await until("the queue to show the work started", async () => (await row(id).getAttribute("data-status")) === "in_progress");
  const comment = "Đã thu gom rác và vệ sinh vỉa hè.";
  await handler.locator("#action-note").fill(comment);
  await act("fix", "Đã khắc phục");
  assert.ok(await handler.locator('#action-form button[data-action="close"]').isVisible());
  assert.ok(await handler.locator('#action-form button[data-action="start"]').isHidden(), "no start once fixed");
  // Closed from a second tab, which never saw the login: it asks for the session's CSRF token.
  const tab = await handler.context().newPage();
  await tab.goto(BASE + "/complaints");
  await tab.locator("#f-open").uncheck();
  await tab.locator(`#queue-table tbody tr[data-id="${id}"] button.open-complaint`).click();
  await tab.locator(`#detail-body[data-id="${id}"]`).waitFor({ state: "visible" });
  await tab.locator('#action-form button[data-action="close"]').click();
  await until("the second tab to close it", async () => (await text(tab, "#d-status .status")) === "Đã đóng");
  assert.match(await text(tab, "#d-history"), new RegExp(comment));
  await tab.close();
  await until("the closed report to leave the open queue", async () => (await row(id).count()) === 0);
  await handler.locator("#f-open").uncheck();
  await until("the closed report in the full queue", async () => (await row(id).getAttribute("data-status")) === "closed");

  // The citizen tracks it by code, sees it closed with the comment, and rates it.
  await citizen.goto(BASE + "/track");
  await citizen.locator("body[data-ready]").waitFor({ state: "attached" });
  await citizen.locator("#code").fill(code.toLowerCase());
  await citizen.locator("#track-submit").click();
  await until("the first report to show", async () => (await text(citizen, "#result-title")).startsWith(`Phản ánh #${id}`));
  assert.ok(!citizen.url().includes(code) && !citizen.url().includes(code.toLowerCase()), "the code stays out of the URL");
  assert.equal(await text(citizen, "#result-status .status"), "Đã đóng");
  const timeline = await text(citizen, "#timeline");
  assert.match(timeline, new RegExp(comment));
  for (const step of ["Gửi phản ánh", "Phân công", "Bắt đầu xử lý", "Đã khắc phục", "Đóng phản ánh"]) assert.match(timeline, new RegExp(step));
  await until("the photo to be served", () => citizen.locator("#result-photos img").evaluate((img) => img.complete && img.naturalWidth > 0));
  assert.equal(await citizen.locator(`#followed li[data-id="${id}"] .status`).innerText(), "Đã đóng");
  assert.ok(await citizen.locator("#reopen-form").isVisible(), "a fixed report may be reopened");
  await citizen.locator("#rate-form").waitFor({ state: "visible" });
  await citizen.locator('#rate-stars input[value="5"]').check();
  await citizen.locator("#rate-comment").fill("Xử lý nhanh, cảm ơn phường.");
  await citizen.locator("#rate-submit").click();
  await until("the rating to be saved", async () => (await text(citizen, "#rating-done")) === "Đánh giá của bạn: 5/5. Cảm ơn bạn!");
  assert.ok(await citizen.locator("#rate-form").isHidden(), "rated once only");
  assert.match(await text(citizen, "#timeline"), /Đánh giá/);

  assert.deepEqual(problems, [], "no console errors on the complaint pages");
  assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
});
