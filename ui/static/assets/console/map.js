// The console's map, drawn with Leaflet (from the npm registry, served under /assets/vendor/)
// from the core's GeoJSON and without any tile server: the wards' boundaries with their names,
// and layers the console fills (sensors, complaints) that can be hidden. It zooms and pans with
// the mouse, the buttons and the keyboard (arrows, + and −); a click, or Enter at the cross-hair
// in the middle, places a point and says which ward holds it.

import * as L from "../vendor/leaflet.js";
import { featureAt } from "../complaints/map.js";

// A tooltip's content as text, never as markup.
const text = (s) => Object.assign(document.createElement("span"), { textContent: s });

export class ConsoleMap {
  // `wards`: GeoJSON features with boundaries; `onPlace(point, ward)` hears each placed point.
  constructor(box, wards, onPlace) {
    this.features = wards;
    this.onPlace = onPlace;
    this.point = null;
    this.map = L.map(box, { attributionControl: false, zoomSnap: 0.1, zoomDelta: 0.5, keyboardPanDelta: 60 });
    this.wards = L.geoJSON({ type: "FeatureCollection", features: wards }, {
      style: () => ({ className: "ward", color: "#0b4f8a", weight: 2, fillColor: "#d6e6f5", fillOpacity: 0.7 }),
      // Points are placed by the map's click; the wards only show where they are.
      interactive: false,
      // Drawn once the map has a view: marked then.
      onEachFeature: (f, layer) => layer.on("add", () => layer.getElement()?.setAttribute("data-ward", f.properties.code)),
    });
    this.map.fitBounds(this.wards.getBounds(), { padding: [10, 10] });
    this.wards.addTo(this.map);
    this.layers = {};
    this.map.on("click", (e) => this.place(e.latlng));
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === box) {
        e.preventDefault();
        this.place(this.map.getCenter());
      }
    });
    box.append(Object.assign(document.createElement("span"), { className: "crosshair", ariaHidden: "true" }));
  }

  // Writes the wards' names (again, after a language switch).
  names(nameOf) {
    this.wards.eachLayer((layer) => {
      layer.unbindTooltip();
      layer.bindTooltip(text(nameOf(layer.feature.properties)), { permanent: true, direction: "center", className: "ward-name" });
    });
  }

  // A layer by name, made on first use; `shown` adds it to the map or takes it off.
  layer(name, shown) {
    const group = (this.layers[name] ||= L.layerGroup());
    if (shown && !this.map.hasLayer(group)) group.addTo(this.map);
    if (!shown && this.map.hasLayer(group)) group.remove();
    return group;
  }

  // A round mark of `radius` pixels at [lon, lat] on `group`, with classes, a data attribute for
  // what it stands for, and a tooltip.
  dot(group, [lon, lat], { radius, className, data, title }) {
    const m = L.circleMarker([lat, lon], { radius, className, weight: 2 }).bindTooltip(text(title));
    // The path exists while the mark is on the map: marked each time it is put there.
    m.on("add", () => {
      for (const [k, v] of Object.entries(data)) m.getElement()?.setAttribute("data-" + k, v);
    });
    group.addLayer(m);
    return m;
  }

  // A small label beside a mark at [lon, lat] on `group` (text, never markup), not clickable.
  badge(group, [lon, lat], label, data) {
    const span = text(label);
    span.className = "badge-text";
    for (const [k, v] of Object.entries(data)) span.setAttribute("data-" + k, v);
    const icon = L.divIcon({ className: "map-badge", html: span, iconSize: null, iconAnchor: [-12, 10] });
    group.addLayer(L.marker([lat, lon], { icon, interactive: false, keyboard: false }));
  }

  place(latlng) {
    this.point = { lat: latlng.lat, lon: latlng.lng };
    if (this.marker) this.marker.remove();
    this.marker = L.circleMarker(latlng, { radius: 8, className: "placed", weight: 3, interactive: false }).addTo(this.map);
    this.onPlace(this.point, featureAt(this.features, [latlng.lng, latlng.lat]));
  }

  clear() {
    this.point = null;
    if (this.marker) this.marker.remove();
    this.marker = null;
    this.onPlace(null, null);
  }
}
