// The ward clinic's part of the telehealth page: choosing a doctor and a day, booking one of the
// free slots for a patient, and the ward's appointments with their visit link, cancelling (with
// a reason) and rescheduling to another free slot of the same doctor.

import {
  $, API, api, apptBadge, apptPath, dayRange, districtParts, el, hideError, patientText, query, showError, span, t,
  visitHref,
} from "./common.js";

const AHEAD_DAYS = 30;

let doctors = [];
let free = [];
let chosen = null;
let appts = [];
// The appointment whose cancel form or reschedule picker is open: {id, kind, reason, day, slots, error}.
let open = null;

const thisYear = () => Number(districtParts(new Date()).date.slice(0, 4));

// Free slots of a doctor on a district day that have not ended.
async function freeSlots(doctor, date) {
  const { from, to } = dayRange(date);
  const list = await api("GET", `${API}/slots${query({ doctor, from, to, status: "free" })}`);
  const now = Date.now();
  return list.filter((s) => s.status === "free" && new Date(s.end).getTime() > now);
}

// Booking.

function renderDoctors() {
  const select = $("book-doctor");
  const current = select.value;
  select.replaceChildren(el("option", { value: "", text: t("pickDoctor") }),
    ...doctors.map((d) => el("option", { value: String(d.id), text: `${d.name} · ${t("freeCount", { n: d.free_slots })}` })));
  if (doctors.some((d) => String(d.id) === current)) select.value = current;
  else if (doctors.length === 1) select.value = String(doctors[0].id);
  $("doctors-empty").hidden = doctors.length > 0;
}

function renderFree() {
  $("free-slots").replaceChildren(...free.map((s) => {
    const time = span(s.start, s.end);
    const picked = chosen && chosen.id === s.id;
    return el("li", { "data-id": s.id, "data-start": s.start, "data-end": s.end, class: picked ? "picked" : null },
      el("button", {
        type: "button", class: "secondary pick-slot", "aria-pressed": String(!!picked), "aria-label": t("pickSlot", { time }),
        text: time, onclick: () => { chosen = s; renderFree(); renderChosen(); },
      }));
  }));
  const empty = $("free-empty");
  empty.textContent = !$("book-doctor").value ? t("pickFirst") : free.length ? "" : t("noFree");
  empty.hidden = !empty.textContent;
}

function renderChosen() {
  const box = $("book-slot");
  box.textContent = chosen ? t("chosenSlot", { time: span(chosen.start, chosen.end, { withDay: true }) }) : t("noneChosen");
  box.dataset.slot = chosen ? String(chosen.id) : "";
}

async function loadDoctors() {
  try {
    doctors = await api("GET", `${API}/doctors`);
  } catch (e) {
    return showError($("free-error"), t("loadFailed") + ": " + e.message);
  }
  renderDoctors();
}

async function loadFree() {
  const box = $("free-error");
  hideError(box);
  const doctor = $("book-doctor").value;
  if (!doctor) {
    free = [];
  } else {
    try {
      free = await freeSlots(doctor, $("book-day").value);
    } catch (e) {
      free = [];
      showError(box, t("loadFailed") + ": " + e.message);
    }
  }
  if (chosen && !free.some((s) => s.id === chosen.id)) chosen = null;
  renderFree();
  renderChosen();
  const list = $("free-slots");
  list.dataset.loads = String(Number(list.dataset.loads || 0) + 1);
}

