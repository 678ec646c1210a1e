// Recorded footage of a camera, for administrators, operators and district officials: the
// stretches recorded in the last day, a time range played back in the page (with a slider to jump
// within it: the footage streams as it is read, so a jump plays again from that moment), and the
// same range exported as an MP4 file under an investigation's case reference. The server writes
// each playback and export to the audit log.

import { $, api, el, t, when } from "../common.js";

const MINUTES = [5, 15, 60];

let camera = null;
// The range being played: its start and end (Dates).
let playing = null;

export function setupFootage() {
  const d = $("f-minutes");
  d.replaceChildren(...MINUTES.map((m) => new Option(t("minutesN", { n: m }), String(m))));
  d.value = "15";
  $("footage-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    play();
  });
  $("f-export").addEventListener("click", exportClip);
  $("f-close").addEventListener("click", closeFootage);
  $("f-seek").addEventListener("input", () => {
    if (playing) $("f-seek-at").textContent = when(new Date(playing.start.getTime() + $("f-seek").value * 1000));
  });
  $("f-seek").addEventListener("change", () => {
    if (playing) stream(new Date(playing.start.getTime() + $("f-seek").value * 1000), playing.end);
  });
}

// The range the form says ({start, end}), or null with the reason shown.
function span() {
  const start = $("f-from").value ? new Date($("f-from").value) : null;
  if (!start || Number.isNaN(start.getTime())) {
    fail(t("footageNoStart"));
    return null;
  }
  return { start, end: new Date(start.getTime() + Number($("f-minutes").value) * 60000) };
}

function query(start, end) {
  return `from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(end.toISOString())}`;
}

// The range the form says as a query, or null with the reason shown.
function range() {
  const s = span();
  return s && query(s.start, s.end);
}

function fail(message) {
  $("footage-error").textContent = message;
  $("footage-error").hidden = false;
}

// A local date and time as a datetime-local input takes it.
function local(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function openFootage(c) {
  camera = c;
  $("footage").hidden = false;
  $("footage-title").textContent = t("footageOf", { name: c.name });
  $("footage-error").hidden = true;
  $("footage-done").textContent = "";
  $("f-video").removeAttribute("src");
  $("f-video").hidden = true;
  if (!$("f-from").value) $("f-from").value = local(new Date(Date.now() - 15 * 60000));
  $("footage").scrollIntoView({ block: "nearest" });
  $("footage-title").focus();
  let segments = [];
  try {
    segments = await api("GET", `/api/v1/cameras/${c.id}/footage/segments`);
  } catch (e) {
    fail(e.message);
  }
  // Segments that follow each other within a few seconds make one stretch.
  const stretches = [];
  for (const s of segments) {
    const last = stretches[stretches.length - 1];
    if (last && new Date(s.started_at) - new Date(last.to) < 5000) last.to = s.ended_at;
    else stretches.push({ from: s.started_at, to: s.ended_at });
  }
  $("f-stretches").replaceChildren(...stretches.map((s) => {
    const b = el("button", { type: "button", class: "secondary", text: `${when(s.from)} – ${when(s.to)}`,
      "aria-label": t("footageFromOf", { from: when(s.from), to: when(s.to) }) });
    b.addEventListener("click", () => {
      $("f-from").value = local(new Date(s.from));
      play();
    });
    return el("li", {}, [b]);
  }));
  $("f-none").hidden = stretches.length > 0;
}

function closeFootage() {
  $("f-video").pause();
  $("f-video").removeAttribute("src");
  $("footage").hidden = true;
  $("f-seek-row").hidden = true;
  camera = null;
  playing = null;
}

function play() {
  $("footage-error").hidden = true;
  const s = camera && span();
  if (!s) return;
  playing = s;
  const seek = $("f-seek");
  seek.max = String(Math.round((s.end - s.start) / 1000));
  seek.value = "0";
  $("f-seek-at").textContent = when(s.start);
  $("f-seek-row").hidden = false;
  stream(s.start, s.end);
}

// Plays the camera's footage from `start` to `end`.
function stream(start, end) {
  $("footage-error").hidden = true;
  const video = $("f-video");
  video.hidden = false;
  video.setAttribute("aria-label", t("footageOf", { name: camera.name }));
  video.onerror = () => fail(t("footageNone"));
  video.src = `/api/v1/cameras/${camera.id}/footage?${query(start, end)}`;
  video.play().catch(() => {});
}

function exportClip() {
  $("footage-error").hidden = true;
  const q = camera && range();
  if (!q) return;
  const ref = $("f-case").value.trim();
  if (!/^[A-Za-z0-9./_-]{1,40}$/.test(ref)) {
    fail(t("footageCaseNeeded"));
    $("f-case").focus();
    return;
  }
  const a = el("a", { href: `/api/v1/cameras/${camera.id}/footage?${q}&case=${encodeURIComponent(ref)}`, download: "" });
  document.body.append(a);
  a.click();
  a.remove();
  $("footage-done").textContent = t("footageExported", { ref });
}
