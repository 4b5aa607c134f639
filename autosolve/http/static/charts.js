// Small SVG charts of the last hour, drawn with DOM calls (no library, no
// markup strings): stacked bars for counts per sample, lines for levels.
// Each sample is placed on a fixed time axis (the last `span` seconds), so
// an hour-old daemon fills the chart and a new one grows from the right.
// Hovering (or tapping) a chart shows the sample under the pointer in the
// chart's readout line: its time (relative, UTC on hover) and its values.
"use strict";

import { el, relative, utc, serverNow } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 132;
const MARGIN = { left: 46, right: 6, top: 8, bottom: 18 };

/** An empty chart: a title, a legend, the plot (an SVG described by `label`), a readout. */
export function chartFigure(id, title, label) {
  const plot = svgEl("svg", { role: "img", "aria-label": label }, "chart-plot");
  return el(
    "figure",
    { cls: "chart", attrs: { id } },
    el("figcaption", {}, el("span", { cls: "chart-title", text: title }), el("span", { cls: "chart-legend" })),
    plot,
    el("div", { cls: "chart-readout muted" }),
  );
}

function svgEl(tag, attributes = {}, cls = "") {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (cls) element.setAttribute("class", cls);
  return element;
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (at least `floor`). */
function niceMax(value, floor) {
  const target = Math.max(value, floor);
  const power = 10 ** Math.floor(Math.log10(target));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= target) return step * power;
  }
  return 10 * power;
}

/**
 * Draw `spec` into `figure` (a .chart holding an <svg class="chart-plot">,
 * a .chart-legend and a .chart-readout).
 *
 * spec: {
 *   kind: "bars" | "lines",
 *   times: [epoch ms of each sample's end], seconds: [each sample's length],
 *   span: seconds on the axis, series: [{label, cls, values}],
 *   format: value → text, max: a fixed top (else from the data), floor: least top,
 *   legend: "total" | "last",
 * }
 */
export function drawChart(figure, spec) {
  const svg = figure.querySelector("svg");
  const width = Math.max(svg.clientWidth || svg.parentElement.clientWidth || 300, 160);
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  svg.setAttribute("height", String(HEIGHT));
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: width - MARGIN.left - MARGIN.right,
    h: HEIGHT - MARGIN.top - MARGIN.bottom,
  };
  const now = serverNow();
  const start = now - spec.span * 1000;
  const x = (ms) => plot.x + ((ms - start) / (spec.span * 1000)) * plot.w;
  const top = spec.max || niceMax(dataMax(spec), spec.floor || 1);
  const y = (value) => plot.y + plot.h - (Math.min(value, top) / top) * plot.h;
  const parts = [...axes(plot, top, spec.format, x, now)];
  parts.push(...(spec.kind === "bars" ? bars(spec, x, y, plot) : lines(spec, x, y)));
  if (!spec.times.length) {
    parts.push(svgEl("text", { x: plot.x + plot.w / 2, y: plot.y + plot.h / 2 }, "chart-empty"));
    parts[parts.length - 1].textContent = "collecting the first sample…";
  }
  const cursor = svgEl("line", { x1: 0, x2: 0, y1: plot.y, y2: plot.y + plot.h }, "chart-cursor");
  cursor.style.visibility = "hidden";
  parts.push(cursor);
  svg.replaceChildren(...parts);
  legend(figure.querySelector(".chart-legend"), spec);
  follow(svg, cursor, figure.querySelector(".chart-readout"), spec, x);
}

function dataMax(spec) {
  let max = 0;
  for (let i = 0; i < spec.times.length; i += 1) {
    const values = spec.series.map((series) => series.values[i] || 0);
    const value = spec.kind === "bars" ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
    max = Math.max(max, value);
  }
  return max;
}

function axes(plot, top, format, x, now) {
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    const level = plot.y + plot.h - fraction * plot.h;
    parts.push(svgEl("line", { x1: plot.x, x2: plot.x + plot.w, y1: level, y2: level }, "chart-grid"));
    const label = svgEl("text", { x: plot.x - 4, y: level + 3.5 }, "chart-axis chart-axis-y");
    label.textContent = format(top * fraction);
    parts.push(label);
  }
  const ticks = [
    [60, "60 min ago"],
    [30, "30 min ago"],
    [0, "now"],
  ];
  for (const [minutes, text] of ticks) {
    const position = x(now - minutes * 60000);
    const anchor = minutes === 60 ? "start" : minutes === 0 ? "end" : "middle";
    const label = svgEl("text", { x: position, y: plot.y + plot.h + 13, "text-anchor": anchor }, "chart-axis");
    label.textContent = text;
    parts.push(label);
  }
  return parts;
}

