// A paperless meeting through the pages: a district official calls a meeting for two wards on
// the home page and joins it from the list; a ward official joins too and counts in the roll
// call; the host presents a PDF page by page; after both leave, the attendance lists them.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE, demoAccounts, launch, until } from "./lib.js";

const WARD = "27211"; // the demo ward official's ward
const OTHER_WARD = "27190";

// A two-page PDF, the least a viewer accepts.
const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
    "2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n" +
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n" +
    "4 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n" +
    "trailer << /Root 1 0 R >>\n%%EOF\n",
);

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

async function logIn(username) {
  const account = demoAccounts().find((a) => a.username === username);
  assert.ok(account, `demo account ${username}`);
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => console.error(`[${username}] page error:`, e.message));
  await page.goto(BASE + "/");
  await page.locator('#login-form input[name="username"]').fill(account.username);
  await page.locator('#login-form input[name="password"]').fill(account.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator("#home-view").waitFor({ state: "visible" });
  return page;
}

// A local date and time an hour from now, as a datetime-local input takes it.
function inAnHour() {
  const d = new Date(Date.now() + 3_600_000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

test("a district official calls a meeting, both sides join, present a document and are in the attendance", async () => {
  const host = await logIn("district.official");
  const title = "Giao ban " + Date.now();
  await host.locator("#meeting-form").waitFor({ state: "visible" });
  await host.locator('#meeting-form input[name="title"]').fill(title);
  await host.locator('#meeting-form input[name="starts_at"]').fill(inAnHour());
  await host.locator("#meeting-wards").selectOption([WARD, OTHER_WARD]);
  await host.locator('#meeting-form button[type="submit"]').click();
  const row = host.locator("#meetings tbody tr", { hasText: title });
  await row.waitFor({ state: "visible" });
  const id = await row.getAttribute("data-meeting");
  assert.match(id, /^\d+$/);

  await row.locator("a.join-meeting").click();
  await host.waitForURL(/\/room#meeting=/);
  await host.locator("#join:not([disabled])").click();
  await host.locator("#call").waitFor({ state: "visible" });
  // The host's controls and the meeting's panels.
  await host.locator(".host-only").waitFor({ state: "visible" });
  await host.locator("#rollcall-panel").waitFor({ state: "visible" });
  assert.equal(await host.locator(`#rollcall li[data-ward="${WARD}"]`).getAttribute("data-present"), "false");

  const ward = await logIn("ward1.official");
  await ward.locator("#meetings tbody tr", { hasText: title }).waitFor({ state: "visible" });
  await ward.goto(`${BASE}/room#meeting=${id}`);
  await ward.locator("#join:not([disabled])").click();
  await ward.locator("#call").waitFor({ state: "visible" });
  assert.ok(await ward.locator(".host-only").isHidden(), "a ward official invited is no host");

  for (const page of [host, ward]) {
    await until("the roll call to show the ward present", async () =>
      (await page.locator(`#rollcall li[data-ward="${WARD}"]`).getAttribute("data-present")) === "true" &&
      (await page.locator(`#rollcall li[data-ward="${OTHER_WARD}"]`).getAttribute("data-present")) === "false",
    );
  }
  assert.equal(await host.locator("#attendance-link").getAttribute("href"), `/api/v1/meetings/${id}/attendance.csv`);

  // The host attaches a PDF and presents it; the ward follows page by page.
  await host.locator("#upload-file").setInputFiles({ name: "bao-cao.pdf", mimeType: "application/pdf", buffer: PDF });
  await host.locator('#upload-form button[type="submit"]').click();
  await host.locator("#docs li", { hasText: "bao-cao.pdf" }).waitFor({ state: "visible" });
  await host.locator("#docs li button.present-doc").click();
  const frameSrc = () => ward.locator("#present-frame iframe").getAttribute("src");
  await until("the ward to show page 1", async () => /\/api\/v1\/meetings\/\d+\/documents\/\w+#page=1$/.test(await frameSrc()));
  await host.locator("#present-next").click();
  await until("the ward to follow to page 2", async () => (await frameSrc()).endsWith("#page=2"));
  assert.ok(await ward.locator("#present-controls").isHidden(), "only the presenter turns pages");

  for (const page of [ward, host]) {
    await page.locator("#leave").click();
    await page.locator("#ended").waitFor({ state: "visible" });
  }
  const report = await until("the attendance to list both, gone", async () => {
    const a = await host.evaluate((path) => fetch(path, { headers: { Accept: "application/json" } }).then((r) => r.json()), `/api/v1/meetings/${id}/attendance`);
    const names = a.entries.filter((e) => e.left_at).map((e) => e.name);
    return names.length >= 2 && a;
  });
  const wardEntry = report.entries.find((e) => e.unit === WARD);
  assert.ok(wardEntry && wardEntry.left_at, JSON.stringify(report.entries));
  assert.equal(report.roll_call.find((r) => r.code === WARD).attended, true);
  assert.equal(report.roll_call.find((r) => r.code === OTHER_WARD).attended, false);
});
