// The report page: a citizen, logged in or not, files a complaint with a category, a
// description, a place (a point on the ward map, their device's location, an address), up to
// three photos and optional contact details. Open reports of the same kind close by are offered
// first, to follow instead. The answer's tracking code is shown once and kept in this tab's
// sessionStorage for the track page; never in a URL.

import { $, api, currentLang, el, pair, setupLang, size, statusBadge, t, unitName, when } from "./common.js";
import { WardMap } from "./map.js";
import { follow, followed, showFollowed } from "./follow.js";

const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
const MAX_DESCRIPTION = 4000;
const PHOTO_TYPES = ["image/jpeg", "image/png"];
// The track page reads the last code from here (this tab only).
const CODE_KEY = "q10.track";

// The form control a problem's `field` is about.
const FIELDS = {
  category: "category", description: "description", lat: "ward-map", lon: "ward-map", address: "address",
  photo: "photos", "contact.name": "contact-name", "contact.email": "contact-email", "contact.phone": "contact-phone",
  notify: "notify-none",
};

let categories = [];
let wards = [];
let map = null;
let nearbyAsk = 0;
let nearby = [];
let receipt = null;
let errorField = null;
// The message shown, as a function so that it can be said again in the other language.
let errorText = null;

const categoryName = (c) => (currentLang() === "vi" ? c.name_vi : c.name_en);
const wardOf = (code) => wards.find((f) => f.properties.code === code);

function renderCategories() {
  const select = $("category");
  const chosen = select.value;
  select.replaceChildren(new Option(t("chooseCategory"), ""), ...categories.map((c) => new Option(categoryName(c), c.code)));
  select.value = chosen;
  renderCategoryHint();
}

function renderCategoryHint() {
  const c = categories.find((c) => c.code === $("category").value);
  const english = currentLang() === "en";
  $("category-hint").textContent = c ? [english ? c.description : "", t("slaHours", { h: c.sla_hours })].filter(Boolean).join(". ") : "";
}

function renderCount() {
  $("description-count").textContent = t("chars", { n: $("description").value.length, max: MAX_DESCRIPTION });
}

function renderPoint() {
  const out = $("point-text");
  $("clear-point").disabled = !(map && map.point);
  if (!map || !map.point) {
    out.replaceChildren(t("noPoint"));
    return;
  }
  const ward = map.ward;
  out.replaceChildren(
    el("strong", { id: "point-ward", "data-ward": ward ? ward.properties.code : "", text: ward ? unitName(ward.properties) : t("outside") }),
    " · ",
    el("span", { id: "point-coords", "data-lat": map.point.lat.toFixed(6), "data-lon": map.point.lon.toFixed(6), text: map.point.lat.toFixed(5) + ", " + map.point.lon.toFixed(5) }),
  );
}

// What is wrong with the chosen photos, before anything is sent.
function photoProblem(files) {
  if (files.length > MAX_PHOTOS) return t("tooManyPhotos");
  for (const f of files) {
    if (!PHOTO_TYPES.includes(f.type)) return t("photoWrongType", { name: f.name });
    if (f.size > MAX_PHOTO_BYTES) return t("photoTooBig", { name: f.name });
  }
  return null;
}

function renderPhotos() {
  const files = [...$("photos").files];
  const problem = photoProblem(files);
  $("photos-chosen").replaceChildren(
    ...files.map((f) => el("li", { text: f.name + " (" + size(f.size) + ")" })),
    ...(problem ? [el("li", { class: "error", role: "alert", text: problem })] : []),
  );
  if (problem) $("photos").setAttribute("aria-invalid", "true");
  else $("photos").removeAttribute("aria-invalid");
}

