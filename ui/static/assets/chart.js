// Time series drawn with uPlot (from the npm registry, served under /assets/vendor/): the
// dashboard's complaints per day and the console's sensor readings. Times are shown in the
// district's zone.

import uPlot from "./vendor/uplot.js";

const ZONE = "Asia/Ho_Chi_Minh";

// Draws into `box` (replacing what was there) and returns the chart. `data` is [xs, ...ys] with
// xs in seconds; `series` describes each y (label, stroke, dash, fill); `ticks(seconds)` and
// `legend(seconds)` write x values; `floor` is the least top of the y axis.
export function timeChart(box, { data, series, yLabel, ticks, legend, floor = 4, height = 300 }) {
  box.replaceChildren();
  return new uPlot({
    width: Math.max(320, box.clientWidth || 800),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), ZONE),
    scales: {
      x: { time: true },
      y: {
        range: (_u, min, max) => {
          const low = Math.min(0, Number.isFinite(min) ? min : 0);
          const top = Math.max(floor, Number.isFinite(max) ? max : 0);
          return [low, top + (top - low) * 0.1];
        },
      },
    },
    axes: [{ values: (_u, splits) => splits.map(ticks) }, { label: yLabel }],
    series: [
      { label: "", value: (_u, v) => (v == null ? "" : legend(v)) },
      ...series.map((s) => ({ width: 2, points: { show: true }, ...s })),
    ],
  }, data, box);
}

// Keeps a chart as wide as its box when the window is resized.
export function fitWidth(get, box) {
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    const chart = get();
    if (chart && Math.abs(window.innerWidth - width) > 20) {
      width = window.innerWidth;
      chart.setSize({ width: Math.max(320, box.clientWidth), height: chart.height });
    }
  });
}
