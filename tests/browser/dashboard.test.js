// The command dashboard: the district official logs in, opens the dashboard from the home page and
// sees the district's scorecard, complaints per day and the wards side by side; a complaint is
// filed, then fixed and closed by the ward's handler, and the open page's tiles follow without a
// reload (pushed by the live feed); the CSV export carries the same figures; a ward official sees
// their own ward only; the page reads in English too and passes the WCAG 2.2 AA checks.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE, accessibilityProblems, api, demoAccounts, launch, tokenOf, until } from "./lib.js";

const WARD = "27211"; // Phường 1
const SPOT = { lat: 10.7725, lon: 106.66725 }; // inside Phường 1
let browser;
const problems = [];

before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

async function loggedIn(username, locale = "vi-VN") {
  const account = demoAccounts().find((a) => a.username === username);
  const context = await browser.newContext({ locale, viewport: { width: 1366, height: 768 }, bypassCSP: true, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#dashboard-link").click();
  await page.waitForURL(/\/dashboard$/);
  return page;
}

const figure = (page, key) => page.locator(`[data-kpi="${key}"] .value`).innerText();
const count = async (page, key) => Number((await figure(page, key)).replace(/\D/g, ""));

test("a leader's tiles follow a complaint as it is filed and closed, and export as CSV", async () => {
  const page = await loggedIn("district.official");
  await until("the live feed to connect", async () => (await page.locator("#live-state").textContent()).includes("●"));
  assert.equal(await page.locator("#card-title").innerText(), "Quận 10");
  assert.equal(await page.locator("#ward-table tbody tr").count(), 15, "every ward has its row");
  assert.ok(await page.locator("#trend-chart canvas").count() > 0, "the trend is drawn");
  assert.equal(await page.locator("#trend-table tbody tr").count(), 30, "a row per day of the last 30 days");
  // What the cameras counted hour by hour (the test cameras show no people or vehicles).
  assert.match(await page.locator("#traffic-summary").textContent(), /^(Camera chưa đếm được|Tổng lượt đếm được)/);

  const received = await count(page, "complaints.received");
  const resolved = await count(page, "complaints.resolved");
  const open = await count(page, "complaints.open_now");
  const filed = await api("POST", "/api/v1/complaints", null, {
    category: "garbage", description: "Rác tồn đọng trước chợ, cần thu gom " + Date.now(), ...SPOT,
  });
  await until("the new complaint to count", async () => (await count(page, "complaints.received")) === received + 1);
  assert.equal(await count(page, "complaints.open_now"), open + 1);
  assert.match(await page.locator(`[data-kpi="complaints.received"]`).getAttribute("class"), /changed/, "a changed tile flashes");

  const handler = await tokenOf("ward1.handler");
  for (const action of ["assign", "fix", "close"]) {
    await api("POST", `/api/v1/complaints/${filed.id}/actions`, handler, { action });
  }
  await until("the closed complaint to count as resolved", async () => (await count(page, "complaints.resolved")) === resolved + 1);
  assert.equal(await count(page, "complaints.open_now"), open);
  const row = page.locator(`#ward-table tr[data-unit="${WARD}"]`);
  assert.match(await row.innerText(), /Phường 1/);

  // The CSV export: the same figures, the district first, then each ward.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#csv").click()]);
  assert.match(download.suggestedFilename(), /^scorecards-771-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = (await (await import("node:fs/promises")).readFile(await download.path(), "utf8")).replace(/^\uFEFF/, "");
  const [header, ...lines] = csv.trim().split(/\r?\n/).map((l) => l.split(","));
  assert.equal(lines.length, 16);
  const col = header.indexOf("complaints_resolved");
  assert.ok(col > 0, header.join(","));
  assert.equal(lines[0][0], "771");
  assert.equal(Number(lines[0][col]), resolved + 1);

  // Choosing a ward from the table narrows everything to it.
  await row.getByRole("button").click();
  await until("Phường 1's scorecard", async () => (await page.locator("#card-title").innerText()) === "Phường 1");
  assert.equal(await page.locator("#unit").inputValue(), WARD);
  assert.ok(await page.locator("#wards-section").isHidden(), "a ward has no ward table");
  assert.ok((await count(page, "complaints.resolved")) >= 1);
  // A period: the last 7 days.
  await page.locator("#period").selectOption("last7");
  await until("a week of days", async () => (await page.locator("#trend-table tbody tr").count()) === 7);

  // English, and the accessibility checks in both languages.
  assert.deepEqual(await accessibilityProblems(page), [], "Vietnamese page");
  await page.locator("#lang").click();
  assert.equal(await page.locator("h3").first().innerText(), "Service to citizens (Decision 766/QĐ-TTg)");
  assert.equal(await page.locator(`[data-kpi="complaints.resolved"] .label`).innerText(), "Complaints resolved");
  assert.deepEqual(await accessibilityProblems(page), [], "English page");
  await page.locator("#lang").click();
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("a ward official's dashboard is their ward's alone", async () => {
  const page = await loggedIn("ward1.official");
  await until("the scorecard", async () => (await page.locator("#card-title").innerText()) === "Phường 1");
  assert.deepEqual(await page.locator("#unit option").evaluateAll((os) => os.map((o) => o.value)), [WARD]);
  assert.ok(await page.locator("#wards-section").isHidden());
  const res = await page.evaluate(async () => (await fetch("/api/v1/dashboard/scorecards?unit=27190")).status);
  assert.equal(res, 403, "another ward's figures are refused");
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("the console and the dashboard fit a laptop and a 4K wall without sideways scrolling", async () => {
  for (const viewport of [{ width: 1366, height: 768 }, { width: 3840, height: 2160 }]) {
    const page = await loggedIn("district.official");
    await page.setViewportSize(viewport);
    await page.locator("#trend-chart canvas").waitFor();
    await until("the wards", async () => (await page.locator("#ward-table tbody tr").count()) === 15);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(await fits(), `the dashboard fits ${viewport.width}×${viewport.height}`);
    const chartWidth = await page.locator("#trend-chart .uplot").evaluate((e) => e.getBoundingClientRect().width);
    assert.ok(chartWidth > viewport.width * 0.8, `the chart spans the page at ${viewport.width} px (${chartWidth})`);
    const type = await page.evaluate(() => getComputedStyle(document.body).fontSize);
    assert.equal(type, viewport.width >= 2560 ? "24px" : "16px", "larger type on a wall");
    await page.goto(BASE + "/console");
    await page.locator("#console-map path[data-ward]").first().waitFor();
    assert.ok(await fits(), `the console fits ${viewport.width}×${viewport.height}`);
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).fontSize), type, "the console's type too");
    await page.context().close();
  }
  assert.deepEqual(problems, []);
});
