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
})();
