// oomlens issue page: its bar charts (uPlot), and the status part that htmx swaps.
// Chart data comes from <script type="application/json" data-chart="issueBars"> blocks
// (dashboard.js finds them); colours come from the page's CSS variables, so the charts follow
// light and dark mode, and are redrawn when the system switches.
"use strict";
(function () {
  const colour = window.oomlensChart.colour;
  // Whole numbers only on both axes: bars are counted in reports, and sit at 0, 1, 2...
  const steps = window.oomlensChart.wholeSteps;

  function sum(values) {
    return values.reduce(function (total, v) { return total + (v || 0); }, 0);
  }

  // The legend reads the hovered bar; with none hovered (v or i null) it shows the totals,
  // never a label with nothing after it.
  function options(element, data) {
    const labels = data.labels;
    const total = sum(data.values);
    const ticks = data.ticks || labels;
    const widest = ticks.reduce(function (most, t) { return Math.max(most, t.length); }, 1);
    const line = colour("--line");
    const accent = colour("--accent");
    const fg = colour("--fg");
    return {
      width: Math.max(element.clientWidth, 220),
      height: 200,
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: false, range: [-0.5, labels.length - 0.5] },
        y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.15]; } },
      },
      axes: [
        { stroke: fg, grid: { show: false }, ticks: { stroke: line }, incrs: steps,
          space: Math.max(30, widest * 7 + 8),
          values: function (u, splits) {
            return splits.map(function (i) { return Number.isInteger(i) ? (ticks[i] || "") : ""; });
          } },
        { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line }, incrs: steps,
          values: function (u, splits) {
            return splits.map(function (v) { return v.toLocaleString(); });
          } },
      ],
      series: [
        { label: data.title, value: function (u, i) { return i == null ? "all" : labels[i]; } },
        { label: "reports", stroke: accent, fill: accent, width: 0,
          points: { show: false },
          paths: uPlot.paths.bars({ size: [0.7, 60], align: 0 }),
          value: function (u, v) {
            return (v == null ? total : v).toLocaleString();
          } },
      ],
    };
  }

  function plot(element, data) {
    const indexes = data.labels.map(function (_, i) { return i; });
    return new uPlot(options(element, data), [indexes, data.values], element);
  }

  window.oomlensCharts.issueBars = function (element, data) {
    window.oomlensChart.keep(element, data, plot, 220, 200);
  };

  // A status change that cannot be made answers 422 with the reason in the status part: show
  // it (htmx leaves error answers unswapped by default).
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 422 && e.detail.target && e.detail.target.id === "status") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  // After a swap the button pressed is gone: keep the keyboard in the status part.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "status") {
      const part = document.getElementById("status");
      if (part) part.focus();
    }
  });
})();
