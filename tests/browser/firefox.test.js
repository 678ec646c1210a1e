// The operators' and leaders' pages in Firefox (Debian's Firefox ESR over WebDriver BiDi), at a
// laptop's 1366×768 and on a 4K wall: the operator's console shows the district's wards on the
// map, takes a sensor placed from the keyboard, receives its critical alert pushed live and
// acknowledges it; the camera wall says plainly when the browser cannot decode the cameras' H.264;
// the leader's tiles follow a complaint without a reload and the pages fit both screens; two
// Firefox participants and a Chromium one see and hear each other in a conference room (on a
// server of the test's own whose media port is on the machine's address: Firefox gathers no
// loopback candidates). axe-core checks WCAG 2.2 AA in Firefox too.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { BASE, accessibilityProblemsOf, api, demoAccounts, gatewayKey, launch, launchFirefox, sendReading, tokenOf, until } from "./lib.js";

const WARD = "27211"; // Phường 1
const SPOT = { lat: 10.7725, lon: 106.66725 }; // inside Phường 1
const LAPTOP = { width: 1366, height: 768 };
const WALL = { width: 3840, height: 2160 };
let firefox;
let chromium;

before(async () => {
  firefox = await launchFirefox();
});
after(async () => {
  if (firefox) await firefox.close();
  if (chromium) await chromium.close();
});

// A fresh Firefox profile context, logged in on the home page, gone on to the page behind `link`.
async function loggedIn(username, link, viewport = LAPTOP) {
  const account = demoAccounts().find((a) => a.username === username);
  const context = await firefox.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(viewport);
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(BASE + "/");
  await page.type('#login-form input[name="username"]', account.username);
  await page.type('#login-form input[name="password"]', account.password);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector(`#${link}`, { visible: true });
  await Promise.all([page.waitForNavigation(), page.click(`#${link}`)]);
  return { page, context, problems };
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent);
const visible = (page, selector) => page.$eval(selector, (e) => !e.hidden && e.getClientRects().length > 0).catch(() => false);
const fits = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

