// A lesson's chart, drawn from the run's own numbers (the json_script the server rendered):
// on load, and again whenever htmx swaps a lesson's result in.
(function () {
  "use strict";

  function draw() {
    const data = document.getElementById("lesson-chart-data");
    const el = document.getElementById("lesson-chart");
    if (!data || !el || typeof Plotly === "undefined") return;
    const chart = JSON.parse(data.textContent);
    const layout = {
      margin: { l: chart.traces.some((t) => t.orientation === "h") ? 190 : 60, r: 10, t: 40, b: 50 },
      xaxis: { title: { text: chart.x_title || "" } },
      yaxis: { title: { text: chart.y_title || "" }, type: chart.y_type || "-", automargin: true },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
      barmode: chart.barmode || "group",
      font: { size: 14 },
    };
    Plotly.newPlot(el, chart.traces, layout, { responsive: true, displaylogo: false });
    el.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