function bars(spec, x, y, plot) {
  const paths = spec.series.map(() => []);
  const base = new Array(spec.times.length).fill(0);
  for (let i = 0; i < spec.times.length; i += 1) {
    const right = x(spec.times[i]);
    const left = Math.max(x(spec.times[i] - spec.seconds[i] * 1000), plot.x);
    const width = Math.max(right - left - (right - left > 4 ? 1 : 0), 2);
    spec.series.forEach((series, s) => {
      const value = series.values[i] || 0;
      if (value <= 0) return;
      const bottom = y(base[i]);
      base[i] += value;
      const height = Math.max(bottom - y(base[i]), 1);
      paths[s].push(`M${left.toFixed(1)} ${(bottom - height).toFixed(1)}h${width.toFixed(1)}v${height.toFixed(1)}h${(-width).toFixed(1)}z`);
    });
  }
  return spec.series.map((series, s) => svgEl("path", { d: paths[s].join("") || "M0 0" }, `chart-bar ${series.cls}`));
}

function lines(spec, x, y) {
  const paths = spec.series.map((series) => {
    let d = "";
    let drawing = false;
    series.values.forEach((value, i) => {
      if (value === null || value === undefined) {
        drawing = false;
        return;
      }
      d += `${drawing ? "L" : "M"}${x(spec.times[i]).toFixed(1)} ${y(value).toFixed(1)}`;
      drawing = true;
    });
    return svgEl("path", { d: d || "M0 0" }, `chart-line ${series.cls}`);
  });
  // The latest value of each line as a dot: a line of one sample shows too.
  const dots = spec.series.flatMap((series) => {
    const last = series.values.findLastIndex((value) => value !== null && value !== undefined);
    if (last < 0) return [];
    const at = { cx: x(spec.times[last]).toFixed(1), cy: y(series.values[last]).toFixed(1), r: 2.5 };
    return [svgEl("circle", at, `chart-dot ${series.cls}`)];
  });
  return [...paths, ...dots];
}

function legend(element, spec) {
  element.replaceChildren(
    ...spec.series.map((series) => {
      const values = series.values.filter((value) => value !== null && value !== undefined);
      const figure =
        spec.legend === "total"
          ? values.reduce((a, b) => a + b, 0)
          : values.length
            ? values[values.length - 1]
            : null;
      return el(
        "span",
        { cls: "chart-key", data: { series: series.cls } },
        el("span", { cls: `chart-swatch ${series.cls}` }),
        el("span", { text: series.label }),
        el("strong", { text: figure === null ? "–" : spec.format(figure) }),
      );
    }),
  );
}

/** Pointer over the chart: a cursor on the nearest sample, its values in the readout. */
function follow(svg, cursor, readout, spec, x) {
  const idle = spec.idle || "";
  readout.textContent = idle;
  svg.onpointermove = (event) => {
    if (!spec.times.length) return;
    const box = svg.getBoundingClientRect();
    const at = ((event.clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
    let nearest = 0;
    for (let i = 1; i < spec.times.length; i += 1) {
      if (Math.abs(x(spec.times[i]) - at) < Math.abs(x(spec.times[nearest]) - at)) nearest = i;
    }
    const position = x(spec.times[nearest]);
    cursor.setAttribute("x1", String(position));
    cursor.setAttribute("x2", String(position));
    cursor.style.visibility = "visible";
    const iso = new Date(spec.times[nearest]).toISOString();
    const values = spec.series.map((series) => {
      const value = series.values[nearest];
      return `${series.label} ${value === null || value === undefined ? "–" : spec.format(value)}`;
    });
    readout.textContent = `${relative(iso)} (${utc(iso)}): ${values.join(" · ")}`;
  };
  svg.onpointerleave = () => {
    cursor.style.visibility = "hidden";
    readout.textContent = idle;
  };
}
