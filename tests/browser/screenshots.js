// Screenshots of the main screens for the README, at 1366×768, against the server `run` started:
// the home page, the operators' console with a live alert (Vietnamese; English as a whole page
// with its map), the complaints queue, the command dashboard (Vietnamese; English as a whole page)
// and a conference room with two participants. Run with
// `tests/browser/run --screenshots`; the images go to docs/screenshots/.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BASE, demoAccounts, gatewayKey, joinByLink, launch, sendReading, until } from "./lib.js";

const out = process.argv[2];
mkdirSync(out, { recursive: true });
const browser = await launch();
const size = { width: 1366, height: 768 };

async function loggedIn(username, lang = "vi") {
  const account = demoAccounts().find((a) => a.username === username);
  const context = await browser.newContext({ viewport: size, locale: lang === "vi" ? "vi-VN" : "en-GB" });
  await context.addInitScript((l) => localStorage.setItem("q10.lang", l), lang);
  const page = await context.newPage();
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#logout").waitFor();
  return page;
}

async function shot(page, name, fullPage = false) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(out, name + ".png"), fullPage });
  console.log(join(out, name + ".png"));
}

// A sensor past its threshold, so that the console has an alert to show.
const operator = await loggedIn("operator");
await operator.goto(BASE + "/console");
await operator.locator("#s-code").fill("p1-server-temp");
await operator.locator("#s-name").fill("Phòng máy chủ UBND Phường 1");
await operator.locator("#s-where").selectOption("27211");
await operator.locator("#s-high").fill("30");
await operator.locator("#s-severity").selectOption("critical");
const ward = operator.locator('#console-map path[data-ward="27211"]');
const box = await ward.boundingBox();
await operator.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
await operator.locator('#sensor-form button[type="submit"]').click();
await operator.locator('#sensor-table tr[data-code="p1-server-temp"]').waitFor();
const res = await sendReading(gatewayKey("screenshots"), "p1-server-temp", 34.5);
if (!res.ok) throw new Error(`reading refused: ${await res.text()}`);
await operator.locator("#alert-table tbody tr").first().waitFor();
await shot(operator, "console-vi");
const operatorEn = await loggedIn("operator", "en");
await operatorEn.goto(BASE + "/console");
await operatorEn.locator("#alert-table tbody tr").first().waitFor();
await operatorEn.locator('#console-map path[data-sensor="p1-server-temp"]').waitFor();
await shot(operatorEn, "console-en", true);

await shot(await loggedIn("district.official"), "home-vi");

const handler = await loggedIn("ward1.handler");
await handler.goto(BASE + "/complaints");
await handler.locator("#staff-view").waitFor();
await until("the queue", async () => (await handler.locator("#queue-table tbody tr").count()) > 0 || handler.locator("#queue-empty").isVisible());
await shot(handler, "complaints-vi");

for (const lang of ["vi", "en"]) {
  const leader = await loggedIn("district.official", lang);
  await leader.goto(BASE + "/dashboard");
  await leader.locator("#trend-chart canvas").waitFor();
  await until("the wards", async () => (await leader.locator("#ward-table tbody tr").count()) > 0);
  await shot(leader, "dashboard-" + lang, lang === "en");
}

const host = await joinByLink(browser, "screenshot-room", "host", "Quận 10", "host");
await host.setViewportSize(size);
await joinByLink(browser, "screenshot-room", "ward1", "Phường 1", "speaker");
await until("the other's video", async () => (await host.locator('.tile[data-kind="camera"] video').count()) > 0);
await host.waitForTimeout(2000);
await shot(host, "room-vi");

await browser.close();
