// Q10 web UI: log in, see who you are, the district's wards on a map, the meetings (district
// officials and administrators may call one), and (for administrators) the audit log. Talks only
// to the core API; the CSRF token lives in sessionStorage.

const TEXT = {
  vi: {
    title: "Nền tảng đô thị thông minh", api: "Tài liệu API", logout: "Đăng xuất", login: "Đăng nhập",
    username: "Tên đăng nhập", password: "Mật khẩu", map: "Bản đồ phường", wards: "Các phường",
    code: "Mã", name: "Tên", audit: "Nhật ký kiểm toán", when: "Thời điểm", who: "Người thực hiện",
    what: "Hành động", from: "Từ", intact: "Chuỗi nhật ký nguyên vẹn", broken: "Chuỗi nhật ký bị sửa đổi",
    rows: "dòng", lang: "English", failed: "Không đăng nhập được",
    meetings: "Cuộc họp", meetingTitle: "Tiêu đề", startsAt: "Bắt đầu", newMeeting: "Tạo cuộc họp",
    create: "Tạo", join: "Tham gia", noMeetings: "Chưa có cuộc họp nào.", pickWard: "Chọn ít nhất một phường.",
    meetingFailed: "Không tạo được cuộc họp",
    report: "Phản ánh", track: "Theo dõi", complaints: "Xử lý phản ánh", console: "Trung tâm giám sát", dashboard: "Bảng điều hành",
    apply: "Nộp hồ sơ", trackDossier: "Tra cứu hồ sơ", dossiers: "Xử lý hồ sơ", cashier: "Thu ngân",
    registry: "Hộ tịch", telehealth: "Khám bệnh từ xa",
  },
  en: {
    title: "Smart district platform", api: "API reference", logout: "Log out", login: "Log in",
    username: "Username", password: "Password", map: "Ward map", wards: "Wards",
    code: "Code", name: "Name", audit: "Audit log", when: "When", who: "Who",
    what: "Action", from: "From", intact: "Audit chain intact", broken: "Audit chain altered",
    rows: "rows", lang: "Tiếng Việt", failed: "Could not log in",
    meetings: "Meetings", meetingTitle: "Title", startsAt: "Starts", newMeeting: "New meeting",
    create: "Create", join: "Join", noMeetings: "No meetings yet.", pickWard: "Choose at least one ward.",
    meetingFailed: "Could not create the meeting",
    report: "Report a problem", track: "Track", complaints: "Complaints", console: "Monitoring console", dashboard: "Command dashboard",
    apply: "Apply online", trackDossier: "Track a dossier", dossiers: "Dossiers", cashier: "Cash desk",
    registry: "Civil registry", telehealth: "Telehealth",
  },
};

let lang = localStorage.getItem("q10.lang") || "vi";
let me = null;
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];

function applyText() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").textContent = t("lang");
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  let csrf = sessionStorage.getItem("q10.csrf");
  if (method !== "GET" && !csrf && path !== "/api/v1/auth/login") {
    // A tab opened after login asks for its session's token.
    const r = await fetch("/api/v1/auth/csrf", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.ok) {
      csrf = (await r.json()).csrf_token;
      sessionStorage.setItem("q10.csrf", csrf);
    }
  }
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : null;
  if (!res.ok) throw Object.assign(new Error((data && data.detail) || res.statusText), { status: res.status });
  return data;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.append(td);
  }
  return tr;
}

// Draws polygons with an equirectangular projection scaled to the boxes' extent.
function drawMap(collection) {
  const svg = $("map");
  svg.replaceChildren();
  const rings = [];
  for (const f of collection.features) {
    if (!f.geometry) continue;
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    rings.push({ f, polys });
  }
  const pts = rings.flatMap((r) => r.polys.flat(2).length ? r.polys.flat(1).flat(1) : []);
  if (!pts.length) return;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = 960 / Math.max((x1 - x0) * k, y1 - y0);
  const px = (p) => [20 + (p[0] - x0) * k * scale, 20 + (y1 - p[1]) * scale];
  const ns = "http://www.w3.org/2000/svg";
  for (const { f, polys } of rings) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", polys.map((poly) => poly.map((ring) => "M" + ring.map((p) => px(p).join(",")).join("L") + "Z").join("")).join(""));
    const title = document.createElementNS(ns, "title");
    title.textContent = lang === "vi" ? f.properties.name_vi : f.properties.name_en;
    path.append(title);
    svg.append(path);
    const ring = polys[0][0];
    const c = px([ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length]);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", c[0]);
    label.setAttribute("y", c[1]);
    label.textContent = title.textContent;
    svg.append(label);
  }
  const notes = new Set(collection.features.map((f) => f.properties.source_note).filter(Boolean));
  $("map-note").textContent = [...notes].join(" ");
}