// Clicks the middle of an element, as a person with a mouse would.
async function clickMiddle(page, selector) {
  const handle = await page.waitForSelector(selector);
  await handle.scrollIntoView();
  const box = await handle.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

test("in Firefox, an operator's console shows the wards, pushes a sensor's critical alert and takes its acknowledgement", async () => {
  // A camera to watch; it points at nothing, and the wall is tried all the same.
  const operator = await tokenOf("operator");
  const camera = "ff-cam-" + Date.now();
  await api("POST", "/api/v1/cameras", operator, {
    code: camera, name: "Camera thử Firefox", unit_code: WARD, ...SPOT, source: "rtsp://127.0.0.1:9/live",
  });

  const { page, context, problems } = await loggedIn("operator", "console-link");
  await until("the live feed to connect", async () => (await text(page, "#live-state")).includes("●"));
  await until("the wards on the map", async () => (await page.$$("#console-map path[data-ward]")).length === 15);
  assert.ok(await fits(page), "the console fits 1366×768");

  // A sensor placed from the keyboard: the map takes focus and Enter places the cross-hair's point.
  const code = "ff-server-room-" + Date.now();
  await page.type("#s-code", code);
  await page.type("#s-name", "Nhiệt độ phòng máy chủ (Firefox)");
  await page.select("#s-kind", "temperature");
  await page.select("#s-where", WARD);
  await page.type("#s-low", "10");
  await page.type("#s-high", "30");
  await page.select("#s-severity", "critical");
  await page.focus("#console-map");
  await page.keyboard.press("Enter");
  assert.match(await text(page, "#s-place"), /10\.\d+, 106\.\d+/, "placed from the keyboard");
  // And by a click inside Phường 1, which chooses the ward from the point.
  await clickMiddle(page, `#console-map path[data-ward="${WARD}"]`);
  assert.equal(await page.$eval("#s-where", (e) => e.value), WARD);
  await page.click('#sensor-form button[type="submit"]');
  await page.waitForSelector(`#sensor-table tr[data-code="${code}"]`);
  await page.waitForSelector(`#console-map path[data-sensor="${code}"]`);

  // A gateway's reading past the threshold: the alert arrives on the open page, critical.
  await page.click("#sound");
  const res = await sendReading(gatewayKey("firefox-test-gateway"), code, 34.5);
  assert.equal(res.status, 200);
  const id = (await res.json()).alerts_raised[0];
  const row = `#alert-table tr[data-id="${id}"]`;
  await page.waitForSelector(row, { timeout: 10_000 });
  assert.match(await text(page, row), /Khẩn cấp/);
  assert.ok(await visible(page, "#critical"), "a new critical alert shows the banner");
  await page.click(`${row} button[aria-label^="Tiếp nhận cảnh báo"]`);
  await until("the alert to be acknowledged", async () => /Đã tiếp nhận/.test(await text(page, row)));

  // The wall: Firefox plays the cameras' H.264 when it has its OpenH264 plugin; without it, the
  // tile says so instead of staying black.
  const h264 = await page.evaluate(() => RTCRtpReceiver.getCapabilities("video").codecs.some((c) => c.mimeType.toLowerCase() === "video/h264"));
  await page.click(`#camera-table tr[data-camera="${camera}"] button[aria-label^="Xem trực tiếp camera"]`);
  const tile = `#camera-wall figure[data-camera="${camera}"] figcaption`;
  await page.waitForSelector(tile);
  if (h264) {
    await until("the tile to try the camera", async () => !/Đang kết nối/.test(await text(page, tile)));
    assert.doesNotMatch(await text(page, tile), /OpenH264/);
  } else {
    await until("the tile to say why", async () => /H\.264.*OpenH264/.test(await text(page, tile)));
  }
  console.log(`firefox: ${await firefox.version()}; H.264 in WebRTC: ${h264}`);

  assert.deepEqual(await accessibilityProblemsOf(page), [], "WCAG 2.2 AA in Vietnamese");
  await page.click("#lang");
  assert.equal(await text(page, "h1 span"), "Monitoring console");
  assert.match(await text(page, row), /Acknowledged/);
  assert.deepEqual(await accessibilityProblemsOf(page), [], "WCAG 2.2 AA in English");
  await page.click("#lang");
  assert.deepEqual(problems, []);
  await context.close();
});

test("in Firefox, a leader's tiles follow a complaint, and the dashboard and console fit a laptop and a 4K wall", async () => {
  const { page, context, problems } = await loggedIn("district.official", "dashboard-link");
  await until("the live feed to connect", async () => (await text(page, "#live-state")).includes("●"));
  assert.equal(await text(page, "#card-title"), "Quận 10");
  await until("the wards", async () => (await page.$$("#ward-table tbody tr")).length === 15);
  const count = async (kpi) => Number((await text(page, `[data-kpi="${kpi}"] .value`)).replace(/\D/g, ""));
  const received = await count("complaints.received");
  const resolved = await count("complaints.resolved");
  const filed = await api("POST", "/api/v1/complaints", null, {
    category: "garbage", description: "Rác tồn đọng trước chợ (Firefox) " + Date.now(), ...SPOT,
  });
  await until("the new complaint to count", async () => (await count("complaints.received")) === received + 1);
  const handler = await tokenOf("ward1.handler");
  for (const action of ["assign", "fix", "close"]) {
    await api("POST", `/api/v1/complaints/${filed.id}/actions`, handler, { action });
  }
  await until("the closed complaint to count as resolved", async () => (await count("complaints.resolved")) === resolved + 1);
  assert.deepEqual(await accessibilityProblemsOf(page), [], "WCAG 2.2 AA");

  for (const viewport of [LAPTOP, WALL]) {
    await page.setViewport(viewport);
    await page.goto(BASE + "/dashboard");
    await page.waitForSelector("#trend-chart canvas");
    await until("the wards", async () => (await page.$$("#ward-table tbody tr")).length === 15);
    assert.ok(await fits(page), `the dashboard fits ${viewport.width}×${viewport.height}`);
    const chart = await page.$eval("#trend-chart .uplot", (e) => e.getBoundingClientRect().width);
    assert.ok(chart > viewport.width * 0.8, `the chart spans the page at ${viewport.width} px (${chart})`);
    const type = await page.evaluate(() => getComputedStyle(document.body).fontSize);
    assert.equal(type, viewport.width >= 2560 ? "24px" : "16px", "larger type on a wall");
    await page.goto(BASE + "/console");
    await page.waitForSelector("#console-map path[data-ward]");
    assert.ok(await fits(page), `the console fits ${viewport.width}×${viewport.height}`);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

// What a room page shows of the others: per camera tile, the participant, its picture's width and
// the frames its video element presented in the last second (counted with
// requestVideoFrameCallback, which both browsers have); and the audio streams that brought packets.
// The page is brought to the front first: a page behind another presents no frames.
async function stage(page) {
  await page.bringToFront();
  return page.evaluate(async () => {
    const presented = (v) => new Promise((resolve) => {
      let n = 0;
      const count = () => { n += 1; v.requestVideoFrameCallback(count); };
      v.requestVideoFrameCallback(count);
      setTimeout(() => resolve(n), 1000);
    });
    const tiles = await Promise.all([...document.querySelectorAll('.tile[data-kind="camera"]')].map(async (t) => {
      const v = t.querySelector("video");
      return { participant: t.dataset.participant, width: v ? v.videoWidth : 0, frames: v ? await presented(v) : 0 };
    }));
    let heard = 0;
    if (window.q10room && window.q10room.pc) {
      (await window.q10room.pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio" && s.packetsReceived > 0) heard += 1;
      });
    }
    return { tiles, heard };
  });
}

// The machine's own IPv4 address: Firefox's calls cannot use loopback.
function ownAddress() {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list || []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

// A `q10 serve --demo` of the test's own, its media port on `address`; stopped when done.
async function serverWithMediaOn(address) {
  const data = mkdtempSync(join(tmpdir(), "q10-firefox-"));
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.Q10_BIN, ["serve", "--demo", "--data", data, "--http", `127.0.0.1:${port}`, "--media-udp", `${address}:0`], { stdio: "ignore" });
  await until("the server to answer", async () => (await fetch(base + "/readyz").catch(() => null))?.ok, { timeout: 60_000 });
  const link = (room, identity, name, role) => {
    const tok = execFileSync(process.env.Q10_BIN, ["token", "--data", data, "--room", room, "--identity", identity, "--name", name, "--role", role, "--ttl", "10m"], {
      encoding: "utf8",
    }).trim();
    return `${base}/room#room=${encodeURIComponent(room)}&token=${encodeURIComponent(tok)}`;
  };
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    rmSync(data, { recursive: true, force: true });
  };
  return { link, stop };
}

test("in a conference room, two Firefox participants and a Chromium one see and hear each other", async (t) => {
  const address = ownAddress();
  if (!address) {
    t.skip("this machine has no network address but loopback, where Firefox makes no calls");
    return;
  }
  const server = await serverWithMediaOn(address);
  t.after(server.stop);
  const room = "firefox-" + Date.now();
  const people = [];
  for (const [identity, name] of [["ff-an", "An (Firefox)"], ["ff-binh", "Bình (Firefox)"]]) {
    const context = await firefox.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(LAPTOP);
    await page.goto(server.link(room, identity, name, identity === "ff-an" ? "host" : "speaker"));
    await page.waitForSelector("#join:not([disabled])");
    await page.click("#join");
    await page.waitForSelector("#call", { visible: true });
    const id = await page.$eval('.tile[data-kind="self"]', (e) => e.dataset.participant);
    people.push({ name, id, page, context });
  }
  chromium = await launch();
  const chi = await (await chromium.newContext()).newPage();
  await chi.goto(server.link(room, "cr-chi", "Chi (Chromium)", "speaker"));
  await chi.locator("#join:not([disabled])").click();
  await chi.locator("#call").waitFor({ state: "visible" });
  const chiId = await chi.locator('.tile[data-kind="self"]').getAttribute("data-participant");

  for (const me of people) {
    const others = [...people.filter((p) => p !== me).map((p) => p.id), chiId];
    await until(`${me.name} to show both other cameras and hear both microphones`, async () => {
      const seen = await stage(me.page);
      const ok = others.every((o) => seen.tiles.some((t) => t.participant === o && t.width > 0 && t.frames > 0)) && seen.heard >= 2;
      if (!ok) throw new Error(JSON.stringify(seen));
      return seen;
    }, { timeout: 30_000 });
  }
  await until("Chromium to show both Firefox cameras", async () => {
    const seen = await stage(chi);
    const ok = people.every((p) => seen.tiles.some((t) => t.participant === p.id && t.width > 0 && t.frames > 0)) && seen.heard >= 2;
    if (!ok) throw new Error(JSON.stringify(seen));
    return seen;
  }, { timeout: 30_000 });
  // Once everyone is in: what each page shows of the others, a second long.
  for (const [name, page] of [...people.map((p) => [p.name, p.page]), ["Chi (Chromium)", chi]]) {
    const seen = await stage(page);
    console.log(`firefox room: ${name} shows ${seen.tiles.map((t) => `${t.width} px at ${t.frames} frames/s`).join(", ")}; hears ${seen.heard}`);
  }
  assert.deepEqual(await accessibilityProblemsOf(people[0].page), [], "the room passes WCAG 2.2 AA in Firefox");
  for (const p of people) await p.context.close();
});
