// oomlens dashboard: the little that needs a script. Charts read their data from
// <script type="application/json" data-chart="..."> blocks the server renders (JSON, never HTML).
"use strict";
(function () {
  const charts = {};  // chart kind -> function(element, data)
  window.oomlensCharts = charts;

  function drawAll(root) {
    root.querySelectorAll("script[type='application/json'][data-chart]").forEach(function (block) {
      const draw = charts[block.dataset.chart];
      if (!draw || block.dataset.drawn) return;
      block.dataset.drawn = "1";
      const target = document.getElementById(block.dataset.target);
      if (target) draw(target, JSON.parse(block.textContent));
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });

  // What the pages' uPlot charts share: colours from the CSS variables (so light and dark mode
  // both read), whole-number axis steps (they count reports), and keeping a chart the width of
  // its box and in the current colours.
  const kept = [];  // {element, data, build, plot}
  window.oomlensChart = {
    colour: function (name) {
      return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    },
    wholeSteps: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6],
    // build(element, data) makes the uPlot; it is made again when the colour scheme changes
    keep: function (element, data, build, minWidth, height) {
      const entry = { element: element, data: data, build: build, plot: build(element, data) };
      kept.push(entry);
      if (window.ResizeObserver) {
        new ResizeObserver(function () {
          const width = Math.max(element.clientWidth, minWidth);
          if (width !== entry.plot.width) entry.plot.setSize({ width: width, height: height });
        }).observe(element);
      }
    },
  };
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
    kept.forEach(function (entry) {
      entry.plot.destroy();
      entry.plot = entry.build(entry.element, entry.data);
    });
  });
})();