function nearbyItem(n) {
  const mine = followed().includes(n.id);
  const text = n.description.length > 160 ? n.description.slice(0, 160) + "…" : n.description;
  return el("li", { "data-id": n.id },
    el("strong", { text: "#" + n.id }), " ", statusBadge(n.status), " ",
    el("span", { class: "muted", text: t("metres", { d: Math.round(n.distance_m) }) + " · " + when(n.submitted_at) }),
    el("p", { text }),
    mine
      ? el("span", { class: "following", text: "✓ " + t("following") })
      : el("button", { type: "button", class: "secondary follow", text: t("follow"), onclick: () => {
        follow(n.id);
        renderNearby();
        renderReceipt();
        showFollowed($("followed"));
      } }),
  );
}

function renderNearby() {
  $("nearby").hidden = nearby.length === 0;
  $("nearby-list").replaceChildren(...nearby.map(nearbyItem));
}

// Asks for open reports of the chosen kind near the chosen point; the newest question wins.
async function checkNearby() {
  const ask = ++nearbyAsk;
  const category = $("category").value;
  if (!category || !map || !map.point) {
    nearby = [];
    renderNearby();
    return;
  }
  const q = new URLSearchParams({ category, lat: map.point.lat.toFixed(6), lon: map.point.lon.toFixed(6) });
  let found = [];
  try {
    found = await api("GET", "/api/v1/complaints/nearby?" + q, undefined, { anonymous: true });
  } catch (_) {
    found = [];
  }
  if (ask !== nearbyAsk) return;
  nearby = found;
  renderNearby();
}

function clearError() {
  $("form-error").hidden = true;
  $("form-error").replaceChildren();
  for (const e of document.querySelectorAll("#report-form [aria-invalid]")) {
    if (e.id !== "photos") e.removeAttribute("aria-invalid");
  }
  errorField = null;
  errorText = null;
}

function renderError() {
  const box = $("form-error");
  if (!errorText) return;
  box.replaceChildren(el("span", { text: errorText() }));
  if (errorField) box.append(" ", el("button", { type: "button", class: "link-button", text: t("goToField"), onclick: () => errorField.focus() }));
}

// Shows what is wrong and moves the focus to the message, which offers a way to the field.
function showError(fieldId, message) {
  const box = $("form-error");
  errorField = fieldId && $(fieldId) ? $(fieldId) : null;
  errorText = message;
  if (errorField) errorField.setAttribute("aria-invalid", "true");
  renderError();
  box.hidden = false;
  box.focus();
}

// The first thing the citizen still has to fix, as [field id, message].
function check() {
  const say = (key) => () => t(key);
  if (!$("category").value) return ["category", say("needCategory")];
  const d = $("description").value.trim();
  if (!d) return ["description", say("needDescription")];
  if (d.length > MAX_DESCRIPTION) return ["description", say("descriptionTooLong")];
  if (!map.point && !$("address").value.trim()) return ["ward-map", say("needPlace")];
  const files = [...$("photos").files];
  if (photoProblem(files)) return ["photos", () => photoProblem(files)];
  const notify = document.querySelector('input[name="notify"]:checked').value;
  if (notify === "email" && !$("contact-email").value.trim()) return ["contact-email", say("needEmail")];
  if (notify === "sms" && !$("contact-phone").value.trim()) return ["contact-phone", say("needPhone")];
  return null;
}

// The NewComplaint the form describes.
function complaint() {
  const out = { category: $("category").value, description: $("description").value.trim() };
  if (map.point) {
    out.lat = Number(map.point.lat.toFixed(6));
    out.lon = Number(map.point.lon.toFixed(6));
  }
  const address = $("address").value.trim();
  if (address) out.address = address;
  const contact = {};
  for (const [key, id] of [["name", "contact-name"], ["phone", "contact-phone"], ["email", "contact-email"]]) {
    const v = $(id).value.trim();
    if (v) contact[key] = v;
  }
  if (Object.keys(contact).length) out.contact = contact;
  const notify = document.querySelector('input[name="notify"]:checked').value;
  if (notify) out.notify = notify;
  return out;
}

