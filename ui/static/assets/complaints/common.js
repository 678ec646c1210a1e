// What the complaint pages share: the helpers common to every page (../common.js) with the
// complaint pages' words added, and how complaint statuses, actions, photos and places are shown.

import { addText, el, t } from "../common.js";
import { TEXT } from "./text.js";

addText(TEXT);

export { $, ApiError, api, applyText, currentLang, el, followFeed, pair, setupLang, size, t, unitName, when } from "../common.js";

export const statusLabel = (s) => t("st_" + s);
export const actionLabel = (a) => t("ac_" + a);

// A status as a badge: the words, and a class per status for its colour.
export const statusBadge = (s) => el("span", { class: "status status-" + s, "data-status": s, text: statusLabel(s) });

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