async function showHome() {
  $("login-view").hidden = true;
  $("home-view").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = me.display_name + " (" + me.username + ")";
  $("grants").textContent = me.grants.map((g) => g.role + " @ " + g.jurisdiction).join(", ");
  $("complaints-link").hidden = !me.grants.some((g) => COMPLAINT_STAFF.includes(g.role));
  $("console-link").hidden = !me.grants.some((g) => MONITOR_STAFF.includes(g.role));
  $("dashboard-link").hidden = !me.grants.some((g) => LEADERS.includes(g.role));
  $("dossiers-link").hidden = !me.grants.some((g) => DOSSIER_STAFF.includes(g.role));
  $("cashier-link").hidden = !me.grants.some((g) => CASHIERS.includes(g.role));
  $("registry-link").hidden = !me.grants.some((g) => REGISTRY_STAFF.includes(g.role));
  $("telehealth-link").hidden = !me.grants.some((g) => TELEHEALTH_STAFF.includes(g.role));
  const [wards, shapes] = await Promise.all([
    api("GET", "/api/v1/jurisdictions?kind=ward"),
    api("GET", "/api/v1/jurisdictions/boundaries?kind=ward"),
  ]);
  $("wards").tBodies[0].replaceChildren(...wards.map((w) => row([w.code, lang === "vi" ? w.name_vi : w.name_en])));
  drawMap(shapes);
  await showMeetings(wards);
  if (me.grants.some((g) => g.role === "admin")) {
    $("audit-view").hidden = false;
    const [check, rows] = await Promise.all([api("GET", "/api/v1/audit/verify"), api("GET", "/api/v1/audit?limit=20")]);
    $("audit-state").textContent = (check.ok ? t("intact") : t("broken") + ": " + check.problem) + " (" + check.rows + " " + t("rows") + ")";
    $("audit").tBodies[0].replaceChildren(...rows.map((r) => row([r.seq, r.at, r.actor, r.action + " " + r.object_type + " " + r.object_id, r.source])));
  }
}

// Roles that work the complaints queue.
const COMPLAINT_STAFF = ["district_official", "ward_official", "complaint_handler", "operator"];
// Roles that watch the monitoring console (alerts and sensors).
const MONITOR_STAFF = ["admin", "operator", "district_official", "ward_official"];
// Roles that read the command dashboard.
const LEADERS = ["district_official", "ward_official", "operator"];
// Roles that handle dossiers, and that take payments at the cash desk.
const DOSSIER_STAFF = ["district_official", "ward_official", "registry_clerk"];
const CASHIERS = ["cashier"];
// Roles that work the civil-status registry (ward officials may still open it to search).
const REGISTRY_STAFF = ["registry_clerk", "district_official"];
// Roles that take part in telehealth: city doctors and ward clinics.
const TELEHEALTH_STAFF = ["doctor", "clinic_staff"];

const wardName = (w) => (lang === "vi" ? w.name_vi : w.name_en) || w.name || w.code;
const mayCallMeetings = () => me.grants.some((g) => g.role === "admin" || g.role === "district_official");

// The meetings this account can see, each with a link into its room, and for district officials
// and administrators a form to call a new one for some wards.
async function showMeetings(wards) {
  let meetings;
  try {
    meetings = await api("GET", "/api/v1/meetings");
  } catch (e) {
    // A server without meetings, or an account that may not see them: no section.
    $("meetings-view").hidden = true;
    return;
  }
  $("meetings-view").hidden = false;
  const locale = lang === "vi" ? "vi-VN" : "en-GB";
  $("meetings").tBodies[0].replaceChildren(...meetings.map((m) => {
    const tr = row([m.title, new Date(m.starts_at).toLocaleString(locale), (m.wards || []).map(wardName).join(", ")]);
    tr.dataset.meeting = m.id;
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = "/room#meeting=" + encodeURIComponent(m.id);
    a.className = "join-meeting";
    a.textContent = t("join");
    td.append(a);
    tr.append(td);
    return tr;
  }));
  $("meetings-state").textContent = meetings.length ? "" : t("noMeetings");
  const form = $("meeting-form");
  form.hidden = !mayCallMeetings();
  const list = $("meeting-wards");
  const picked = new Set([...list.selectedOptions].map((o) => o.value));
  list.size = Math.min(Math.max(wards.length, 2), 12);
  list.replaceChildren(...wards.map((w) => {
    const option = new Option(wardName(w), w.code);
    option.selected = picked.has(w.code);
    return option;
  }));
}

async function createMeeting(ev) {
  ev.preventDefault();
  const form = ev.target;
  const wards = [...$("meeting-wards").selectedOptions].map((o) => o.value);
  if (!wards.length) {
    $("meeting-error").textContent = t("pickWard");
    return;
  }
  // The local date and time the official typed, sent as an RFC 3339 instant.
  const startsAt = new Date(form.elements.starts_at.value).toISOString().replace(/\.\d{3}Z$/, "Z");
  try {
    await api("POST", "/api/v1/meetings", { title: form.elements.title.value.trim(), starts_at: startsAt, wards });
    $("meeting-error").textContent = "";
    form.reset();
    await showHome();
  } catch (e) {
    $("meeting-error").textContent = t("meetingFailed") + ": " + e.message;
  }
}

function showLogin() {
  me = null;
  $("home-view").hidden = true;
  $("logout").hidden = true;
  $("complaints-link").hidden = true;
  $("console-link").hidden = true;
  $("dashboard-link").hidden = true;
  $("dossiers-link").hidden = true;
  $("cashier-link").hidden = true;
  $("registry-link").hidden = true;
  $("telehealth-link").hidden = true;
  $("login-view").hidden = false;
}

async function start() {
  applyText();
  $("lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    localStorage.setItem("q10.lang", lang);
    applyText();
    if (me) showHome();
  });
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const res = await api("POST", "/api/v1/auth/login", { username: form.get("username"), password: form.get("password") });
      sessionStorage.setItem("q10.csrf", res.csrf_token);
      me = res.user;
      $("login-error").textContent = "";
      ev.target.reset();
      await showHome();
    } catch (e) {
      $("login-error").textContent = t("failed") + ": " + e.message;
    }
  });
  $("meeting-form").addEventListener("submit", createMeeting);
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/v1/auth/logout"); } catch (_) { /* the session may be gone already */ }
    sessionStorage.removeItem("q10.csrf");
    showLogin();
  });
  try {
    me = await api("GET", "/api/v1/me");
    await showHome();
  } catch (_) {
    showLogin();
  }
}

start();