async function submit(ev) {
  ev.preventDefault();
  clearError();
  const problem = check();
  if (problem) {
    showError(...problem);
    return;
  }
  const files = [...$("photos").files];
  let body = complaint();
  if (files.length) {
    // Neutral names: a file's own name may say who took it.
    const form = new FormData();
    form.append("complaint", JSON.stringify(body));
    files.forEach((f, i) => form.append("photo", f, `photo-${i + 1}.${f.type === "image/png" ? "png" : "jpg"}`));
    body = form;
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("sending");
  $("report-form").setAttribute("aria-busy", "true");
  try {
    receipt = await api("POST", "/api/v1/complaints", body, { anonymous: true });
  } catch (e) {
    showError(FIELDS[e.field], () => t("sendFailed") + ": " + e.message);
    return;
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
    $("report-form").removeAttribute("aria-busy");
  }
  sessionStorage.setItem(CODE_KEY, receipt.tracking_code);
  $("report-form").hidden = true;
  $("receipt").hidden = false;
  $("copy-state").textContent = "";
  renderReceipt();
  $("receipt-title").focus();
}

function renderReceipt() {
  if (!receipt) return;
  $("tracking-code").textContent = receipt.tracking_code;
  const ward = receipt.ward ? wardOf(receipt.ward) : null;
  $("receipt-facts").replaceChildren(
    ...pair(t("number"), el("strong", { id: "receipt-id", "data-id": receipt.id, text: "#" + receipt.id })),
    ...pair(t("status"), statusBadge(receipt.status)),
    ...pair(t("ward"), ward ? unitName(ward.properties) : receipt.ward || t("noWard")),
    ...pair(t("team"), receipt.team),
    ...pair(t("due"), when(receipt.due_at)),
  );
  $("similar").hidden = !receipt.similar.length;
  $("similar-list").replaceChildren(...receipt.similar.map(nearbyItem));
}

// Back to an empty form for the next report.
function another() {
  receipt = null;
  $("report-form").reset();
  map.clear();
  renderPhotos();
  renderCount();
  renderCategoryHint();
  clearError();
  $("receipt").hidden = true;
  $("report-form").hidden = false;
  $("category").focus();
}

function locate() {
  if (!navigator.geolocation) {
    $("point-text").textContent = t("noGeolocation");
    return;
  }
  $("point-text").textContent = t("locating");
  navigator.geolocation.getCurrentPosition(
    (p) => map.setLonLat([p.coords.longitude, p.coords.latitude]),
    () => { $("point-text").textContent = t("noGeolocation"); },
    { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
  );
}

function redraw() {
  renderCategories();
  renderCount();
  if (map) map.draw(unitName);
  renderPoint();
  renderPhotos();
  renderNearby();
  renderReceipt();
  renderError();
  showFollowed($("followed"));
}

async function start() {
  setupLang(redraw);
  $("report-form").addEventListener("submit", submit);
  $("category").addEventListener("change", () => { renderCategoryHint(); checkNearby(); });
  $("description").addEventListener("input", renderCount);
  $("photos").addEventListener("change", renderPhotos);
  $("locate").addEventListener("click", locate);
  $("clear-point").addEventListener("click", () => map.clear());
  $("another").addEventListener("click", another);
  $("copy-code").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(receipt.tracking_code);
      $("copy-state").textContent = t("copied");
    } catch (_) {
      $("copy-state").textContent = "";
    }
  });
  renderCount();
  renderPoint();
  showFollowed($("followed"));
  try {
    const [cats, shapes] = await Promise.all([
      api("GET", "/api/v1/complaint-categories", undefined, { anonymous: true }),
      api("GET", "/api/v1/jurisdictions/boundaries?kind=ward", undefined, { anonymous: true }),
    ]);
    categories = cats;
    wards = shapes.features.filter((f) => f.geometry);
  } catch (e) {
    $("load-error").textContent = t("error") + ": " + e.message;
    $("load-error").hidden = false;
    return;
  }
  renderCategories();
  map = new WardMap($("ward-map"), wards, () => { renderPoint(); checkNearby(); });
  map.draw(unitName);
  renderPoint();
  document.body.dataset.ready = "true";
}

start();
