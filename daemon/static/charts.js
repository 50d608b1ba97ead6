// Floorlink charts: small SVG bar charts drawn by the page itself. Shipped in the package and
// served from /static/, nothing fetched at run time; about a hundred lines instead of a
// charting library, because a bar per row is all the reports need.
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";

  function node(name, attrs, text) {
    const el = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // A round number at or above `max` for the axis: 1, 2, 2.5 or 5 times a power of ten.
  function niceMax(max) {
    if (!(max > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(max)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
    return 10 * p;
  }

  // bars(target, labels, values, {title, unit}): one bar per label; a null value is drawn as
  // an empty slot with "—" (the table under the chart says why). Negative values (a bias)
  // hang below the axis. Returns the <svg>.
  function bars(target, labels, values, opts) {
    const o = opts || {};
    const W = 640, H = 240, left = 56, right = 12, top = 24, bottom = 52;
    const nums = values.filter((v) => typeof v === "number" && isFinite(v));
    const hi = niceMax(Math.max(0, ...nums));
    const lo = -niceMax(Math.max(0, ...nums.map((v) => -v))) * (nums.some((v) => v < 0) ? 1 : 0);
    const span = hi - lo || 1;
    const y = (v) => top + (hi - v) / span * (H - top - bottom);
    const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart",
      "aria-label": o.title || "chart", "data-testid": "report-chart" });
    if (o.title) svg.append(node("text", { x: left, y: 16, class: "chart-title" }, o.title));
    for (const t of [lo, (lo + hi) / 2, hi]) {
      if (t === (lo + hi) / 2 && lo < 0) continue;
      svg.append(node("line", { x1: left, x2: W - right, y1: y(t), y2: y(t), class: "chart-grid" }));
      svg.append(node("text", { x: left - 6, y: y(t) + 4, class: "chart-tick", "text-anchor": "end" },
        String(Math.round(t * 100) / 100)));
    }
    const n = Math.max(labels.length, 1);
    const slot = (W - left - right) / n;
    const bw = Math.max(2, Math.min(48, slot * 0.7));
    const every = Math.ceil(n / 16); // at most 16 labels under the axis
    labels.forEach((label, i) => {
      const v = values[i];
      const x = left + i * slot + (slot - bw) / 2;
      const g = node("g", { class: "chart-bar", "data-label": label, "data-value": v === null ? "" : v });
      if (typeof v === "number" && isFinite(v)) {
        const y0 = y(Math.max(0, v)), y1 = y(Math.min(0, v));
        const rect = node("rect", { x, y: y0, width: bw, height: Math.max(1, y1 - y0) });
        rect.append(node("title", {}, `${label}: ${v}${o.unit ? " " + o.unit : ""}`));
        g.append(rect);
      } else {
        g.append(node("text", { x: x + bw / 2, y: y(0) - 4, class: "chart-tick", "text-anchor": "middle" }, "—"));
      }
      if (i % every === 0) {
        g.append(node("text", { x: x + bw / 2, y: H - bottom + 16, class: "chart-label",
          "text-anchor": "middle" }, String(label).slice(0, 12)));
      }
      svg.append(g);
    });
    target.replaceChildren(svg);
    return svg;
  }

  global.FloorlinkCharts = { bars, niceMax };
})(window);
