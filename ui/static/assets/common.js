// What the citizen and staff pages share (complaints, dossiers, payments): the language switch
// with each area's words added to one table, the API helper (CSRF, problem+json errors with
// their field), building elements, and how times, dates, sizes and amounts are written.

// Words every page uses; each area adds its own with addText().
const TEXT = {
  vi: {
    lang: "English", home: "Trang chủ", offline: "Không kết nối được máy chủ. Hãy thử lại.", error: "Lỗi",
    skip: "Bỏ qua, đến nội dung chính", optional: "(không bắt buộc)",
  },
  en: {
    lang: "Tiếng Việt", home: "Home", offline: "Could not reach the server. Please try again.", error: "Error",
    skip: "Skip to the main content", optional: "(optional)",
  },
};

let lang = localStorage.getItem("q10.lang") === "en" ? "en" : "vi";

export const $ = (id) => document.getElementById(id);
export const currentLang = () => lang;

// Adds an area's words ({vi: {...}, en: {...}}) to the table.
export function addText(table) {
  for (const l of ["vi", "en"]) Object.assign(TEXT[l], table[l] || {});
}

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

// An API failure: the problem's `detail`, the HTTP status, the field it is about and the whole
// answer when it was JSON.
export class ApiError extends Error {
  constructor(message, status, field, data = null) {
    super(message);
    this.status = status;
    this.field = field;
    this.data = data;
  }
}

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

// Calls the core API. A FormData body goes as multipart, a Blob as it is (a CSV file, say, with
// its type as the content type unless `headers` names one); any other body as JSON. `anonymous`
// leaves the session cookie (and so any staff identity) out, as the citizen pages do; `headers`
// adds request headers (an Idempotency-Key, say).
export async function api(method, path, body, { anonymous = false, retried = false, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (!anonymous && method !== "GET") {
    const csrf = await csrfToken(retried).catch(() => null);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let payload;
  if (body instanceof FormData || body instanceof Blob) {
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
    return api(method, path, body, { anonymous, retried: true, headers: extra });
  }
  if (!res.ok) {
    const detail = (data && (data.detail || data.title)) || res.statusText || String(res.status);
    throw new ApiError(detail, res.status, (data && data.field) || null, data);
  }
  return data;
}

// The caller's account, when they are logged in and hold one of `roles`; otherwise `gate` is told
// why (the page's `needLogin` or `notForYou` text) and the answer is null.
export async function staffSession(roles, gate) {
  let me;
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    gate(e.status === 401 ? t("needLogin") : e.message);
    return null;
  }
  if (!me.grants.some((g) => roles.includes(g.role))) {
    gate(t("notForYou"));
    return null;
  }
  $("who").textContent = me.display_name;
  return me;
}

// Follows the live feed (Server-Sent Events, `/api/v1/events`): `changed(data)` for each event
// of `kinds`, and `changed(null)` when the feed fell behind or came back after a drop, as events
// may have been missed; `state(true|false)` as the connection comes and goes. The browser
// reconnects by itself.
export function followFeed(kinds, changed, state) {
  const source = new EventSource("/api/v1/events");
  let live = null;
  const heard = (ev) => {
    let data = null;
    try {
      data = JSON.parse(ev.data);
    } catch (_) {
      data = null;
    }
    changed(data);
  };
  for (const kind of kinds) source.addEventListener(kind, heard);
  source.addEventListener("lagged", () => changed(null));
  source.addEventListener("open", () => {
    if (live === false) changed(null);
    live = true;
    state(true);
  });
  source.addEventListener("error", () => {
    live = false;
    state(false);
  });
  window.addEventListener("pagehide", () => source.close());
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

const ZONE = "Asia/Ho_Chi_Minh";

// Times are shown as the district lives them.
export function when(iso) {
  if (!iso) return "";
  const locale = lang === "vi" ? "vi-VN" : "en-GB";
  return new Date(iso).toLocaleString(locale, {
    timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

// A day as dd/mm/yyyy in the district's time zone, from an instant or a plain YYYY-MM-DD.
export function day(iso) {
  if (!iso) return "";
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (plain) return `${plain[3]}/${plain[2]}/${plain[1]}`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric" })
    .formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year}`;
}

// Today in the district as YYYY-MM-DD (for date inputs).
export function today() {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric" })
    .formatToParts(new Date()).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// An amount of đồng as Vietnamese write it: 50.000 ₫.
export function vnd(amount) {
  const n = Math.round(Number(amount) || 0);
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
}

export function size(bytes) {
  return bytes < 1024 * 1024 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : (bytes / 1024 / 1024).toFixed(1) + " MB";
}

// A unit's (ward's, procedure's) name in the current language.
export const unitName = (p) => (p ? (lang === "vi" ? p.name_vi : p.name_en) || p.name_vi || p.name || p.code : "");

// A term and its description for a <dl>; skipped when there is no value.
export function pair(term, value) {
  if (value === undefined || value === null || value === "") return [];
  return [el("dt", { text: term }), el("dd", {}, value)];
}

// Shows a message in an error box (and marks the field it is about), or hides it.
export function showError(box, message, field) {
  box.textContent = message;
  box.hidden = false;
  if (field) field.setAttribute("aria-invalid", "true");
  box.focus();
}

export function hideError(box, ...fields) {
  box.hidden = true;
  box.textContent = "";
  for (const f of fields) if (f) f.removeAttribute("aria-invalid");
}
