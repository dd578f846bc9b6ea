/* Anatomy of a live migration: the run page.
 *
 * The worker streams a run's events as fast as the model produces them (milliseconds). This
 * script receives them over a WebSocket (/ws/runs/<id>/?after=<seq>), keeps them in order by
 * sequence number, and PLAYS THEM BACK by their simulated time t_s at the chosen speed: a
 * simulated clock advances by (wall time x speed) and every event whose t_s it has passed is
 * applied to the charts. Pacing lives here, not in the task (see docs/web.md). The socket, its
 * resume and reconnects, and the clock are run_stream.js's (RunStream).
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("run-config").textContent);
  const PHASES = config.phases;
  const PHASE = Object.fromEntries(PHASES.map((p) => [p.name, p]));
  const SPEEDS = { "1": 1, "10": 10, "100": 100, max: Infinity };
  const FONT = { size: 15, family: "system-ui, sans-serif" };
  const GRID = "#d0d0d0";

  const $ = (id) => document.getElementById(id);
  // the policy charts (throttle, post-copy) live in anatomy_charts.js and play the same events
  const policyCharts = window.AnatomyCharts || { reset() {}, apply() {}, draw() {} };

  // --- number formatting (mirrors migrationsim/humanize.py, behind the template filters) -------
  function scaled(v, units, base) {
    for (let i = 0; i < units.length - 1; i++) {
      if (Math.abs(v) < base) return `${+v.toPrecision(3)} ${units[i]}`;
      v /= base;
    }
    return `${+v.toPrecision(3)} ${units[units.length - 1]}`;
  }
  // IEC up to EiB, as humanize.size: never thousands of TiB
  const bytes = (v) => scaled(v, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"], 1024);
  // durations as migrationsim/units.py format_duration reads them: ms, s, then min s and h min
  function seconds(v) {
    if (Math.abs(v) < 1) return `${+(v * 1000).toPrecision(3)} ms`;
    if (Math.abs(v) < 60) return `${+v.toPrecision(3)} s`;
    if (Math.abs(v) < 3600) { const s = Math.round(v); return `${Math.floor(s / 60)} min ${s % 60} s`; }
    const m = Math.round(v / 60);
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }
  // bytes/s as the bits/s links are sold in (humanize.rate): 1.25e9 -> "10 Gbit/s"
  function bitRate(bps) {
    const bits = bps * 8;
    for (const [unit, scale] of [["Pbit/s", 1e15], ["Tbit/s", 1e12], ["Gbit/s", 1e9], ["Mbit/s", 1e6], ["kbit/s", 1e3]]) {
      const shown = +(bits / scale).toPrecision(3);
      if (shown >= 1) return `${shown} ${unit}`; // 999.9 Gbit/s: "1 Tbit/s", as humanize.rate
    }
    return `${+bits.toPrecision(3)} bit/s`;
  }
  const SHARE_KEYS = new Set(["throttle_max"]); // humanize.SHARE_KEYS: said as a percent
  function human(key, v) {
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (v === null || v === undefined) return "none";
    if (typeof v === "number") {
      if (key.endsWith("_bytes") || key.startsWith("bytes_")) return bytes(v);
      if (key.endsWith("_bps")) return bitRate(v);
      if (SHARE_KEYS.has(key)) return `${Math.round(v * 100)} %`;
      if (key.endsWith("_s")) return seconds(v);
      return Number.isInteger(v) ? v.toLocaleString("en") : `${+v.toPrecision(4)}`;
    }
    return String(v);
  }
  function label(key) {
    for (const s of ["_bytes", "_bps", "_s"]) if (key.endsWith(s)) key = key.slice(0, -s.length);
    return key.replace(/_/g, " ");
  }

  // --- state -------------------------------------------------------------------------------
  const received = []; // events in seq order, as the server sent them
  let stream = null; // RunStream.open(...): the socket
  let runStatus = config.status;
  let runError = "";
  let cursor = 0; // index of the next event to apply
  const clock = new RunStream.Clock({ speed: SPEEDS[config.speed] || 10, maxStepS: 0.25 }); // clock.t: simulated seconds
  let model = freshModel();
  let dirty = true;
  let lastDraw = 0;

  function freshModel() {
    const bars = {};
    for (const p of PHASES) bars[p.name] = { base: [], x: [], text: [] };
    return {
      bars, open: {}, current: null, finished: false,
      pending: { x: [], y: [], wire: [] }, initialPending: null,
      rounds: { idx: [], sent: [], dirtied: [], kind: [] },
      memory: null, memoryLabel: "before round 0",
      fwd: { x: [], y: [] },
      announce: [],
      summary: null,
    };
  }

  // --- applying events to the model ---------------------------------------------------------
  function apply(ev) {
    const m = model;
    policyCharts.apply(ev);
    switch (ev.kind) {
      case "phase_start":
        m.open[ev.phase] = ev.t_s;
        m.current = ev.phase;
        explainPhase(ev.phase, ev.explain);
        break;
      case "phase_end": {
        const start = m.open[ev.phase];
        delete m.open[ev.phase];
        if (start !== undefined && ev.phase !== "pre_migration_brownout") {
          const b = m.bars[ev.phase] || (m.bars[ev.phase] = { base: [], x: [], text: [] });
          b.base.push(start); b.x.push(Math.max(ev.t_s - start, 1e-6)); b.text.push("");
        }
        if (ev.phase === "pre_migration_brownout" && start !== undefined && m.bars[ev.phase].x.length === 0) {
          m.bars[ev.phase].base.push(start); m.bars[ev.phase].x.push(Math.max(ev.t_s - start, 1e-6));
          m.bars[ev.phase].text.push("");
        }
        const span = document.querySelector(`[data-phase-time="${ev.phase}"]`);
        if (span && start !== undefined) span.textContent = ` (${seconds(ev.t_s - start)})`;
        break;
      }
      case "round": {
        const live = ev.phase !== "final";
        if (live) {
          const b = m.bars.pre_migration_brownout;
          b.base.push(ev.t_s); b.x.push(Math.max(ev.end_s - ev.t_s, 1e-6)); b.text.push(`r${ev.index}`);
        }
        if (ev.index === 0 && m.initialPending) {
          m.pending.x.push(ev.t_s); m.pending.y.push(m.initialPending.pages); m.pending.wire.push(m.initialPending.wire);
        }
        m.pending.x.push(ev.end_s); m.pending.y.push(ev.pending_after_bytes); m.pending.wire.push(ev.pending_wire_bytes);
        m.rounds.idx.push(live ? String(ev.index) : "final"); // short: the chart is narrow
        m.rounds.sent.push(ev.bytes); m.rounds.dirtied.push(ev.dirty_bytes);
        if (Array.isArray(ev.memory_map) && ev.memory_map.length) {
          m.memory = toGrid(ev.memory_map, ev.memory_map_width);
          m.memoryLabel = live ? `after round ${ev.index}` : "after the final copy";
        }
        let text = `${live ? "Round " + ev.index : "Final copy (VM paused)"}: sent ${bytes(ev.bytes)} in ${seconds(ev.duration_s)}` +
          ` while the guest dirtied ${bytes(ev.dirty_bytes)}; ${bytes(ev.pending_wire_bytes ?? ev.pending_after_bytes)} still to send.`;
        if (ev.throttle) text += ` vCPUs throttled to ${Math.round(ev.throttle * 100)} %.`;
        setExplain(text, ev.phase === "final" ? "blackout" : "pre_migration_brownout");
        break;
      }
      case "memory_layout":
        if (ev.pending_bytes !== undefined) m.initialPending = { pages: ev.pending_bytes, wire: ev.pending_wire_bytes };
        if (Array.isArray(ev.memory_map) && ev.memory_map.length) {
          m.memory = toGrid(ev.memory_map, ev.memory_map_width);
          m.memoryLabel = "before round 0: every page still to send";
        }
        break;
      case "postcopy": // the pages still only on the source, as post-copy pushes and fetches them
        if (m.postcopyPages === undefined) { m.postcopyPages = ev.on_source_pages; m.postcopyStart = ev.t_s; }
        if (Array.isArray(ev.memory_map) && ev.memory_map.length) {
          m.memory = toGrid(ev.memory_map, ev.memory_map_width);
          const left = m.postcopyPages ? ev.on_source_pages / m.postcopyPages : 0;
          m.memoryLabel = left > 0
            ? `post-copy, ${seconds(ev.t_s - m.postcopyStart)} after the switch: ${Math.round(left * 100)} % of the pages left at the switch still on the source`
            : "post-copy done: every page on the target";
        }
        break;
      case "forwarding":
        m.fwd.x.push(ev.t_s); m.fwd.y.push(ev.forwarded_packets);
        break;
      case "announce":
        m.announce.push(ev.t_s);
        break;
      case "notice":
        setExplain(`The metadata key maintenance-event now reads ${ev.value}.`, m.current);
        break;
      case "summary": {
        m.summary = ev.result || {};
        m.finished = true;
        m.current = null;
        // the outcome in the words of migrationsim/outcomes.py: carried by the event, or (a run
        // stored before it carried them) worked out by the server from the stored summary
        const said = m.summary.outcome_words || config.outcome || null;
        setExplain(said ? `${said.sentence} The summary is below.` : "Finished. The summary is below.", null);
        showOutcome(said);
        renderSummary(m.summary);
        break;
      }
    }
    dirty = true;
  }

  function toGrid(cells, width) {
    const w = width || Math.round(Math.sqrt(cells.length));
    const z = [];
    for (let i = 0; i < cells.length; i += w) z.push(cells.slice(i, i + w));
    return z;
  }

  function explainPhase(name, explain) {
    const p = PHASE[name];
    setExplain(`${p ? p.label : name}: ${explain || (p ? p.explain : "")}`, name);
  }

  function setExplain(text, phase) {
    $("explain-now").textContent = text;
    for (const li of document.querySelectorAll("#phase-list li")) {
      const active = li.dataset.phase === phase;
      li.classList.toggle("active", active);
      if (active) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    }
  }

  // [label, key, value] for every figure of a summary, post-copy's group one row per figure, as
  // the server's summary_rows; lists (rounds, phases) have charts of their own
  const GROUP_LABELS = { postcopy: "post-copy" };
  function summaryFigures(result) {
    const rows = [];
    for (const [k, v] of Object.entries(result)) {
      if (Array.isArray(v)) continue;
      if (v !== null && typeof v === "object") {
        if (!GROUP_LABELS[k]) continue; // (the notice: its own events tell it)
        for (const [sub, x] of Object.entries(v)) {
          if (x === null || typeof x !== "object") rows.push([`${GROUP_LABELS[k]} ${label(sub)}`, `${k}_${sub}`, x]);
        }
      } else rows.push([GROUP_LABELS[k] || label(k), k, v]);
    }
    return rows;
  }

  function showOutcome(said) {
    const badge = $("run-outcome");
    if (!badge || !said) return;
    badge.className = `outcome-badge outcome-${said.code}`;
    badge.dataset.outcome = said.code; // the label alone is shown, the code kept for scripts
    badge.title = said.sentence || "";
    badge.textContent = `: ${said.label}`;
    badge.hidden = false;
  }

  function hideOutcome() { // until the replay reaches the summary (showOutcome)
    const badge = $("run-outcome");
    if (badge) badge.hidden = true;
  }

  // the server renders the summary (its words and humanised numbers); the table below is the
  // fallback while that answer is on its way or if it does not come
  function renderSummary(result) {
    renderSummaryTable(result);
    if (!config.summary_url) return;
    const shown = model;
    fetch(config.summary_url, { headers: { Accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => { if (model === shown && shown.finished) $("summary").innerHTML = html; })
      .catch(() => {});
  }

  function renderSummaryTable(result) {
    const box = $("summary");
    box.innerHTML = "";
    const table = document.createElement("table");
    table.className = "summary";
    table.id = "summary-table";
    table.createCaption().textContent = "Summary";
    const body = table.createTBody();
    for (const [name, k, v] of summaryFigures(result)) {
      const row = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row"; th.textContent = name;
      row.appendChild(th);
      row.insertCell().textContent = human(k, v);
    }
    box.appendChild(table);
  }

  // --- drawing -------------------------------------------------------------------------------
  function layout(extra) {
    return Object.assign({
      font: FONT, margin: { l: 70, r: 20, t: 10, b: 50 }, paper_bgcolor: "white", plot_bgcolor: "white",
      showlegend: false, uirevision: "keep",
    }, extra);
  }
  const PLOT_CONFIG = { displaylogo: false, responsive: true };
  // an empty chart says why it is empty instead of showing bare axes
  function emptyLayout(text) {
    return layout({
      height: 280, xaxis: { visible: false }, yaxis: { visible: false },
      annotations: [{ text, xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, font: { size: 14, color: "#555" } }],
    });
  }
  const NOT_YET = "Nothing copied yet:<br>rounds start after the guest notice<br>and the target setup.";
  const TICKS = { ticks: "outside", ticklen: 6, tickcolor: "white" }; // keeps the axes' first labels apart

  // --- the timeline's view ------------------------------------------------------------------------
  // A 60 s guest notice would dwarf a migration of a few seconds, so the timeline opens on the
  // migration: from the start of the pre-migration brownout, less a margin, to the end of the
  // run, both read from the run's own (received) events; the phases before it are folded off
  // the left edge, with a note on their rows. The range slider under the chart always shows the
  // whole run; "Show the whole timeline" (or Z) switches views; a zoom or a drag of the slider is
  // kept until the next switch. Under a few seconds on screen, the ticks are in milliseconds.
  const VIEW_MARGIN_SHARE = 0.08; // of the migration's span, before and after it
  const MS_TICKS_UNDER_S = 3;
  const MS_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  const MAX_TICKS = 8;
  let timelineView = "migration"; // or "whole"
  let userRange = null; // [from, to] in simulated seconds, after a zoom or a drag of the slider
  let viewRevision = 0; // bumped at every change of view (the x axis's uirevision)
  let spans = { counted: -1 };

  // the whole run and the migration, in simulated seconds, from the events received so far
  function runSpans() {
    if (spans.counted === received.length) return spans;
    let first = Infinity, last = -Infinity, brownout = null;
    for (const ev of received) {
      if (typeof ev.t_s !== "number") continue;
      first = Math.min(first, ev.t_s);
      last = Math.max(last, typeof ev.end_s === "number" ? ev.end_s : ev.t_s);
      if (brownout === null && ev.kind === "phase_start" && ev.phase === "pre_migration_brownout") brownout = ev.t_s;
    }
    spans = { counted: received.length, whole: null, migration: null };
    if (!(last > first)) return spans;
    spans.whole = [first, last + VIEW_MARGIN_SHARE * (last - first)];
    if (brownout !== null && last > brownout) {
      const margin = VIEW_MARGIN_SHARE * (last - brownout);
      spans.migration = [Math.max(first, brownout - margin), last + margin];
    }
    return spans;
  }

  function visibleRange() {
    if (userRange) return userRange;
    const s = runSpans();
    return (timelineView === "migration" && s.migration) || s.whole;
  }

  function toggleTimelineView() {
    timelineView = !userRange && timelineView === "migration" ? "whole" : "migration";
    userRange = null;
    viewRevision++;
    updateViewButton();
    dirty = true;
  }

  function updateViewButton() {
    const button = $("timeline-view");
    const showsMigration = !userRange && timelineView === "migration";
    button.textContent = showsMigration ? "Show the whole timeline" : "Show the migration";
  }

  // the x axis for a visible range: Plotly's ticks in seconds, or ticks in milliseconds after a
  // whole second when the range is short
  function timeAxis(range) {
    const axis = { title: { text: "simulated time (s)" }, gridcolor: GRID, zeroline: false, tickmode: "auto", tickvals: null, ticktext: null };
    const span = range[1] - range[0];
    if (!(span > 0) || span >= MS_TICKS_UNDER_S) return axis;
    const stepMs = MS_STEPS.find((step) => (span * 1000) / step <= MAX_TICKS) || MS_STEPS[MS_STEPS.length - 1];
    const origin = Math.floor(range[0]);
    const vals = [];
    for (let ms = Math.ceil(((range[0] - origin) * 1000) / stepMs) * stepMs; origin + ms / 1000 <= range[1]; ms += stepMs) vals.push(ms);
    return Object.assign(axis, {
      title: { text: `milliseconds after ${origin} s (simulated time)` }, tickmode: "array",
      tickvals: vals.map((ms) => origin + ms / 1000), ticktext: vals.map((ms) => `${ms.toLocaleString("en")} ms`),
    });
  }

  // a phase entirely left of the visible range gets a note on its row: it is folded, not gone
  function foldedNotes(range) {
    const notes = [];
    for (const p of PHASES) {
      const b = model.bars[p.name];
      const open = model.open[p.name];
      if (!b.x.length && open === undefined) continue;
      const ends = b.x.map((d, i) => b.base[i] + d);
      if (open !== undefined) ends.push(clock.t);
      if (Math.max(...ends) >= range[0]) continue;
      const starts = b.base.concat(open !== undefined ? [open] : []);
      const lasted = Math.max(...ends) - Math.min(...starts);
      notes.push({
        xref: "paper", x: 0, xanchor: "left", yref: "y", y: p.label, showarrow: false,
        text: `◀ ${seconds(lasted)}${open !== undefined ? " so far" : ""}, before this view`, font: { size: 13, color: "#333" },
        bgcolor: "#ffffffcc",
      });
    }
    return notes;
  }

  function drawTimeline() {
    const m = model;
    const data = PHASES.map((p) => {
      const b = m.bars[p.name];
      const base = b.base.slice(), x = b.x.slice(), text = b.text.slice();
      const start = m.open[p.name];
      if (start !== undefined && p.name !== "pre_migration_brownout") {
        base.push(start); x.push(Math.max(clock.t - start, 1e-6)); text.push("…");
      }
      return {
        type: "bar", orientation: "h", name: p.label, y: x.map(() => p.label), x, base, text,
        textposition: "inside", insidetextanchor: "middle", marker: { color: p.color, line: { color: "white", width: 1 } },
        customdata: x.map((d, i) => [`${base[i].toFixed(3)} s`, seconds(d)]),
        hovertemplate: `${p.label}<br>from %{customdata[0]}, lasting %{customdata[1]}<extra></extra>`,
      };
    });
    // short phases (the blackout is tens of ms in a run of seconds) get a labelled marker (the
    // label an annotation: not repeated in the range slider, hidden when off the view)
    const shortX = [], shortY = [], shortText = [], shortColor = [];
    for (const p of PHASES) {
      const b = m.bars[p.name];
      if (p.name === "pre_migration_brownout") continue;
      b.x.forEach((d, i) => {
        if (d < 0.5) { shortX.push(b.base[i] + d / 2); shortY.push(p.label); shortText.push(d <= 1e-5 ? "none" : seconds(d)); shortColor.push(p.color); }
      });
    }
    data.push({
      type: "scatter", mode: "markers", name: "short phases", x: shortX, y: shortY,
      marker: { symbol: "diamond", size: 12, color: shortColor, line: { color: "#000", width: 1 } },
      hoverinfo: "skip", cliponaxis: false,
    });
    const shortLabels = shortX.map((x, i) => ({ xref: "x", yref: "y", x, y: shortY[i], text: shortText[i], showarrow: false, yshift: 17 }));
    data.push({
      type: "scatter", mode: "markers", name: "announce", x: m.announce.slice(),
      y: m.announce.map(() => PHASE.post_migration_brownout.label),
      marker: { symbol: "triangle-down", size: 12, color: "#000" }, hovertemplate: "announce at %{x:.3f} s<extra></extra>",
    });
    // every phase's row from the first draw on (a row does not appear when its phase starts)
    data.push({ type: "scatter", mode: "markers", name: "rows", x: PHASES.map(() => null), y: PHASES.map((p) => p.label), hoverinfo: "skip" });
    const range = visibleRange();
    const whole = runSpans().whole;
    const xaxis = range ? Object.assign(timeAxis(range), { range: range.slice(), autorange: false }) : { title: { text: "simulated time (s)" }, gridcolor: GRID, zeroline: false, autorange: true };
    xaxis.rangeslider = whole ? { visible: true, thickness: 0.14, autorange: false, range: whole.slice() } : { visible: true, thickness: 0.14 };
    xaxis.uirevision = viewRevision; // a new view overrides what Plotly kept of the last gesture
    timelineRange = range ? range.slice() : null;
    Plotly.react("chart-timeline", data, layout({
      barmode: "overlay", height: 380, margin: { l: 190, r: 20, t: 10, b: 50 },
      xaxis, annotations: shortLabels.concat(range ? foldedNotes(range) : []),
      yaxis: { categoryorder: "array", categoryarray: PHASES.map((p) => p.label).reverse(), automargin: true, fixedrange: true },
    }), PLOT_CONFIG);
    listenToZooms();
  }
  let timelineRange = null; // what the last draw showed (window.anatomy.state())

  // a zoom, a pan or a drag of the range slider: keep that range (the next draws use it); a
  // double-click drops it
  let zoomsHeard = false;
  function listenToZooms() {
    const chart = $("chart-timeline");
    if (zoomsHeard || !chart.on) return;
    zoomsHeard = true;
    let reset = false; // a double-click: Plotly resets the axes, the page goes back to its view
    chart.on("plotly_doubleclick", () => { reset = true; });
    chart.on("plotly_relayout", (ev) => {
      if (reset) { reset = false; userRange = null; }
      else if (ev["xaxis.autorange"]) { userRange = null; timelineView = "whole"; }
      else if (Array.isArray(ev["xaxis.range"])) userRange = ev["xaxis.range"].map(Number);
      else if (ev["xaxis.range[0]"] !== undefined && ev["xaxis.range[1]"] !== undefined) userRange = [Number(ev["xaxis.range[0]"]), Number(ev["xaxis.range[1]"])];
      else return;
      viewRevision++;
      updateViewButton();
      dirty = true;
    });
  }

  function drawPending() {
    if (!model.pending.x.length) { Plotly.react("chart-pending", [], emptyLayout(NOT_YET), PLOT_CONFIG); return; }
    // two accountings of the same pages: QEMU's count (pages x 4 KiB, what the threshold is
    // compared with) and their cost on the wire (a zero page is a 9 B marker)
    Plotly.react("chart-pending", [{
      type: "scatter", mode: "lines+markers", name: "dirty pages x 4 KiB (QEMU's count)", x: model.pending.x.slice(), y: model.pending.y.slice(),
      line: { color: "#0072B2", width: 3 }, marker: { size: 8 }, hovertemplate: "%{x:.3f} s: %{y:.4s}B pending<extra></extra>",
    }, {
      type: "scatter", mode: "lines", name: "bytes still to send on the wire", x: model.pending.x.slice(), y: model.pending.wire.slice(),
      line: { color: "#E69F00", width: 2, dash: "dash" }, hovertemplate: "%{x:.3f} s: %{y:.4s}B to send<extra></extra>",
    }], layout({
      showlegend: true, legend: { orientation: "h", x: 0, y: -0.3, yanchor: "top" }, margin: { l: 70, r: 20, t: 10, b: 100 },
      height: 330, xaxis: { title: { text: "simulated time (s)" }, gridcolor: GRID, ...TICKS },
      yaxis: { title: { text: "bytes" }, gridcolor: GRID, rangemode: "tozero", exponentformat: "SI", ...TICKS },
    }), PLOT_CONFIG);
  }

  function drawRounds() {
    const r = model.rounds;
    if (!r.idx.length) { Plotly.react("chart-rounds", [], emptyLayout(NOT_YET), PLOT_CONFIG); return; }
    Plotly.react("chart-rounds", [
      { type: "bar", name: "sent", x: r.idx.slice(), y: r.sent.slice(), marker: { color: "#0072B2" } },
      { type: "bar", name: "dirtied meanwhile", x: r.idx.slice(), y: r.dirtied.slice(), marker: { color: "#E69F00" } },
    ], layout({
      height: 280, barmode: "group", showlegend: true, legend: { orientation: "h", y: 1.12 },
      margin: { l: 70, r: 20, t: 30, b: 50 },
      xaxis: { title: { text: "round" }, type: "category", automargin: true },
      yaxis: { title: { text: "bytes" }, gridcolor: GRID, exponentformat: "SI" },
    }), PLOT_CONFIG);
  }

  function drawMemory() {
    $("memory-round").textContent = model.memoryLabel;
    Plotly.react("chart-memory", [{
      type: "heatmap", z: model.memory || [[0]], zmin: 0, zmax: 1, colorscale: "Cividis",
      colorbar: { title: { text: "dirty" }, thickness: 14 }, hovertemplate: "block %{x},%{y}: %{z:.0%} dirty<extra></extra>",
      xgap: 1, ygap: 1,
    }], layout({
      height: 280, margin: { l: 20, r: 10, t: 10, b: 20 },
      xaxis: { visible: false }, yaxis: { visible: false, autorange: "reversed", scaleanchor: "x" },
    }), PLOT_CONFIG);
  }

  function drawForwarding() {
    if (!model.fwd.x.length) {
      const text = model.finished ? "No packets were forwarded." : "None yet: the source forwards packets<br>after the blackout, while the network<br>learns where the VM went.";
      Plotly.react("chart-forwarding", [], emptyLayout(text), PLOT_CONFIG);
      return;
    }
    Plotly.react("chart-forwarding", [{
      type: "scatter", mode: "lines+markers", x: model.fwd.x.slice(), y: model.fwd.y.slice(), line: { color: "#CC79A7", width: 3, shape: "hv" },
      hovertemplate: "%{x:.3f} s: %{y:,} packets<extra></extra>",
    }], layout({
      height: 280, xaxis: { title: { text: "simulated time (s)" }, gridcolor: GRID, ...TICKS },
      yaxis: { title: { text: "packets (cumulative)" }, gridcolor: GRID, rangemode: "tozero", ...TICKS },
    }), PLOT_CONFIG);
  }

  function draw() {
    drawTimeline(); drawPending(); drawRounds(); drawMemory(); drawForwarding();
    policyCharts.draw(model.finished);
    $("sim-clock").textContent = `${clock.t.toFixed(3)} s`;
    $("played-count").textContent = cursor;
    $("received-count").textContent = received.length;
    dirty = false;
  }

  // --- playback ------------------------------------------------------------------------------
  function applyUntil(t) {
    while (cursor < received.length && received[cursor].t_s <= t) apply(received[cursor++]);
  }

  function tick(now) {
    const dt = clock.frame(now); // wall seconds, at most 0.25
    if (clock.playing && cursor < received.length) {
      if (clock.speed === Infinity) {
        apply(received[cursor++]); // one event a frame: fast, but you still see it grow
        if (cursor < received.length) apply(received[cursor++]);
        clock.t = Math.max(clock.t, received[cursor - 1].t_s);
      } else {
        clock.advance(dt);
        // never run ahead of the next event by more than one frame's worth (no jump on arrival)
        clock.t = Math.min(clock.t, received[cursor].t_s + dt * clock.speed);
        applyUntil(clock.t);
      }
      dirty = true;
    }
    if (clock.playing && Object.keys(model.open).length) dirty = true; // open bars grow with the clock
    if (model.finished && cursor >= received.length && clock.playing) setPlaying(false, true);
    if (dirty && now - lastDraw > 80) { lastDraw = now; draw(); }
    drawStatus();
    requestAnimationFrame(tick);
  }

  function setPlaying(on, ended) {
    if (on) clock.play(); else clock.pause();
    $("btn-play").textContent = on ? "Pause" : (ended ? "Replay" : "Play");
    $("btn-play").setAttribute("aria-pressed", on ? "true" : "false");
  }

  function togglePlay() {
    if (!clock.playing && model.finished && cursor >= received.length) restart();
    else setPlaying(!clock.playing);
  }

  function step() {
    setPlaying(false);
    while (cursor < received.length) {
      const ev = received[cursor++];
      apply(ev);
      clock.t = Math.max(clock.t, ev.end_s !== undefined ? ev.end_s : ev.t_s);
      if (ev.kind === "round") break;
    }
    dirty = true;
  }

  function restart() {
    model = freshModel();
    policyCharts.reset();
    cursor = 0; clock.restart();
    for (const s of document.querySelectorAll("[data-phase-time]")) s.textContent = "";
    $("summary").innerHTML = "";
    hideOutcome();
    setExplain("Waiting for the first event…", null);
    setPlaying(true);
    dirty = true;
  }

  function setSpeed(value) {
    clock.setSpeed(SPEEDS[value] || 10);
    $("speed").value = value;
  }

  // --- the WebSocket (run_stream.js: resume after the last seq, reconnect, stop on 4xxx) ---------
  function connect() {
    stream = RunStream.open({
      wsPath: config.ws_path,
      probeUrl: config.events_url,  // 404 there: the run is gone, or not this visitor's
      reasonEl: "stream-closed", // 4404, 4400: why the page stopped listening
      onEvents(events) {
        received.push(...events);
        dirty = true;
      },
      onStatus: setStatus,
    });
  }

  // the badge says what the page shows: "Done" once the stream has said so (every event is in)
  // and the replay has played the summary, the last event; before, "Computed — replaying". A
  // migration that did not complete (aborted: the outcome badge beside says so) is "Finished",
  // never "Done" (the outcome codes of migrationsim/outcomes.py: completed, completed_...)
  let heard = ""; // the status the stream said: it comes after every stored event
  let shownStatus = "";
  function drawStatus() {
    const replayed = heard === "done" && model.finished && cursor >= received.length;
    const said = model.summary ? model.summary.outcome_words || config.outcome : null;
    const gaveUp = !!said && !String(said.code).startsWith("completed");
    const now = `${runStatus}/${replayed}/${gaveUp}`;
    if (now === shownStatus) return;
    shownStatus = now;
    RunStream.showStatus($("run-status"), runStatus, replayed, gaveUp);
  }

  function setStatus(status, error) {
    runStatus = status;
    heard = status;
    runError = error || "";
    drawStatus();
    const box = $("run-error");
    box.textContent = runError;
    box.hidden = !runError;
  }

  // --- controls --------------------------------------------------------------------------------
  $("btn-play").addEventListener("click", togglePlay);
  $("btn-step").addEventListener("click", step);
  $("btn-restart").addEventListener("click", restart);
  $("speed").addEventListener("change", (e) => setSpeed(e.target.value));
  $("timeline-view").addEventListener("click", toggleTimelineView);
  // whatever has focus (a clicked button, the speed select, the chart), except text fields
  RunStream.shortcuts({
    " ": togglePlay, s: step, ArrowRight: step, r: restart, z: toggleTimelineView,
    1: () => setSpeed("1"), 2: () => setSpeed("10"), 3: () => setSpeed("100"), 4: () => setSpeed("max"),
  });

  // for the browser tests and the curious: window.anatomy.state()
  window.anatomy = {
    state: () => ({
      received: received.length, played: cursor, clock: clock.t, playing: clock.playing, status: runStatus,
      lastSeq: stream ? stream.lastSeq : 0, stream: stream ? stream.state() : null,
      timelinePoints: PHASES.reduce((n, p) => n + model.bars[p.name].x.length, 0),
      finished: model.finished, badge: $("run-status").textContent,
      timelineView: userRange ? "zoomed" : timelineView, timelineRange,
    }),
    bytes,  // the page's one size formatter (the browser tests hold it to humanize.size's units)
    bitRate,  // and its one rate formatter (held to humanize.rate's)
  };

  const serverSummary = document.querySelector("[data-server-summary]");
  if (serverSummary) serverSummary.remove(); // the playback will show it when it gets there
  hideOutcome(); // and the outcome with it
  drawStatus(); // the server's "Done" (a page without scripts plays nothing) until the replay's end
  setSpeed(config.speed in SPEEDS ? config.speed : "10");
  updateViewButton();
  setPlaying(true);
  connect();
  requestAnimationFrame(tick);
})();
