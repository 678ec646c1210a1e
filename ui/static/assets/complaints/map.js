// The ward map of the report page: the wards' boundaries drawn as SVG with the home page's
// equirectangular projection, a marker for the chosen point (set by a click, the arrow keys or
// the device's location), and the ward that contains it, found by testing the point against the
// wards' polygons here in the page.

const NS = "http://www.w3.org/2000/svg";
// SVG units: the longer side of the district spans SIZE, with PAD around it.
const PAD = 20;
const SIZE = 960;
// Arrow keys move the point this many SVG units (with Shift: BIG_STEP).
const STEP = 4;
const BIG_STEP = 24;

const polygonsOf = (g) => (!g ? [] : g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);

// Longitude and latitude to SVG units and back:
//   x = PAD + (lon - west) * k * scale,  y = PAD + (north - lat) * scale,
// with k the cosine of the middle latitude and scale fitting the longer side into SIZE.
export function projection(features) {
  const pts = features.flatMap((f) => polygonsOf(f.geometry)).flat(2);
  const lons = pts.map((p) => p[0]);
  const lats = pts.map((p) => p[1]);
  const [west, east, south, north] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  const scale = SIZE / Math.max((east - west) * k, north - south);
  return {
    width: 2 * PAD + (east - west) * k * scale,
    height: 2 * PAD + (north - south) * scale,
    toSvg: ([lon, lat]) => [PAD + (lon - west) * k * scale, PAD + (north - lat) * scale],
    toLonLat: ([x, y]) => [west + (x - PAD) / (k * scale), north - (y - PAD) / scale],
  };
}

// Even-odd ray casting on one ring of [lon, lat] points.
function inRing(ring, [x, y]) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// The feature whose polygon (outer ring, minus its holes) holds the point, if any.
export function featureAt(features, point) {
  return features.find((f) => polygonsOf(f.geometry).some(([outer, ...holes]) =>
    inRing(outer, point) && !holes.some((h) => inRing(h, point)))) || null;
}

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export class WardMap {
  // `features`: the wards with their boundaries; `onChange(point, ward)` hears every move.
  constructor(svg, features, onChange) {
    this.svg = svg;
    this.features = features.filter((f) => f.geometry);
    this.onChange = onChange;
    this.proj = projection(this.features);
    this.point = null;
    this.ward = null;
    svg.setAttribute("viewBox", `0 0 ${this.proj.width.toFixed(1)} ${this.proj.height.toFixed(1)}`);
    svg.addEventListener("click", (e) => this.clicked(e));
    svg.addEventListener("keydown", (e) => this.key(e));
  }

  // Draws the wards, their names (from `nameOf(properties)`) and the marker.
  draw(nameOf) {
    const shapes = [];
    const labels = [];
    for (const f of this.features) {
      const polys = polygonsOf(f.geometry);
      const d = polys.map((poly) => poly.map((ring) => "M" + ring.map((p) => this.proj.toSvg(p).map((n) => n.toFixed(1)).join(",")).join("L") + "Z").join("")).join("");
      const path = svgEl("path", { d, class: "ward", "data-ward": f.properties.code });
      const title = svgEl("title");
      title.textContent = nameOf(f.properties);
      path.append(title);
      shapes.push(path);
      const ring = polys[0][0];
      const [x, y] = this.proj.toSvg([ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length]);
      const label = svgEl("text", { x: x.toFixed(1), y: y.toFixed(1) });
      label.textContent = title.textContent;
      labels.push(label);
    }
    this.marker = svgEl("g", { class: "marker", "aria-hidden": "true" });
    this.marker.append(svgEl("circle", { r: 18, class: "marker-ring" }), svgEl("circle", { r: 5, class: "marker-dot" }));
    this.svg.replaceChildren(...shapes, ...labels, this.marker);
    this.placeMarker();
  }

  clicked(e) {
    const m = this.svg.getScreenCTM();
    if (!m) return;
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
    this.setLonLat(this.proj.toLonLat([p.x, p.y]));
  }

  key(e) {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (!this.point) this.setLonLat(this.proj.toLonLat([this.proj.width / 2, this.proj.height / 2]));
      return;
    }
    const step = e.shiftKey ? BIG_STEP : STEP;
    const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
    if (!move) return;
    e.preventDefault();
    const [x, y] = this.point ? this.proj.toSvg([this.point.lon, this.point.lat]) : [this.proj.width / 2, this.proj.height / 2];
    const clamp = (v, max) => Math.min(Math.max(v, 0), max);
    this.setLonLat(this.proj.toLonLat([clamp(x + move[0], this.proj.width), clamp(y + move[1], this.proj.height)]));
  }

  setLonLat([lon, lat]) {
    this.point = { lat, lon };
    this.ward = featureAt(this.features, [lon, lat]);
    this.placeMarker();
    this.onChange(this.point, this.ward);
  }

  clear() {
    this.point = null;
    this.ward = null;
    this.placeMarker();
    this.onChange(null, null);
  }

  placeMarker() {
    if (!this.marker) return;
    this.marker.classList.toggle("shown", !!this.point);
    if (!this.point) return;
    const [x, y] = this.proj.toSvg([this.point.lon, this.point.lat]);
    this.marker.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
  }
}