async function book(ev) {
  ev.preventDefault();
  const name = $("p-name"), year = $("p-year"), phone = $("p-phone"), reason = $("p-reason");
  const box = $("book-error");
  const done = $("book-done");
  hideError(box, name, year, phone, reason);
  done.replaceChildren();
  delete done.dataset.id;
  if (!chosen) return showError(box, t("needSlot"));
  const n = name.value.trim();
  if (n.length < 2 || n.length > 100) return showError(box, t("needName"), name);
  const y = Number(year.value);
  if (!Number.isInteger(y) || y < 1900 || y > thisYear()) return showError(box, t("badYear"), year);
  const p = phone.value.replace(/[\s.-]/g, "");
  if (!/^(0\d{9}|\+84\d{9})$/.test(p)) return showError(box, t("badPhone"), phone);
  const r = reason.value.trim();
  if (!r || r.length > 500) return showError(box, t("needReason"), reason);
  $("book-submit").disabled = true;
  let appt;
  try {
    appt = await api("POST", `${API}/appointments`, { slot_id: chosen.id, patient: { name: n, birth_year: y, phone: p }, reason: r });
  } catch (e) {
    const field = { "patient.name": name, "patient.birth_year": year, "patient.phone": phone, reason }[e.field];
    showError(box, t("bookFailed") + ": " + e.message, field);
    // The slot may have gone meanwhile.
    loadFree();
    return;
  } finally {
    $("book-submit").disabled = false;
  }
  for (const f of [name, year, phone, reason]) f.value = "";
  chosen = null;
  done.dataset.id = String(appt.id);
  done.append(t("booked", { id: appt.id, time: span(appt.start, appt.end, { withDay: true }) }), " ",
    el("a", { id: "book-visit", href: visitHref(appt.id), text: t("openVisit") }));
  done.focus();
  await Promise.all([loadFree(), loadAppts(), loadDoctors()]);
}

// The ward's appointments.

function cancelForm(a) {
  const id = `cancel-reason-${a.id}`;
  const input = el("textarea", { id, class: "cancel-reason", rows: "2", maxlength: "500", oninput: (ev) => { open.reason = ev.target.value; } });
  input.value = open.reason || "";
  return el("form", {
    class: "subform cancel-form", method: "post", novalidate: true,
    onsubmit: (ev) => { ev.preventDefault(); cancel(a, input); },
  },
  el("label", { for: id }, el("span", { text: t("cancelReason") })),
  input,
  open.error ? el("p", { class: "error", role: "alert", text: open.error }) : null,
  el("p", { class: "buttons" },
    el("button", { type: "submit", class: "danger secondary do-cancel", text: t("doCancel") }),
    el("button", { type: "button", class: "secondary", text: t("back"), onclick: () => { open = null; renderAppts(); } })));
}

function reschedulePanel(a) {
  const id = `reschedule-day-${a.id}`;
  const day = el("input", { id, class: "date reschedule-day", type: "date" });
  day.value = open.day;
  day.addEventListener("change", () => { open.day = day.value; loadReschedule(a); });
  const slots = open.slots || [];
  return el("div", { class: "subform reschedule" },
    el("label", { for: id }, el("span", { text: t("rescheduleDay") })), day,
    el("ul", { class: "slot-picker reschedule-slots" }, slots.map((s) =>
      el("li", { "data-id": s.id, "data-start": s.start, "data-end": s.end },
        el("button", {
          type: "button", class: "secondary move-to", "aria-label": `${t("doReschedule")}: ${span(s.start, s.end)}`,
          text: span(s.start, s.end), onclick: () => reschedule(a, s),
        })))),
    open.slots && !slots.length ? el("p", { class: "note", text: t("noFree") }) : null,
    open.error ? el("p", { class: "error", role: "alert", text: open.error }) : null,
    el("p", {}, el("button", { type: "button", class: "secondary", text: t("back"), onclick: () => { open = null; renderAppts(); } })));
}

function apptItem(a) {
  const active = a.status === "booked" || a.status === "arrived";
  const mine = open && open.id === a.id ? open : null;
  return el("li", { "data-id": a.id, "data-status": a.status, "data-slot": a.slot_id },
    el("p", {},
      el("strong", { class: "nowrap", text: span(a.start, a.end, { withDay: true }) }), " · ",
      el("span", { class: "patient", text: patientText(a.patient_name, a.patient_birth_year) }), " · ",
      el("span", { class: "muted", text: a.doctor_name }), " ",
      apptBadge(a.status), " ",
      a.waiting ? el("span", { class: "badge waiting-badge", text: t("waitingBadge") }) : null),
    active ? el("p", { class: "buttons" },
      el("a", { class: "button open-visit", href: visitHref(a.id), text: t("openVisit") }),
      a.status === "booked" ? el("button", {
        type: "button", class: "secondary reschedule-open", "aria-expanded": String(!!mine && mine.kind === "reschedule"),
        text: t("reschedule"), onclick: () => openPanel(a, "reschedule"),
      }) : null,
      el("button", {
        type: "button", class: "secondary danger cancel-open", "aria-expanded": String(!!mine && mine.kind === "cancel"),
        text: t("cancel"), onclick: () => openPanel(a, "cancel"),
      })) : null,
    mine && mine.kind === "cancel" ? cancelForm(a) : null,
    mine && mine.kind === "reschedule" ? reschedulePanel(a) : null);
}

