// The doctor's part of the telehealth page: publishing availability as slots, the chosen day's
// slots (blocking and unblocking them), and the day's appointments with a badge while a clinic
// waits in the waiting room. The appointments are asked again every 10 seconds.

import {
  $, API, api, apptBadge, dayRange, districtParts, el, hideError, instant, patientText, query, rfc3339, showError, slotBadge,
  span, t, today, visitHref,
} from "./common.js";

const REFRESH_MS = 10_000;

let me = null;
let slots = [];
let appts = [];
let timer = null;

function renderSlots() {
  $("slots-table").tBodies[0].replaceChildren(...slots.map((s) => {
    const time = span(s.start, s.end);
    const action = s.status === "free"
      ? el("button", { type: "button", class: "secondary block-slot", "aria-label": t("blockSlot", { time }), text: t("block"), onclick: () => changeSlot(s, "block") })
      : s.status === "busy-unavailable"
        ? el("button", { type: "button", class: "secondary unblock-slot", "aria-label": t("unblockSlot", { time }), text: t("unblock"), onclick: () => changeSlot(s, "unblock") })
        : null;
    return el("tr", { "data-id": s.id, "data-status": s.status, "data-start": s.start, "data-end": s.end },
      el("td", { class: "nowrap", text: time }),
      el("td", {}, slotBadge(s.status)),
      el("td", {}, action));
  }));
  $("slots-empty").hidden = slots.length > 0;
}

function renderAppts() {
  $("doc-appts-table").tBodies[0].replaceChildren(...appts.map((a) =>
    el("tr", { "data-id": a.id, "data-status": a.status, "data-waiting": String(!!a.waiting) },
      el("td", { class: "nowrap", text: span(a.start, a.end) }),
      el("td", { text: patientText(a.patient_name, a.patient_birth_year) }),
      el("td", { text: a.clinic_name || a.clinic_unit }),
      el("td", {},
        apptBadge(a.status), " ",
        a.waiting ? el("span", { class: "badge waiting-badge", text: t("waitingBadge") }) : null,
        a.admitted && !a.waiting && a.status === "arrived" ? el("span", { class: "badge admitted-badge", text: t("admittedBadge") }) : null),
      el("td", {}, el("a", { class: "open-visit", href: visitHref(a.id), text: t("openVisit") })))));
  $("doc-appts-empty").hidden = appts.length > 0;
}

async function loadSlots() {
  const box = $("slots-error");
  const { from, to } = dayRange($("doc-day").value || today());
  try {
    slots = await api("GET", `${API}/slots${query({ doctor: me.id, from, to })}`);
  } catch (e) {
    return showError(box, t("loadFailed") + ": " + e.message);
  }
  hideError(box);
  renderSlots();
}

async function loadAppts() {
  const box = $("doc-appts-error");
  const { from, to } = dayRange($("doc-day").value || today());
  try {
    appts = await api("GET", `${API}/appointments${query({ from, to })}`);
  } catch (e) {
    box.textContent = t("loadFailed") + ": " + e.message;
    box.hidden = false;
    return;
  }
  box.hidden = true;
  renderAppts();
  $("doc-appts").dataset.loads = String(Number($("doc-appts").dataset.loads || 0) + 1);
}

async function changeSlot(slot, action) {
  const box = $("slots-error");
  hideError(box);
  try {
    await api("POST", `${API}/slots/${encodeURIComponent(slot.id)}/${action}`);
  } catch (e) {
    return showError(box, t("slotFailed") + ": " + e.message);
  }
  await loadSlots();
}

// Cuts the span the doctor gave into slots. The times are the district's; an end earlier than
// the start is on the next day.
async function publish(ev) {
  ev.preventDefault();
  const date = $("pub-date"), from = $("pub-from"), to = $("pub-to"), minutes = $("pub-minutes");
  const box = $("pub-error");
  const done = $("pub-done");
  hideError(box, date, from, to, minutes);
  done.textContent = "";
  delete done.dataset.created;
  delete done.dataset.skipped;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date.value)) return showError(box, t("needDate"), date);
  if (!from.value) return showError(box, t("needTimes"), from);
  if (!to.value) return showError(box, t("needTimes"), to);
  const m = Number(minutes.value);
  if (!Number.isInteger(m) || m < 10 || m > 120) return showError(box, t("badMinutes"), minutes);
  const start = instant(date.value, from.value.slice(0, 5));
  let end = instant(date.value, to.value.slice(0, 5));
  if (end <= start) end = new Date(end.getTime() + 86_400_000);
  if (end - start > 12 * 3_600_000) return showError(box, t("tooLong"), to);
  $("pub-submit").disabled = true;
  let result;
  try {
    result = await api("POST", `${API}/slots`, { start: rfc3339(start), end: rfc3339(end), minutes: m });
  } catch (e) {
    const field = { start: from, end: to, minutes }[e.field];
    return showError(box, t("publishFailed") + ": " + e.message, field);
  } finally {
    $("pub-submit").disabled = false;
  }
  const created = (result.created || []).length;
  done.dataset.created = String(created);
  done.dataset.skipped = String(result.skipped || 0);
  done.textContent = t("published", { created, skipped: result.skipped || 0 });
  // Show the day just published.
  $("doc-day").value = districtParts(start).date;
  await Promise.all([loadSlots(), loadAppts()]);
}

export function redrawDoctor() {
  renderSlots();
  renderAppts();
}

export async function startDoctor(account) {
  me = account;
  $("doctor-view").hidden = false;
  const now = districtParts(new Date());
  $("pub-date").value = now.date;
  $("doc-day").value = now.date;
  $("pub-from").value = "08:00";
  $("pub-to").value = "11:00";
  $("publish-form").addEventListener("submit", publish);
  $("day-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadSlots();
    loadAppts();
  });
  $("doc-day").addEventListener("change", () => {
    loadSlots();
    loadAppts();
  });
  await Promise.all([loadSlots(), loadAppts()]);
  clearInterval(timer);
  timer = setInterval(() => {
    if (document.visibilityState === "visible") loadAppts();
  }, REFRESH_MS);
}
