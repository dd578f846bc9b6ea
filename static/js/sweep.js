/* Sweep page: polls the results once a second until every run is done; the heat map and the
   lines fill in as runs finish. window.sweep.state() is read by the browser tests. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("sweep-config").textContent);
  const plotConfig = {displaylogo: false, responsive: true};
  let results = config.results, metric = results.metric, polls = 0;
  const label = (v) => plotText(v);  // values may be text (64MiB/s): escaped for Plotly

  function draw() {
    // the swept parameters in words (the server's labels; the keys for results stored before)
    const xName = results.x_label || results.x_param, yName = results.y_label || results.y_param || "";
    const xs = results.x_values.map(label);
    const ys = results.y_param ? results.y_values.map(label) : [results.metric_label];
    // the cells in words (the server's: migrationsim/humanize.py, "2 h 13 min"); the colours and
    // the lines from numbers in the one unit of the axis's label ("Makespan (h)")
    const z = results.z_shown || results.z, text = results.text || results.z.map((row) => row.map(String));
    const axisLabel = results.axis_label || results.metric_label;
    Plotly.react("sweep-heatmap", [{type: "heatmap", x: xs, y: ys, z, text, texttemplate: "%{text}",
      hovertemplate: "%{x}, %{y}: %{text}<extra></extra>",
      colorscale: "Cividis", hoverongaps: false, colorbar: {title: {text: axisLabel, side: "right"}}}],
      {margin: {l: 90, r: 20, t: 10, b: 60}, font: {size: 14},
       xaxis: {title: {text: plotText(xName)}, type: "category"}, yaxis: {title: {text: plotText(yName)}, type: "category"}}, plotConfig);
    // each line its own dash and marker, the later ones thinner: lines that coincide (a cap no VM
    // waited on) stay told apart, the one beneath showing through, not hidden as if missing
    const DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];
    const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross"];  // 5 x 6: no pair twice in 25 lines
    const lines = z.map((row, i) => ({type: "scatter", mode: "lines+markers", name: results.y_param ? `${plotText(yName)} = ${ys[i]}` : results.metric_label,
                                              x: xs, y: z[i], text: text[i], hovertemplate: "%{x}: %{text}", connectgaps: false,
                                              line: {width: Math.max(1.5, 4 - i), dash: DASHES[i % DASHES.length]},
                                              marker: {symbol: SYMBOLS[i % SYMBOLS.length], size: Math.max(6, 11 - 2 * i)}}));
    Plotly.react("sweep-lines", lines, {margin: {l: 70, r: 20, t: 10, b: 60}, font: {size: 14}, legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"},
      xaxis: {title: {text: plotText(xName)}, type: "category"}, yaxis: {title: {text: axisLabel}, rangemode: "tozero"}}, plotConfig);
    document.getElementById("sweep-progress").textContent = `${results.done} / ${results.total}`;
    // the table's caption is the label too: its unit follows the values that came in (a sweep
    // opened before any run finished read "(ms)" over hours), and the outcome chosen above
    document.getElementById("sweep-table-caption").textContent = results.metric_label;
    document.querySelectorAll("#sweep-table tbody tr").forEach((tr, i) => tr.querySelectorAll("td").forEach((td, j) => {
      const c = results.grid[i][j];
      if (!c.run) return;
      const a = document.createElement("a");
      a.href = c.url;
      a.textContent = c.value === null ? c.status : text[i][j];
      td.replaceChildren(a);
    }));
  }

  // the compare links of the runs finished so far (the server's, with the results: a page
  // watched live showed none until it was reloaded)
  function drawCompareLinks() {
    const links = results.compare_links;
    const span = document.getElementById("sweep-compare-links");
    const parts = [];
    links.forEach(([words, ids], i) => {
      const a = document.createElement("a");
      a.href = `${config.compare_url}?runs=${ids}`;
      a.textContent = words;
      if (i === 0) a.id = "sweep-compare";
      if (i > 0) parts.push(document.createTextNode(", "));
      parts.push(a);
    });
    if (parts.length) parts.unshift(document.createTextNode("· Compare "));
    span.replaceChildren(...parts);
  }

  function poll() {
    fetch(`${config.results_url}?metric=${metric}`).then((r) => r.json()).then((data) => {
      results = data; polls++; draw(); drawCompareLinks();
      if (!data.complete) setTimeout(poll, 1000);
    }).catch(() => setTimeout(poll, 2000));
  }

  document.getElementById("metric").addEventListener("change", (e) => { metric = e.target.value; if (results.complete) poll(); });
  window.sweep = {state: () => ({done: results.done, total: results.total, complete: results.complete, polls,
                                 filled: results.z.flat().filter((v) => v !== null).length})};
  draw();
  if (!results.complete) setTimeout(poll, 1000);
})();