// Redraws the list, keeping the focus on the same control of the same appointment.
function renderAppts() {
  const active = document.activeElement;
  const item = active && active.closest ? active.closest("#ward-list li[data-id]") : null;
  const control = item && active.classList.length ? `#ward-list li[data-id="${item.dataset.id}"] .${active.classList[active.classList.length - 1]}` : null;
  $("ward-list").replaceChildren(...appts.map(apptItem));
  $("ward-empty").hidden = appts.length > 0;
  const again = control ? document.querySelector(control) : null;
  if (again) again.focus();
}

async function loadAppts() {
  const box = $("ward-error");
  const { from, to } = dayRange(districtParts(new Date()).date, AHEAD_DAYS + 1);
  try {
    appts = await api("GET", `${API}/appointments${query({ from, to })}`);
  } catch (e) {
    box.textContent = t("loadFailed") + ": " + e.message;
    box.hidden = false;
    return;
  }
  box.hidden = true;
  if (open && !appts.some((a) => a.id === open.id)) open = null;
  renderAppts();
  const list = $("ward-list");
  list.dataset.loads = String(Number(list.dataset.loads || 0) + 1);
}

function openPanel(a, kind) {
  if (open && open.id === a.id && open.kind === kind) {
    open = null;
  } else {
    open = { id: a.id, kind, reason: "", day: districtParts(a.start).date, slots: null, error: "" };
    if (kind === "reschedule") loadReschedule(a);
  }
  renderAppts();
  const focus = document.querySelector(`#ward-list li[data-id="${a.id}"] ${kind === "cancel" ? ".cancel-reason" : ".reschedule-day"}`);
  if (focus) focus.focus();
}

async function loadReschedule(a) {
  const state = open;
  try {
    const slots = await freeSlots(a.doctor_id, state.day);
    if (open !== state) return;
    state.slots = slots.filter((s) => s.id !== a.slot_id);
    state.error = "";
  } catch (e) {
    if (open !== state) return;
    state.slots = [];
    state.error = t("loadFailed") + ": " + e.message;
  }
  renderAppts();
}

async function cancel(a, input) {
  const reason = input.value.trim();
  if (!reason) {
    open.error = t("needCancelReason");
    renderAppts();
    const again = document.querySelector(`#ward-list li[data-id="${a.id}"] .cancel-reason`);
    if (again) {
      again.setAttribute("aria-invalid", "true");
      again.focus();
    }
    return;
  }
  try {
    await api("POST", apptPath(a.id, "cancel"), { reason });
  } catch (e) {
    open.error = t("cancelFailed") + ": " + e.message;
    renderAppts();
    return;
  }
  open = null;
  done(t("cancelled", { id: a.id }));
  await Promise.all([loadAppts(), loadFree(), loadDoctors()]);
}

async function reschedule(a, slot) {
  try {
    await api("POST", apptPath(a.id, "reschedule"), { slot_id: slot.id });
  } catch (e) {
    open.error = t("rescheduleFailed") + ": " + e.message;
    renderAppts();
    return;
  }
  open = null;
  done(t("rescheduled", { id: a.id, time: span(slot.start, slot.end, { withDay: true }) }));
  await Promise.all([loadAppts(), loadFree()]);
}

function done(text) {
  const box = $("ward-done");
  box.textContent = text;
  box.focus();
}

export function redrawClinic() {
  renderDoctors();
  renderFree();
  renderChosen();
  renderAppts();
}

export async function startClinic() {
  $("clinic-view").hidden = false;
  $("book-day").value = districtParts(new Date()).date;
  $("p-year").max = String(thisYear());
  $("find-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadFree(); });
  $("book-doctor").addEventListener("change", () => { chosen = null; loadFree(); });
  $("book-day").addEventListener("change", () => { chosen = null; loadFree(); });
  $("book-form").addEventListener("submit", book);
  $("ward-refresh").addEventListener("click", loadAppts);
  renderChosen();
  await loadDoctors();
  await Promise.all([loadFree(), loadAppts()]);
}
