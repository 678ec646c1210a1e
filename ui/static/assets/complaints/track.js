// The track page: the citizen types the tracking code (sent in a request body, kept only in the
// field and this tab's sessionStorage) and sees where the report stands, its public history and
// photos; reopens it while that is allowed, and rates it once it is closed.

import { $, api, currentLang, el, pair, photoList, placeText, setupLang, statusBadge, t, actionLabel, when } from "./common.js";
import { showFollowed } from "./follow.js";

const CODE_KEY = "q10.track";

let shown = null;
let code = null;
// Look-ups are numbered so that only the newest one is shown.
let asked = 0;

function showError(id, message, field) {
  const box = $(id);
  box.textContent = message;
  box.hidden = false;
  if (field) field.setAttribute("aria-invalid", "true");
  box.focus();
}

function hideError(id, field) {
  $(id).hidden = true;
  $(id).textContent = "";
  if (field) field.removeAttribute("aria-invalid");
}

async function lookUp(ev) {
  if (ev) ev.preventDefault();
  const typed = $("code").value.trim();
  hideError("track-error", $("code"));
  if (!typed) {
    showError("track-error", t("needCode"), $("code"));
    return;
  }
  const mine = ++asked;
  let found;
  try {
    found = await api("POST", "/api/v1/complaints/track", { code: typed }, { anonymous: true });
  } catch (e) {
    if (mine !== asked) return;
    shown = null;
    $("result").hidden = true;
    showError("track-error", e.status === 404 ? t("codeNotFound") : t("trackFailed") + ": " + e.message, $("code"));
    return;
  }
  if (mine !== asked) return;
  shown = found;
  code = typed;
  sessionStorage.setItem(CODE_KEY, typed);
  render();
  $("result-title").focus();
}

function timelineItem(u) {
  return el("li", { "data-action": u.action, "data-status": u.status },
    el("div", { class: "when" }, el("time", { datetime: u.at, text: when(u.at) })),
    el("div", {},
      el("strong", { text: actionLabel(u.action) }), " ", statusBadge(u.status), " ",
      el("span", { class: "muted", text: "· " + t("by_" + u.by) }),
      u.note ? el("p", { class: "update-note", text: u.note }) : null),
  );
}

function render() {
  if (!shown) return;
  const c = shown;
  const category = currentLang() === "vi" ? c.category_name_vi : c.category_name_en;
  $("result").hidden = false;
  $("result-title").textContent = t("complaintNo", { id: c.id }) + " · " + category;
  $("result-status").replaceChildren(statusBadge(c.status));
  $("result-overdue").hidden = !c.overdue;
  $("result-facts").replaceChildren(
    ...pair(t("categoryShort"), category),
    ...pair(t("ward"), (currentLang() === "en" && c.ward_name_en) || c.ward_name || c.ward || t("noWard")),
    ...pair(t("team"), c.team),
    ...pair(t("location"), placeText(c)),
    ...pair(t("submittedAt"), when(c.submitted_at)),
    ...pair(t("updatedAt"), when(c.updated_at)),
    ...pair(t("due"), when(c.due_at)),
    ...(c.duplicate_of ? pair(t("status"), t("duplicateOf", { id: c.duplicate_of })) : []),
  );
  $("result-description").textContent = c.description;
  $("result-photos").replaceChildren(...(c.photos.length ? [photoList(c.photos)] : []));
  $("timeline").replaceChildren(...(c.updates.length ? c.updates.map(timelineItem) : [el("li", { text: t("noUpdates") })]));
  $("rating-done").hidden = c.rating == null;
  $("rating-done").textContent = c.rating == null ? "" : t("rated", { n: c.rating });
  $("rate-form").hidden = !c.can_rate;
  $("reopen-form").hidden = !c.can_reopen;
}

async function rate(ev) {
  ev.preventDefault();
  const first = document.querySelector('#rate-stars input[name="rating"]');
  hideError("rate-error", first);
  const picked = document.querySelector('#rate-stars input[name="rating"]:checked');
  if (!picked) {
    showError("rate-error", t("needRating"), first);
    return;
  }
  const button = $("rate-submit");
  button.disabled = true;
  try {
    shown = await api("POST", "/api/v1/complaints/rate", { code, rating: Number(picked.value), comment: $("rate-comment").value.trim() }, { anonymous: true });
  } catch (e) {
    showError("rate-error", t("rateFailed") + ": " + e.message, e.field === "comment" ? $("rate-comment") : null);
    return;
  } finally {
    button.disabled = false;
  }
  $("rate-form").reset();
  render();
  $("rating-done").focus();
}

async function reopen(ev) {
  ev.preventDefault();
  const reason = $("reopen-reason");
  hideError("reopen-error", reason);
  if (!reason.value.trim()) {
    showError("reopen-error", t("needReason"), reason);
    return;
  }
  const button = $("reopen-submit");
  button.disabled = true;
  try {
    shown = await api("POST", "/api/v1/complaints/reopen", { code, reason: reason.value.trim() }, { anonymous: true });
  } catch (e) {
    showError("reopen-error", t("reopenFailed") + ": " + e.message, reason);
    return;
  } finally {
    button.disabled = false;
  }
  $("reopen-form").reset();
  render();
  $("result-title").focus();
}

function start() {
  setupLang(() => {
    render();
    showFollowed($("followed"));
  });
  $("rating-done").tabIndex = -1;
  $("track-form").addEventListener("submit", lookUp);
  $("rate-form").addEventListener("submit", rate);
  $("reopen-form").addEventListener("submit", reopen);
  showFollowed($("followed"));
  const kept = sessionStorage.getItem(CODE_KEY);
  if (kept) {
    $("code").value = kept;
    lookUp();
  }
  document.body.dataset.ready = "true";
}

start();
