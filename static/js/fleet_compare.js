/* Compare page: the same charts as a run page, one trace per run, overlaid. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("compare-config").textContent);
  const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  const DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]; // equal runs still show both lines
  const plotConfig = {displaylogo: false, responsive: true};
  const layout = (x, y, extra = {}) => ({height: 360, margin: {l: 70, r: 20, t: 10, b: 55}, font: {size: 14},
    legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}, xaxis: x, yaxis: y, ...extra});
  const line = (key) => config.runs.map((r, i) => ({type: "scatter", mode: "lines", name: plotText(r.label),
    x: r.series.t_s || [], y: r.series[key] || [], line: {color: COLORS[i % 6], width: 3, dash: DASHES[i % 6]}}));
  const time = {title: {text: "simulated time (s)"}};
  // migrations completed so far: never drops (a VM "done" that must move again would leave
  // "done"); runs stored before the series existed show "done"
  const completed = config.runs.every((r) => r.series.completed) ? "completed" : "done";
  const counts = (id, key, title) => Plotly.newPlot(id, line(key), layout(time, countAxis({title: {text: title}}, line(key))), plotConfig);
  counts("cmp-done", completed, completed === "completed" ? "migrations completed" : "VMs done");
  counts("cmp-migrating", "migrating", "migrations");
  counts("cmp-queued", "queued", "VMs queued");
  const cdf = config.runs.map((r, i) => {
    const v = r.series.blackouts_sorted || [];
    return {type: "scatter", mode: "lines", name: plotText(r.label), x: v, y: v.map((_, j) => (j + 1) / v.length),
            line: {color: COLORS[i % 6], width: 3, dash: DASHES[i % 6], shape: "hv"}};
  });
  cdf.push({type: "scatter", mode: "markers+text", name: "Google", x: [config.google_p50_s, config.google_p99_s],
            y: [0.5, 0.99], text: ["50 ms", "300 ms"], textposition: "bottom right",
            marker: {size: 12, symbol: "diamond", color: "#000"}});
  Plotly.newPlot("cmp-cdf", cdf, layout(logAxis({title: {text: "blackout (s, log scale)"}, range: [-3, 1.5]}),
                                        {title: {text: "share of migrated VMs"}, range: [0, 1.02]}), plotConfig);
  window.fleetCompare = {traces: () => document.getElementById("cmp-cdf").data.length - 1};
})();
