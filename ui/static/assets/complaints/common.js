// What the complaint pages share: the language switch, the API helper (problem+json errors with
// their field), building elements, and how times, statuses and sizes are written.

import { TEXT } from "./text.js";

let lang = localStorage.getItem("q10.lang") === "en" ? "en" : "vi";

export const $ = (id) => document.getElementById(id);
export const currentLang = () => lang;

// A phrase in the current language, with {name} placeholders filled from `vars`.
export function t(key, vars) {
  const s = TEXT[lang][key] ?? TEXT.vi[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? "")) : s;
}

export function applyText() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll("[data-t-label]")) e.setAttribute("aria-label", t(e.dataset.tLabel));
  $("lang").textContent = t("lang");
  document.title = "Q10 · " + t(document.body.dataset.title);
}

// Writes the page's words and switches language on the header's button; `redraw` re-renders
// what the page built from data.
export function setupLang(redraw) {
  applyText();
  $("lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    localStorage.setItem("q10.lang", lang);
    applyText();
    redraw();
  });
}

// An API failure: the problem's `detail`, the HTTP status and the field it is about.
export class ApiError extends Error {
  constructor(message, status, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

// Calls the core API. A FormData body goes as multipart; any other body as JSON. `anonymous`
// leaves the session cookie (and so any staff identity) out, as the citizen pages do.
// The session's CSRF token: kept by the tab that logged in, asked again by any other tab.
async function csrfToken(refresh) {
  let csrf = sessionStorage.getItem("q10.csrf");
  if (!csrf || refresh) {
    const res = await fetch("/api/v1/auth/csrf", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!res.ok) return null;
    csrf = (await res.json()).csrf_token;
    sessionStorage.setItem("q10.csrf", csrf);
  }
  return csrf;
}

export async function api(method, path, body, { anonymous = false, retried = false } = {}) {
  const headers = { Accept: "application/json" };
  if (!anonymous && method !== "GET") {
    const csrf = await csrfToken(retried).catch(() => null);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: anonymous ? "omit" : "same-origin" });
  } catch (_) {
    throw new ApiError(t("offline"), 0, null);
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : null;
  if (res.status === 403 && !anonymous && !retried && method !== "GET" && data && /CSRF/.test(data.detail || "")) {
    return api(method, path, body, { anonymous, retried: true });
  }
  if (!res.ok) {
    const detail = (data && (data.detail || data.title)) || res.statusText || String(res.status);
    throw new ApiError(detail, res.status, (data && data.field) || null);
  }
  return data;
}

// An element with attributes (`class`, `text` and `on<event>` handled specially) and children.
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

// Times are shown as the district lives them.
export function when(iso) {
  if (!iso) return "";
  const locale = lang === "vi" ? "vi-VN" : "en-GB";
  return new Date(iso).toLocaleString(locale, {
    timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export const statusLabel = (s) => t("st_" + s);
export const actionLabel = (a) => t("ac_" + a);

// A status as a badge: the words, and a class per status for its colour.
export const statusBadge = (s) => el("span", { class: "status status-" + s, "data-status": s, text: statusLabel(s) });

export function size(bytes) {
  return bytes < 1024 * 1024 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : (bytes / 1024 / 1024).toFixed(1) + " MB";
}

// A ward's name in the current language, from the boundaries' feature properties.
export const unitName = (p) => (p ? (lang === "vi" ? p.name_vi : p.name_en) || p.code : "");

// A term and its description for a <dl>; skipped when there is no value.
export function pair(term, value) {
  if (value === undefined || value === null || value === "") return [];
  return [el("dt", { text: term }), el("dd", {}, value)];
}

// Photos as thumbnails linking to the full image.
export function photoList(urls) {
  return el("ul", { class: "photos" }, urls.map((url, i) =>
    el("li", {}, el("a", { href: url, target: "_blank", rel: "noopener" },
      el("img", { src: url, alt: t("photoAlt", { n: i + 1 }), loading: "lazy" })))));
}

// Where a complaint is: its address and its point.
export function placeText(c) {
  const point = c.lat != null && c.lon != null ? c.lat.toFixed(5) + ", " + c.lon.toFixed(5) : "";
  return [c.address, point].filter(Boolean).join(" · ");
}
