// Shared pieces of the browser tests: the server `run` started (Q10_URL, Q10_BIN, Q10_DATA),
// Chromium with fake camera, microphone and screen, join tokens, and waiting for a condition.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export const BASE = need("Q10_URL");
const BIN = need("Q10_BIN");
const DATA = need("Q10_DATA");

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run the tests with tests/browser/run`);
  return v;
}

// Loopback WebRTC, fake capture devices (a test pattern and a beep; the screen is a fake one
// too), the permission prompts accepted, and nothing that reaches out to the network.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--allow-loopback-in-peer-connection",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
];

export function launch() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS });
}

// Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core (playwright-core drives only
// its own patched Firefox). Fake camera and microphone without a prompt, host candidates under
// their own addresses rather than mDNS names, nothing fetched from the network. Firefox gathers no
// loopback candidates (its loopback preference no longer takes), so its calls need a server whose
// media port is on the machine's own address.
export const FIREFOX = "/usr/bin/firefox-esr";

export function launchFirefox() {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      "media.navigator.streams.fake": true,
      "media.navigator.permission.disabled": true,
      "media.peerconnection.ice.obfuscate_host_addresses": false,
      "media.gmp-manager.updateEnabled": false,
      "media.autoplay.default": 0,
      "app.update.enabled": false,
      "browser.shell.checkDefaultBrowser": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "network.captive-portal-service.enabled": false,
      "extensions.update.enabled": false,
    },
  });
}

// axe-core's WCAG 2.2 A and AA findings on a page driven by puppeteer-core, as readable lines.
// The checker is evaluated by the driver, which the page's Content-Security-Policy does not bind.
export async function accessibilityProblemsOf(page) {
  await page.evaluate(readFileSync(AXE, "utf8") + "\n;undefined");
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.join(", ")}`);
}

export function token(room, identity, name, role) {
  return execFileSync(BIN, ["token", "--data", DATA, "--room", room, "--identity", identity, "--name", name, "--role", role, "--ttl", "10m"], {
    encoding: "utf8",
  }).trim();
}

// The demo accounts `q10 serve --demo` wrote: username, role, jurisdiction, password.
export function demoAccounts() {
  return readFileSync(join(DATA, "demo-accounts.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const [username, role, jurisdiction, password] = l.split("\t");
      return { username, role, jurisdiction, password };
    });
}

// Calls the API of the server `run` started, as `bearer` when given; fails the test on a refusal.
export async function api(method, path, bearer, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { "content-type": "application/json", ...(bearer ? { authorization: "Bearer " + bearer } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A demo account's access token.
export async function tokenOf(username) {
  const account = demoAccounts().find((a) => a.username === username);
  return (await api("POST", "/api/v1/auth/token", null, { username, password: account.password })).access_token;
}

// A sensor gateway's API key, made with the command an administrator would use.
export function gatewayKey(name) {
  return execFileSync(BIN, ["apikey", "create", name, "--data", DATA], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

// A gateway sends one reading of `sensor`, now; the server's report.
export function sendReading(key, sensor, value) {
  return fetch(`${BASE}/api/v1/sensors/readings`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key },
    body: JSON.stringify({ readings: [{ sensor, at: new Date().toISOString(), value }] }),
  });
}

// Polls `check` until it returns something truthy, or fails naming what did not happen and the
// last value seen.
export async function until(what, check, { timeout = 20_000, every = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// Opens the room page by a join link in a fresh browser context and joins.
export async function joinByLink(browser, room, identity, name, role) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${name}] page error:`, e.message));
  const tok = token(room, identity, name, role);
  await page.goto(`${BASE}/room#room=${encodeURIComponent(room)}&token=${encodeURIComponent(tok)}`);
  await page.locator("#join:not([disabled])").click();
  await page.locator("#call").waitFor({ state: "visible" });
  return page;
}

// The participant id this page joined as.
export function myId(page) {
  return page.locator('.tile[data-kind="self"]').getAttribute("data-participant");
}

// Inbound RTP statistics of the page's peer connection, by kind.
export function inbound(page) {
  return page.evaluate(async () => {
    const pc = window.q10room.pc;
    if (!pc) return [];
    const out = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      out.push({
        kind: s.kind,
        mid: s.mid,
        framesDecoded: s.framesDecoded || 0,
        packetsReceived: s.packetsReceived || 0,
        totalSamplesReceived: s.totalSamplesReceived || 0,
        totalAudioEnergy: s.totalAudioEnergy || 0,
      });
    });
    return out;
  });
}

// Received videos shown on the stage: tile kind, participant, label and decoded frames.
export async function remoteVideos(page) {
  const stats = await inbound(page);
  const tiles = await page.locator('.tile[data-kind="camera"], .tile[data-kind="screen"]').evaluateAll((els) =>
    els.map((el) => ({ kind: el.dataset.kind, participant: el.dataset.participant, mid: el.dataset.mid, label: el.querySelector(".tile-name").textContent })),
  );
  return tiles.map((t) => ({ ...t, framesDecoded: (stats.find((s) => s.kind === "video" && s.mid === t.mid) || {}).framesDecoded || 0 }));
}

// The WCAG 2.2 A and AA rules axe-core finds broken on the page (contrast, names, labels,
// landmarks…), as readable lines. The page's context must bypass its Content-Security-Policy,
// which rightly refuses the injected checker.
export async function accessibilityProblems(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }));
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
