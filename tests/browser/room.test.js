// Three people in one room through the web page: a host and two speakers, each in its own
// browser context with fake camera and microphone.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BASE, inbound, joinByLink, launch, myId, remoteVideos, token, until } from "./lib.js";

describe("conference room", () => {
  let browser;
  const people = [];

  const room = "browser-" + Date.now();

  before(async () => {
    browser = await launch();
    people.push({ name: "Chủ trì An", page: await joinByLink(browser, room, "host-an", "Chủ trì An", "host") });
    people.push({ name: "Bình", page: await joinByLink(browser, room, "speaker-binh", "Bình", "speaker") });
    people.push({ name: "Chi", page: await joinByLink(browser, room, "speaker-chi", "Chi", "speaker") });
    for (const p of people) p.id = await myId(p.page);
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test("everyone sees the two others' cameras, labelled with their names, and hears them", async () => {
    for (const me of people) {
      const others = people.filter((p) => p !== me);
      await until(`${me.name} to decode both other cameras`, async () => {
        const vids = await remoteVideos(me.page);
        const ok = others.every((o) => vids.some((v) => v.kind === "camera" && v.participant === o.id && v.label === o.name && v.framesDecoded > 0));
        if (!ok) throw new Error(JSON.stringify(vids));
        return vids;
      });
      await until(`${me.name} to receive and play two microphones`, async () => {
        const audio = (await inbound(me.page)).filter((s) => s.kind === "audio");
        const heard = audio.filter((a) => a.packetsReceived > 0 && (a.totalSamplesReceived > 0 || a.totalAudioEnergy > 0));
        if (heard.length < 2) throw new Error(JSON.stringify(audio));
        return heard;
      });
    }
  });

  test("a shared screen reaches the others as a screen tile", async () => {
    const [host, sharer, third] = people;
    await sharer.page.locator("#share").click();
    await until("the share button to show sharing", () => sharer.page.locator('#share[aria-pressed="true"]').count());
    for (const viewer of [host, third]) {
      const screen = await until(`${viewer.name} to decode ${sharer.name}'s screen`, async () => {
        const vids = await remoteVideos(viewer.page);
        return vids.find((v) => v.kind === "screen" && v.participant === sharer.id && v.framesDecoded > 0);
      });
      assert.match(screen.label, new RegExp(sharer.name));
      // The camera goes on beside the screen.
      const vids = await remoteVideos(viewer.page);
      assert.ok(vids.some((v) => v.kind === "camera" && v.participant === sharer.id && v.framesDecoded > 0), JSON.stringify(vids));
    }
    await sharer.page.locator("#share").click();
    for (const viewer of [host, third]) {
      await until(`${viewer.name} to drop the screen tile`, async () => (await viewer.page.locator('.tile[data-kind="screen"]').count()) === 0);
    }
  });

  test("the host mutes a speaker from the participant list", async () => {
    const [host, , target] = people;
    await host.page.locator(`#people li[data-id="${target.id}"] button.mute-participant`).click();
    await until(`${target.name}'s microphone to be off`, () =>
      target.page.evaluate(() => {
        const sender = window.q10room.pc.getSenders().find((s) => s.track && s.track.kind === "audio");
        return sender && sender.track.enabled === false && document.querySelector("#mic").getAttribute("aria-pressed") === "true";
      }),
    );
    for (const p of people) {
      await until(`${p.name}'s list to show ${target.name} muted`, async () =>
        (await p.page.locator(`#people li[data-id="${target.id}"]`).getAttribute("data-audio-muted")) === "true",
      );
    }
  });

  test("a chat line reaches the others with its author", async () => {
    const [host, a, b] = people;
    const text = "Xin chào " + Date.now();
    await a.page.locator("#chat-input").fill(text);
    await a.page.locator("#chat-input").press("Enter");
    for (const p of [host, b]) {
      await until(`${p.name} to see the chat line`, async () => {
        const lines = await p.page.locator("#chat-log li").allTextContents();
        return lines.some((l) => l.includes(text) && l.includes(a.name));
      });
    }
  });

  test("switching the microphone during the call keeps the sound going", async () => {
    const [host, a] = people;
    const sending = () => a.page.evaluate(() => window.q10room.pc.getSenders().find((s) => s.track && s.track.kind === "audio").track.label);
    const before = await sending();
    const other = await a.page.locator("#mic-switch option").evaluateAll((os, cur) => (os.find((o) => o.textContent !== cur) || {}).value, before);
    assert.ok(other, "a second (fake) microphone to switch to");
    await a.page.locator("#mic-switch").selectOption(other);
    await until(`${a.name} to send from the other microphone`, async () => (await sending()) !== before);
    const mid = await host.page.locator(`#audio-sink audio[data-participant="${a.id}"]`).getAttribute("data-mid");
    const packets = async () => ((await inbound(host.page)).find((s) => s.kind === "audio" && s.mid === mid) || {}).packetsReceived || 0;
    const got = await packets();
    await until(`${host.name} to keep receiving ${a.name}'s sound`, async () => (await packets()) > got + 50);
  });

  test("a raised hand shows in everyone's list", async () => {
    const [, a] = people;
    await a.page.locator("#hand").click();
    for (const p of people) {
      await until(`${p.name}'s list to show ${a.name}'s hand`, async () =>
        (await p.page.locator(`#people li[data-id="${a.id}"]`).getAttribute("data-hand")) === "true",
      );
    }
    await a.page.locator("#hand").click();
    await until("the hand to go down", async () =>
      (await people[0].page.locator(`#people li[data-id="${a.id}"]`).getAttribute("data-hand")) === "false",
    );
  });

  test("a dropped connection resumes: same participant, media flows again both ways", async () => {
    const [host, a] = people;
    const decodedFrom = async (viewer, who) =>
      ((await remoteVideos(viewer.page)).find((v) => v.kind === "camera" && v.participant === who.id) || {}).framesDecoded || 0;
    const receivedBy = async (viewer) => (await inbound(viewer.page)).filter((s) => s.kind === "video").reduce((n, s) => n + s.framesDecoded, 0);
    const ufrag = () => a.page.evaluate(() => /a=ice-ufrag:(\S+)/.exec(window.q10room.pc.localDescription.sdp)[1]);
    const before = await ufrag();
    await a.page.evaluate(() => window.q10room.drop());
    await until(`${a.name} to say it reconnected`, async () => (await a.page.locator("#notice").textContent()) === "Đã kết nối lại.");
    // Resumed: the same media session goes on after an ICE restart.
    await until(`${a.name} to restart ICE`, async () => (await ufrag()) !== before);
    const seen = await decodedFrom(host, a);
    const got = await receivedBy(a);
    await until(`${host.name} to keep decoding ${a.name}'s camera`, async () => (await decodedFrom(host, a)) > seen + 20);
    await until(`${a.name} to keep decoding the others`, async () => (await receivedBy(a)) > got + 20);
    for (const p of people) {
      assert.equal(await p.page.locator("#people li").count(), 3, `${p.name} lists three people`);
      assert.equal(await p.page.locator(`#people li[data-id="${a.id}"]`).count(), 1);
    }
  });

  test("a locked room refuses newcomers until unlocked", async () => {
    const [host] = people;
    await host.page.locator("#lock").click();
    await until("the lock to show", () => host.page.locator('#lock[aria-pressed="true"]').count());
    const context = await browser.newContext();
    const late = await context.newPage();
    const tok = token(room, "late-dung", "Dũng", "speaker");
    await late.goto(`${BASE}/room#room=${room}&token=${encodeURIComponent(tok)}`);
    await late.locator("#join:not([disabled])").click();
    await late.locator("#ended").waitFor({ state: "visible" });
    assert.equal(await late.locator("#ended-why").textContent(), "Phòng đang khoá: hãy nhờ chủ trì mở khoá.");
    await context.close();
    await host.page.locator("#lock").click();
    await until("the lock to lift", () => host.page.locator('#lock[aria-pressed="false"]').count());
  });

  test("the host records the room and everyone is shown it", async () => {
    const [host, a] = people;
    assert.equal(await a.page.locator("#rec-badge").isVisible(), false);
    await host.page.locator("#record").click();
    await a.page.locator("#rec-badge").waitFor({ state: "visible" });
    assert.equal(await host.page.locator("#record").getAttribute("aria-pressed"), "true");
    await host.page.locator("#record").click();
    await a.page.locator("#rec-badge").waitFor({ state: "hidden" });
  });

  test("the host removes a participant, then ends the meeting for everyone", async () => {
    const [host, a, b] = people;
    host.page.once("dialog", (d) => d.accept());
    await host.page.locator(`#people li[data-id="${b.id}"] button.remove-participant`).click();
    await b.page.locator("#ended").waitFor({ state: "visible" });
    assert.equal(await b.page.locator("#ended-why").textContent(), "Chủ trì đã mời bạn ra khỏi phòng.");
    for (const p of [host, a]) {
      await until(`${p.name}'s list to drop ${b.name}`, async () => (await p.page.locator(`#people li[data-id="${b.id}"]`).count()) === 0);
    }
    host.page.once("dialog", (d) => d.accept());
    await host.page.locator("#end").click();
    for (const p of [host, a]) {
      await p.page.locator("#ended").waitFor({ state: "visible" });
      assert.equal(await p.page.locator("#ended-why").textContent(), "Cuộc họp đã kết thúc.");
    }
  });
});
