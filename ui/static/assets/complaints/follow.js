// Following a report by its public number instead of filing the same problem again: the numbers
// are kept in this browser (localStorage 'q10.following'; they are public, no personal data) and
// each one's status is read from the public Open311 view.

import { api, el, t, when, statusBadge } from "./common.js";

const KEY = "q10.following";
const MOST = 20;

// Open311's extended statuses, as ours.
const FROM_OPEN311 = {
  open: "submitted", for_triage: "for_triage", investigating: "assigned", in_progress: "in_progress",
  fixed: "fixed", closed: "closed", duplicate: "duplicate", not_councils_responsibility: "not_our_responsibility",
  reopen: "reopened",
};

export function followed() {
  try {
    const ids = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(ids) ? ids.filter((n) => Number.isInteger(n) && n > 0) : [];
  } catch (_) {
    return [];
  }
}

export function follow(id) {
  const ids = [id, ...followed().filter((n) => n !== id)].slice(0, MOST);
  localStorage.setItem(KEY, JSON.stringify(ids));
}

export function unfollow(id) {
  localStorage.setItem(KEY, JSON.stringify(followed().filter((n) => n !== id)));
}

// Fills `section` (which holds a heading and a <ul>) with the followed reports and their
// statuses; hides it when there are none.
export async function showFollowed(section) {
  const list = section.querySelector("ul");
  const ids = followed();
  section.hidden = ids.length === 0;
  if (!ids.length) {
    list.replaceChildren();
    return;
  }
  const items = await Promise.all(ids.map(async (id) => {
    let r = null;
    try {
      [r] = await api("GET", `/open311/v2/requests/${id}.json`, undefined, { anonymous: true });
    } catch (_) {
      r = null;
    }
    const stop = el("button", { type: "button", class: "link-button", text: t("unfollow"), onclick: () => { unfollow(id); showFollowed(section); } });
    if (!r) return el("li", { "data-id": id }, el("strong", { text: "#" + id }), " ", t("notFound"), " ", stop);
    const status = FROM_OPEN311[r.extended_status] || (r.status === "open" ? "submitted" : "closed");
    return el("li", { "data-id": id },
      el("strong", { text: "#" + id }), " ", statusBadge(status), " ",
      el("span", { class: "muted", text: when(r.requested_datetime) }), " ",
      el("span", { text: r.description.length > 140 ? r.description.slice(0, 140) + "…" : r.description }), " ",
      stop);
  }));
  list.replaceChildren(...items);
}
