// A street kiosk calls the officer on duty and the operator answers in the console: the kiosk is
// the real kiosk program's call (`q10-kiosk call`: webrtc-rs, Opus through libopus, the
// officer's H.264 decoded by OpenH264), sending a tone and its test picture encoded as H.264 by
// OpenH264; the call rings in the open console (pushed by the live feed), the operator answers
// and they talk: the console hears the kiosk's tone and shows its picture, and the kiosk decodes
// the operator's camera. The kiosk hangs up and the console says so.
// The kiosk's fleet row shows it online after its heartbeat, and its screenshot can be asked for.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { BASE, accessibilityProblems, demoAccounts, launch, until } from "./lib.js";

const KIOSK_BIN = process.env.Q10_KIOSK_BIN;
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

// Logs in on the home page and opens the console from it, its live feed connected.
async function openConsole(page, account) {
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#console-link").click();
  await page.waitForURL(/\/console$/);
  await until("the live feed to connect", async () => (await page.locator("#live-state").textContent()).includes("●"));
}

// Runs `q10-kiosk call` as the demo's kiosk; resolves with its JSON lines when it exits.
function kioskCalls(seconds) {
  const kiosk = demoAccounts().find((a) => a.role === "kiosk_device");
  const child = spawn(KIOSK_BIN, ["call", "--core", BASE, "--tone", "--camera", "test", "--seconds", String(seconds), "--ring-seconds", "60"], {
    env: { ...process.env, Q10_KIOSK_USERNAME: kiosk.username, Q10_KIOSK_PASSWORD: kiosk.password },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const lines = () => out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const done = new Promise((resolve, reject) => {
    child.on("exit", (code) => (code === 0 ? resolve(lines()) : reject(new Error(`q10-kiosk call exited with ${code}: ${err}`))));
  });
  return { lines, done, child, said: () => `lines: ${out}\nstderr: ${err}` };
}

test("an operator answers a kiosk's call in the console and they hear and see each other", { timeout: 120_000 }, async () => {
  assert.ok(KIOSK_BIN, "Q10_KIOSK_BIN is set by tests/browser/run");
  const account = demoAccounts().find((a) => a.username === "operator");
  const context = await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 768 }, bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await openConsole(page, account);
  await page.locator("#sound").check();

  // The kiosk calls: it rings in the console without a reload.
  const call = kioskCalls(12);
  const ringing = page.locator("#kiosk-ringing .ringing");
  await until("the call to ring in the console", async () => (await ringing.count()) === 1, { timeout: 30_000 });
  assert.match(await ringing.textContent(), /Kiosk Phường 1/);
  assert.ok(call.lines().some((l) => l.event === "ringing"), JSON.stringify(call.lines()));
  assert.deepEqual(await accessibilityProblems(page), [], "the console with a call ringing");

  // Answered: the panel opens with the kiosk's sound, and our camera goes to the kiosk as H.264.
  await page.getByRole("button", { name: "Trả lời cuộc gọi từ Kiosk Phường 1" }).click();
  await page.locator("#kiosk-call").waitFor({ state: "visible" });
  await until("the kiosk to hear the officer has answered", async () => call.lines().some((l) => l.event === "answered"), { timeout: 30_000 });
  const heard = await until("the kiosk's tone to be heard in the console", async () => {
    const s = await page.evaluate(() => window.q10KioskCall && window.q10KioskCall());
    const audio = s && s.inbound.find((x) => x.kind === "audio" && x.packets > 50 && x.energy > 0);
    return audio && s;
  }, { timeout: 30_000 });
  const video = heard.outbound.find((x) => x.kind === "video");
  assert.ok(video && video.codec === "video/H264", `the console sends H.264: ${JSON.stringify(heard.outbound)}`);
  const decoded = () => call.lines().some((l) => l.event === "picture" && l.width > 0 && l.height > 0);
  await until("the kiosk to decode the officer's picture", async () => decoded(), { timeout: 20_000 }).catch((e) => {
    throw new Error(`${e.message}\n${call.said()}`);
  });
  // The kiosk's picture: decoded in the console at its size, and playing in the call's panel.
  const seen = await until("the kiosk's picture to play in the console", async () => {
    const s = await page.evaluate(() => window.q10KioskCall && window.q10KioskCall());
    const v = s && s.inbound.find((x) => x.kind === "video" && x.frames > 30);
    return v;
  }, { timeout: 30_000 });
  assert.deepEqual([seen.width, seen.height, seen.codec], [640, 360, "video/H264"], JSON.stringify(seen));
  const shown = await page.locator("#kiosk-call-video").evaluate((v) => [v.videoWidth, v.videoHeight, v.paused]);
  assert.deepEqual(shown, [640, 360, false], "the panel plays the kiosk's picture");
  const later = await page.evaluate(async () => {
    const before = (await window.q10KioskCall()).inbound.find((x) => x.kind === "video").frames;
    await new Promise((r) => setTimeout(r, 2000));
    return (await window.q10KioskCall()).inbound.find((x) => x.kind === "video").frames - before;
  });
  assert.ok(later >= 10, `the kiosk's picture keeps coming: ${later} frames in 2 s`);
  console.log(`kiosk camera in the console: ${seen.width}×${seen.height} ${seen.codec}, ${later / 2} frames/s`);

  // The kiosk hangs up after its seconds: the console's panel closes and says so.
  const lines = await call.done;
  const summary = lines.find((l) => l.event === "summary").summary;
  assert.equal(summary.answered, true, JSON.stringify(summary));
  assert.equal(summary.end, "HungUp");
  assert.ok(summary.audio_sent > 200, `the kiosk sent its voice: ${JSON.stringify(summary)}`);
  assert.ok(summary.audio_received > 100 && summary.samples_played > 100 * 480, `the kiosk played the officer's sound: ${JSON.stringify(summary)}`);
  assert.ok(summary.pictures > 20, `the kiosk decoded the officer's pictures: ${JSON.stringify(summary)}`);
  assert.ok(summary.video_sent > 60, `the kiosk sent its pictures: ${JSON.stringify(summary)}`);
  assert.deepEqual(summary.video_size, [640, 360]);
  console.log(`kiosk call: ${JSON.stringify(summary)}`);
  await page.locator("#kiosk-call").waitFor({ state: "hidden", timeout: 20_000 });
  assert.match(await page.locator("#kiosk-done").textContent(), /Kiosk đã kết thúc cuộc gọi|Cuộc gọi đã kết thúc/);
  const calls = await page.evaluate(async () => (await fetch("/api/v1/kiosk-calls")).json());
  assert.equal(calls[0].status, "ended", JSON.stringify(calls[0]));
  assert.equal(calls[0].officer, "Trực trung tâm điều hành");
  assert.deepEqual(problems, []);
  await context.close();
});

test("the console lists the kiosk online after its heartbeat and shows its screenshot", { timeout: 60_000 }, async () => {
  const account = demoAccounts().find((a) => a.username === "operator");
  const kiosk = demoAccounts().find((a) => a.role === "kiosk_device");
  const login = await fetch(`${BASE}/api/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: kiosk.username, password: kiosk.password }),
  });
  const { access_token: token } = await login.json();
  const beat = () => fetch(`${BASE}/api/v1/kiosk/heartbeat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ version: "0.1.0", uptime_seconds: 60, printer: "none", network: "wired (eth0)" }),
  }).then((r) => r.json());
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1366, height: 768 }, bypassCSP: true });
  const page = await context.newPage();
  await openConsole(page, account);
  await beat();
  const row = page.locator('#kiosk-table tr[data-kiosk="kiosk.ward1"]');
  await until("the kiosk to show online", async () => (await row.textContent()).includes("0.1.0") && (await row.locator(".kstate-online").count()) === 1);
  // A screenshot asked for reaches the kiosk at its next heartbeat; it sends one; it is shown.
  // (The click's request may still be on its way when the first heartbeat goes: the kiosk is told
  // at the first heartbeat after it lands.)
  await row.getByRole("button", { name: /Take a screenshot|Chụp màn hình/ }).click();
  await until("a heartbeat to carry the request", async () => (await beat()).screenshot_requested === true);
  const png = await page.screenshot({ clip: { x: 0, y: 0, width: 64, height: 48 } });
  const put = await fetch(`${BASE}/api/v1/kiosk/screenshot`, { method: "PUT", headers: { "content-type": "image/png", authorization: `Bearer ${token}` }, body: png });
  assert.equal(put.status, 204);
  await until("the screenshot to be offered", async () => (await row.getByRole("button", { name: /View the screenshot|Xem ảnh màn hình/ }).count()) === 1);
  await row.getByRole("button", { name: /View the screenshot|Xem ảnh màn hình/ }).click();
  await until("the screenshot to load", async () => page.locator("#kiosk-shot-img").evaluate((img) => img.complete && img.naturalWidth === 64));
  assert.deepEqual(await accessibilityProblems(page), [], "the console with the kiosks and a screenshot");
  await context.close();
});
