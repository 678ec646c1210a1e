// What the telehealth pages share: the helpers of every page with the telehealth words added;
// the API's paths; slot and appointment statuses as badges; and times in the district's zone
// (Vietnam keeps UTC+7 all year, so a day and a time there make an RFC 3339 instant directly).

import { addText, el, t } from "../common.js";
import { TEXT } from "./text.js";

addText(TEXT);

export { $, ApiError, api, currentLang, el, hideError, pair, setupLang, showError, t, today, when } from "../common.js";

export const API = "/api/v1/telehealth";
export const apptPath = (id, action) => `${API}/appointments/${encodeURIComponent(id)}${action ? "/" + action : ""}`;
export const visitHref = (id) => "/visit#appointment=" + encodeURIComponent(id);

export const DOCTOR = "doctor";
export const CLINIC = "clinic_staff";
export const hasRole = (me, role) => !!me && me.grants.some((g) => g.role === role);

const OFFSET = "+07:00";
const ZONE = "Asia/Ho_Chi_Minh";

// An instant as RFC 3339 in UTC, without milliseconds.
export const rfc3339 = (d) => new Date(d).toISOString().replace(/\.\d{3}Z$/, "Z");

// A district day (YYYY-MM-DD) and time (HH:MM) as an instant.
export const instant = (date, time) => new Date(`${date}T${time}:00${OFFSET}`);

// The instants a district day starts and ends, for `from` and `to` in queries.
export function dayRange(date, days = 1) {
  const from = instant(date, "00:00");
  return { from: rfc3339(from), to: rfc3339(from.getTime() + days * 86_400_000) };
}

// The district's date (YYYY-MM-DD) and time (HH:MM) of an instant.
export function districtParts(d) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(d)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

// A slot's or appointment's time: "08:00–08:15", with the day when asked.
export function span(start, end, { withDay = false } = {}) {
  const a = districtParts(start), b = districtParts(end);
  const hours = `${a.time}–${b.time}`;
  if (!withDay) return hours;
  const [y, m, d] = a.date.split("-");
  return `${d}/${m}/${y} ${hours}`;
}

// Query strings from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

export const slotLabel = (s) => t("sl_" + s);
export const slotBadge = (s) => el("span", { class: "status th-" + s, "data-status": s, text: slotLabel(s) });
export const apptLabel = (s) => (t("ap_" + s) !== "ap_" + s ? t("ap_" + s) : s);
export const apptBadge = (s) => el("span", { class: "status th-" + s, "data-status": s, text: apptLabel(s) });

// The patient as lists show them: name and year of birth.
export const patientText = (name, year) => `${name} (${t("bornIn", { y: year })})`;

// A duration in minutes and seconds: 2:05.
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
