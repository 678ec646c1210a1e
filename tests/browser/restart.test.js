// The console survives a restart of the server without a reload: an operator's open console
// shows the live feed lost while the server is down, reconnects by itself when it is back (the
// session is kept in the database), and then shows an alert raised after the restart. Runs its
// own `q10 serve --demo` (the one `run` started stays up for the other tests).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, until } from "./lib.js";

const BIN = process.env.Q10_BIN;
const data = mkdtempSync(join(tmpdir(), "q10-restart-"));
let browser;
let server = null;
let base;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function start(port) {
  server = spawn(BIN, ["serve", "--demo", "--data", data, "--http", `127.0.0.1:${port}`, "--media-udp", "127.0.0.1:0"], {
    stdio: "ignore",
  });
  await until("the server to answer", async () => (await fetch(base + "/readyz").catch(() => null))?.ok, { timeout: 60_000 });
}

async function stop() {
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
  server = null;
}

before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (server) await stop();
  rmSync(data, { recursive: true, force: true });
});

async function call(method, path, headers, body) {
  const res = await fetch(base + path, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

test("an open console reconnects after the server restarts and shows what happened after", async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await start(port);
  const operator = readFileSync(join(data, "demo-accounts.txt"), "utf8").split("\n").map((l) => l.split("\t"))
    .find(([username]) => username === "operator");
  const page = await (await browser.newContext({ locale: "vi-VN", viewport: { width: 1366, height: 768 } })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + "/");
  await page.locator('#login-form input[name="username"]').fill(operator[0]);
  await page.locator('#login-form input[name="password"]').fill(operator[3]);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#console-link").click();
  await page.waitForURL(/\/console$/);
  const live = () => page.locator("#live-state").textContent();
  await until("the live feed to connect", async () => (await live()).includes("●"));
  await page.evaluate(() => { window.sameDocument = true; });

  await stop();
  await until("the console to show the feed lost", async () => (await live()).includes("○"));
  await start(port);
  await until("the console to reconnect by itself", async () => (await live()).includes("●"), { timeout: 30_000 });

  // After the restart: a sensor, a gateway's reading past its threshold, and the alert on the page.
  const { access_token: token } = await call("POST", "/api/v1/auth/token", {}, { username: operator[0], password: operator[3] });
  const code = "restart-probe";
  await call("POST", "/api/v1/sensors", { authorization: "Bearer " + token }, {
    code, name: "Nhiệt độ phòng máy chủ", kind: "temperature", unit: "°C", unit_code: "27211",
    lon: 106.667, lat: 10.768, low: 10, high: 30, severity: "high",
  });
  const key = execFileSync(BIN, ["apikey", "create", "restart-gateway", "--data", data], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  const report = await call("POST", "/api/v1/sensors/readings", { "x-api-key": key }, {
    readings: [{ sensor: code, at: new Date().toISOString(), value: 41 }],
  });
  const id = report.alerts_raised[0];
  await page.locator(`#alert-table tr[data-id="${id}"]`).waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true, "the page was not reloaded");
  assert.deepEqual(errors, []);
});
