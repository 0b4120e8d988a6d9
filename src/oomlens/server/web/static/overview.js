// oomlens overview: OOMs per day by cause as stacked bars (uPlot). The data comes from the
// <script type="application/json" data-chart="oomCauses"> block (dashboard.js finds it): the
// days, and one count per day for each cause, the most frequent cause first (at the bottom of
// each stack). Colours come from the page's CSS variables, so light and dark mode both read.
"use strict";
(function () {
  const HEIGHT = 240;
  const steps = window.oomlensChart.wholeSteps;
  const colour = window.oomlensChart.colour;

  function causeColour(index) {
    return colour("--cause-" + ((index % 8) + 1)) || colour("--accent");
  }


  // Each cause is drawn as a bar from 0 to the sum of itself and the causes below it, the top
  // cause first, so the ones below paint over the lower part: stacked bars. The legend shows a
  // cause's own count, not the running sum.
  function build(element, data) {
    const days = data.days;
    const indexes = days.map(function (_, i) { return i; });
    let running = days.map(function () { return 0; });
    const stacked = data.series.map(function (s) {
      running = running.map(function (sum, i) { return sum + s.counts[i]; });
      return running;
    });
    const fg = colour("--fg");
    const line = colour("--line");
    // With no day hovered the legend shows the whole range and each cause's total, never a
    // label with nothing after it.
    const range = days.length ? days[0] + " to " + days[days.length - 1] : "";
    const series = [{ label: "day", value: function (u, i) { return i == null ? range : days[i]; } }];
    const values = [indexes];
    for (let k = data.series.length - 1; k >= 0; k--) {
      const own = data.series[k].counts;
      const total = own.reduce(function (sum, n) { return sum + n; }, 0);
      const paint = causeColour(k);
      series.push({ label: data.series[k].cause, stroke: paint, fill: paint, width: 0,
                    points: { show: false }, paths: uPlot.paths.bars({ size: [0.7, 40], align: 0 }),
                    value: function (u, v, si, i) { return (i == null ? total : own[i]).toLocaleString(); } });
      values.push(stacked[k]);
    }
    const top = Math.max.apply(null, running.concat([1]));
    const options = {
      width: Math.max(element.clientWidth, 240),
      height: HEIGHT,
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false, range: [-0.5, days.length - 0.5] },
                y: { range: [0, top * 1.15] } },
      axes: [
        { stroke: fg, grid: { show: false }, ticks: { stroke: line }, space: 48, incrs: steps,
          values: function (u, splits) {
            return splits.map(function (i) {
              return Number.isInteger(i) && days[i] ? days[i].slice(5) : "";
            });
          } },
        { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line }, incrs: steps,
          values: function (u, splits) {
            return splits.map(function (v) { return v.toLocaleString(); });
          } },
      ],
      series: series,
    };
    return new uPlot(options, values, element);
  }

  window.oomlensCharts.oomCauses = function (element, data) {
    window.oomlensChart.keep(element, data, build, 240, HEIGHT);
  };
})();
