// A lesson's chart, drawn from the run's own numbers (the json_script the server rendered):
// on load, and again whenever htmx swaps a lesson's result in.
(function () {
  "use strict";

  const PLOT_HEIGHT = 340; // px of plot, whatever the legend takes
  const LEGEND_ROW_PX = 22;
  const CHAR_PX = 7.5; // about, at the 14 px font: how many legend entries fit on a row

  function draw() {
    const data = document.getElementById("lesson-chart-data");
    const el = document.getElementById("lesson-chart");
    if (!data || !el || typeof Plotly === "undefined") return;
    const chart = JSON.parse(data.textContent);
    // The legend goes below the plot, in rows, in a bottom margin made for it: above the plot,
    // six long names squashed it. The chart grows by the legend's rows, so the plot keeps its
    // height.
    const named = chart.traces.filter((t) => t.showlegend !== false && t.name);
    const longest = Math.max(0, ...named.map((t) => String(t.name).length));
    const perRow = Math.max(1, Math.floor(((el.clientWidth || 600) - 20) / (longest * CHAR_PX + 50)));
    const legendRows = named.length > 1 ? Math.ceil(named.length / perRow) : 0;
    const bottom = 60 + legendRows * LEGEND_ROW_PX;
    const layout = {
      height: PLOT_HEIGHT + bottom + 20,
      margin: { l: chart.traces.some((t) => t.orientation === "h") ? 190 : 60, r: 10, t: 20, b: bottom },
      xaxis: {
        title: { text: chart.x_title || "" },
        range: chart.x_range || undefined,
        autorange: chart.x_range ? false : true,
      },
      yaxis: chart.y_type === "log"
        ? logAxis({ title: { text: chart.y_title || "" }, automargin: true })
        : { title: { text: chart.y_title || "" }, automargin: true },
      legend: { orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom" },
      barmode: chart.barmode || "group",
      font: { size: 14 },
    };
    Plotly.newPlot(el, chart.traces, layout, { responsive: true, displaylogo: false });
    el.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
