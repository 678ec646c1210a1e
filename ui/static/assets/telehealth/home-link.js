// On the home page: the link to the telehealth page, shown once a doctor or a ward clinic's
// staff member is logged in, in the language the page shows.

import { TEXT } from "./text.js";

const ROLES = ["doctor", "clinic_staff"];
const link = document.getElementById("telehealth-link");
const home = document.getElementById("home-view");

function words() {
  link.textContent = TEXT[localStorage.getItem("q10.lang") === "en" ? "en" : "vi"].telehealth;
}

// The home view shows after a login and hides after a logout: ask who is there each time.
async function update() {
  if (home.hidden) {
    link.hidden = true;
    return;
  }
  try {
    const res = await fetch("/api/v1/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const me = res.ok ? await res.json() : null;
    link.hidden = !(me && me.grants.some((g) => ROLES.includes(g.role)));
  } catch (_) {
    link.hidden = true;
  }
}

if (link && home) {
  words();
  // The home page's own handler switches the language first (its module runs first).
  document.getElementById("lang").addEventListener("click", words);
  new MutationObserver(update).observe(home, { attributes: true, attributeFilter: ["hidden"] });
  update();
}
