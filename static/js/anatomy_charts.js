/* The policy charts of the run page: what auto-converge and post-copy did, from the model's own
 * events, played back with the rest of the page.
 *
 * anatomy.js owns the playback: it calls AnatomyCharts.apply(event) for every event it plays,
 * draw(finished) when it redraws and reset() on restart. A chart is drawn only if the page has
 * its element (the template shows the throttle chart to runs with auto-converge, the post-copy
 * chart to runs with post-copy).
 *
 * - Throttle: the vCPU throttle in force during each live round (the round event's ``throttle``,
 *   set by the engine's auto-converge at the sync before the round), as a step line.
 * - Post-copy: the engine's ``postcopy`` events (expected remote page faults per second, pages
 *   fetched on demand, pages pushed in the background) over the ``post_copy`` phase, shaded.
 */
window.AnatomyCharts = (function () {
  "use strict";

  const FONT = { size: 15, family: "system-ui, sans-serif" };
  const GRID = "#d0d0d0";
  const PLOT_CONFIG = { displaylogo: false, responsive: true };
  const TICKS = { ticks: "outside", ticklen: 6, tickcolor: "white" };
  const $ = (id) => document.getElementById(id);

  let data = fresh();
  let drawn = ""; // what the charts show now, to skip redraws that would change nothing

  function fresh() {
    return {
      throttle: { x: [], y: [], end: null },
      postcopy: { x: [], rate: [], fetched: [], pushed: [], start: null, end: null },
    };
  }

  function apply(ev) {
    if (ev.kind === "round" && ev.phase === "live") {
      const t = data.throttle;
      t.x.push(ev.t_s); t.y.push(100 * (ev.throttle || 0)); t.end = ev.end_s;
    } else if (ev.kind === "postcopy") {
      const p = data.postcopy;
      p.x.push(ev.t_s); p.rate.push(ev.faults_per_s);
      p.fetched.push(ev.fetched_on_demand_pages); p.pushed.push(ev.pushed_pages);
    } else if (ev.phase === "post_copy") {
      if (ev.kind === "phase_start") data.postcopy.start = ev.t_s;
      else if (ev.kind === "phase_end") data.postcopy.end = ev.t_s;
    }
  }

  function layout(extra) {
    return Object.assign({
      font: FONT, margin: { l: 70, r: 20, t: 10, b: 50 }, paper_bgcolor: "white", plot_bgcolor: "white",
      showlegend: false, uirevision: "keep", height: 280,
    }, extra);
  }

  function emptyLayout(text) {
    return layout({
      xaxis: { visible: false }, yaxis: { visible: false },
      annotations: [{ text, xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 14, color: "#555" } }],
    });
  }

  function drawThrottle(finished) {
    const t = data.throttle;
    if (!t.x.length) {
      Plotly.react("chart-throttle", [], emptyLayout("Nothing copied yet:<br>the throttle is set at the syncs<br>between pre-copy rounds."), PLOT_CONFIG);
      return;
    }
    // the last round's throttle holds until that round's end
    const x = [...t.x, t.end], y = [...t.y, t.y[t.y.length - 1]];
    const never = finished && t.y.every((v) => v === 0);
    Plotly.react("chart-throttle", [{
      type: "scatter", mode: "lines", x, y, line: { color: "#D55E00", width: 3, shape: "hv" },
      fill: "tozeroy", fillcolor: "rgba(213, 94, 0, 0.15)", hovertemplate: "%{x:.3f} s: vCPUs throttled %{y:.0f} %<extra></extra>",
    }], layout({
      xaxis: { title: { text: "simulated time (s)" }, gridcolor: GRID, ...TICKS },
      yaxis: { title: { text: "CPU throttle (%)" }, gridcolor: GRID, range: [0, 100], ...TICKS },
      annotations: never ? [{
        text: "not throttled: that takes two periods of 1 s<br>in which the guest dirtied more than<br>half of what was sent",
        xref: "paper", yref: "paper", x: 0.5, y: 0.6, showarrow: false, font: { size: 14, color: "#555" },
      }] : [],
    }), PLOT_CONFIG);
  }

  function drawPostcopy(finished) {
    const p = data.postcopy;
    if (!p.x.length) {
      const text = finished
        ? "No post-copy: pre-copy converged<br>before the guest had to move."
        : "No post-copy yet: if pre-copy has not converged<br>after its first pass, the guest moves to the target<br>and its missing pages follow.";
      Plotly.react("chart-postcopy", [], emptyLayout(text), PLOT_CONFIG);
      return;
    }
    const end = p.end !== null ? p.end : p.x[p.x.length - 1];
    const shapes = p.start === null ? [] : [{
      type: "rect", xref: "x", yref: "paper", x0: p.start, x1: end, y0: 0, y1: 1,
      fillcolor: "rgba(0, 0, 0, 0.07)", line: { width: 0 }, layer: "below",
    }];
    Plotly.react("chart-postcopy", [
      {
        type: "scatter", mode: "lines", name: "remote page faults per second", x: p.x.slice(), y: p.rate.slice(),
        line: { color: "#D55E00", width: 3 }, hovertemplate: "%{x:.3f} s: %{y:.3s} faults/s<extra></extra>",
      },
      {
        type: "scatter", mode: "lines", name: "pages fetched on demand", x: p.x.slice(), y: p.fetched.slice(), yaxis: "y2",
        line: { color: "#0072B2", width: 3 }, hovertemplate: "%{x:.3f} s: %{y:.3s} pages fetched on demand<extra></extra>",
      },
      {
        type: "scatter", mode: "lines", name: "pages pushed in the background", x: p.x.slice(), y: p.pushed.slice(), yaxis: "y2",
        line: { color: "#009E73", width: 2, dash: "dash" }, hovertemplate: "%{x:.3f} s: %{y:.3s} pages pushed<extra></extra>",
      },
    ], layout({
      height: 360, showlegend: true, legend: { orientation: "h", x: 0, y: -0.3, yanchor: "top" },
      margin: { l: 70, r: 70, t: 10, b: 120 }, shapes,
      annotations: p.start === null ? [] : [{
        text: "post-copy", xref: "x", yref: "paper", x: p.start, y: 1, xanchor: "left", yanchor: "top",
        showarrow: false, font: { size: 13, color: "#333" },
      }],
      xaxis: { title: { text: "simulated time (s)" }, gridcolor: GRID, ...TICKS },
      yaxis: { title: { text: "faults per second" }, gridcolor: GRID, rangemode: "tozero", exponentformat: "SI", ...TICKS },
      yaxis2: { title: { text: "pages" }, overlaying: "y", side: "right", rangemode: "tozero", exponentformat: "SI", showgrid: false },
    }), PLOT_CONFIG);
  }

  function draw(finished) {
    const key = `${data.throttle.x.length}/${data.postcopy.x.length}/${data.postcopy.end}/${!!finished}`;
    if (key === drawn) return;
    drawn = key;
    if ($("chart-throttle")) drawThrottle(finished);
    if ($("chart-postcopy")) drawPostcopy(finished);
  }

  function reset() {
    data = fresh();
    drawn = "";
  }

  return {
    apply, draw, reset,
    // for the browser tests and the curious
    state: () => JSON.parse(JSON.stringify(data)),
  };
})();
