// The telehealth page: doctors publish their availability and follow their appointments; ward
// clinics book a doctor's free slot for a patient and manage their ward's appointments. Each
// appointment links to its visit page. Needs a staff session from the home page's login.

import { $, CLINIC, DOCTOR, api, hasRole, setupLang, t } from "./common.js";
import { redrawDoctor, startDoctor } from "./doctor.js";
import { redrawClinic, startClinic } from "./clinic.js";

let me = null;
// What the gate says, kept to be written again in the other language.
let gateText = null;

// Shows only a message: why the page cannot be used (`reason`: login, role or error).
function gate(text, reason) {
  gateText = text;
  $("gate-text").textContent = text();
  $("gate-login").hidden = reason !== "login";
  $("gate").hidden = false;
  $("gate").dataset.reason = reason;
}

function redraw() {
  if (gateText) $("gate-text").textContent = gateText();
  if (hasRole(me, DOCTOR)) redrawDoctor();
  if (hasRole(me, CLINIC)) redrawClinic();
}

async function start() {
  setupLang(redraw);
  try {
    me = await api("GET", "/api/v1/me");
  } catch (e) {
    if (e.status === 401) gate(() => t("loginFirst"), "login");
    else gate(() => t("error") + ": " + e.message, "error");
    document.body.dataset.ready = "true";
    return;
  }
  $("who").textContent = me.display_name;
  const doctor = hasRole(me, DOCTOR);
  const clinic = hasRole(me, CLINIC);
  if (!doctor && !clinic) {
    gate(() => t("notStaff"), "role");
  } else {
    await Promise.all([doctor ? startDoctor(me) : null, clinic ? startClinic(me) : null]);
  }
  document.body.dataset.ready = "true";
}

start();
