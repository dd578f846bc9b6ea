/* The fleet run page: receives aggregated frames over a WebSocket (replay, then the live tail),
   plays them back by simulated time, and draws the charts with Plotly.react (throttled). The
   socket (resume, reconnects, stop on 4xxx) and the clock are run_stream.js's (RunStream).
   window.fleetRun.state() reports what it did (the browser tests read it). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("fleet-config").textContent);
  const $ = (id) => document.getElementById(id);
  const PHASES = config.phases, HOST_PHASES = config.host_phases;
  const MARKERS = new Set(["terminated", "failed", "restarted"]);
  const HOST_MARKERS = new Set(["skipped", "failed"]);
  const REDRAW_MS = 250;
  const RACK_FIELDS = ["scope", "done", "draining", "maintenance", "migrating"];  // frame_zones.py
  const BIG_RACKS = 64;      // more racks: a rack's row is its hosts' spans, hosts need a rack picked
  const EXACT_MAX = 20000;   // more blackouts: binned as they arrive, not sorted on each draw (waits: always 40 bars)

  // --- received and played --------------------------------------------------------------------
  const frames = [];          // in seq order
  let played = 0, status = config.status, error = "", stream = null;
  const clock = new RunStream.Clock({speed: config.speed});  // clock.t: simulated seconds
  let resultsLoaded = !!document.getElementById("results-section");

  // accumulated from played frames
  let acc;
  function resetAcc() {
    acc = {
      counts: {notified: 0, queued: 0, migrating: 0, done: 0, terminated: 0, failed: 0},
      hosts: {scope: config.hosts_in_scope || 0, done: 0},
      vmSegs: [], hostSegs: [], vmHost: new Map(), hostRack: new Map(),
      t: [], inflight: new Map(), links: [], waiting: new Map(),
      blackouts: [], waits: [], notes: [],
      layout: [], racks: new Map(), zones: {}, rackZone: new Map(), rackSpans: new Map(),
      blackoutBins: new Array(FINE_BINS).fill(0), waitMax: 0,
    };
    rackCells.clear();
    dirtyRacks.clear();
    mapBuilt = false;
  }
  const FINE_BINS = 500;  // 0.01 decade each, 1 ms .. 100 s
  const rackCells = new Map(), dirtyRacks = new Set();
  let mapBuilt = false;
  resetAcc();

  function applyFrame(f) {
    const i = acc.t.length;
    acc.t.push(f.t_s);
    acc.counts = f.counts;
    acc.hosts = f.hosts;
    for (const s of f.segments || []) {
      acc.vmSegs.push(s);
      if (!acc.vmHost.has(s[0])) acc.vmHost.set(s[0], s[1]);
    }
    for (const s of f.host_segments || []) {
      acc.hostSegs.push(s); acc.hostRack.set(s[0], s[1]);
      const spans = acc.rackSpans.get(s[1]) || new Map();  // phase -> [first start, last end]
      const span = spans.get(s[2]);
      if (span) { span[0] = Math.min(span[0], s[3]); span[1] = Math.max(span[1], s[4]); } else spans.set(s[2], [s[3], s[4]]);
      acc.rackSpans.set(s[1], spans);
    }
    if (f.layout) {
      acc.layout = f.layout;
      for (const z of f.layout) for (const [rack] of z.racks) acc.rackZone.set(rack, z.zone);
    }
    for (const [rack, state] of Object.entries(f.racks || {})) { acc.racks.set(rack, state); dirtyRacks.add(rack); }
    if (f.zones) acc.zones = f.zones;
    const inflight = manyZones() ? Object.fromEntries(Object.entries(f.zones || {}).map(([z, c]) => [z, c.migrating])) : (f.in_flight || {});
    series(acc.inflight, inflight, i);
    series(acc.waiting, f.waiting || {}, i);
    // the links busiest at the frame's time, busiest first (the engine ranks them, frames.py):
    // one series per rank, utilisation and link name, so the chart follows whichever links are
    // busy (a region's, zone after zone); a rank no busy link fills is 0 %
    const ranked = f.links || [];
    while (acc.links.length < ranked.length) acc.links.push({y: new Array(i).fill(0), names: new Array(i).fill("")});
    acc.links.forEach((rank, r) => { rank.y.push(ranked[r] ? ranked[r][1] * 100 : 0); rank.names.push(ranked[r] ? ranked[r][0] : ""); });
    for (const b of f.blackouts || []) {
      acc.blackouts.push(b);
      acc.blackoutBins[Math.min(Math.max(Math.floor((Math.log10(Math.max(b, 1e-3)) + 3) * 100), 0), FINE_BINS - 1)]++;
    }
    for (const w of f.waits || []) { acc.waits.push(w); if (w > acc.waitMax) acc.waitMax = w; }
    for (const n of f.notes || []) acc.notes.push(n);
  }

  // per-key arrays aligned with acc.t (missing values are 0 unless said)
  function series(map, values, i, missing = 0) {
    for (const key of Object.keys(values)) {
      if (!map.has(key)) map.set(key, new Array(i).fill(missing));
    }
    for (const [key, arr] of map) arr.push(key in values ? values[key] : missing);
  }

  const manyZones = () => acc.layout.length > 1;
  const bigFleet = () => acc.racks.size > BIG_RACKS;

  // --- playback ------------------------------------------------------------------------------
  function tick(now) {
    const dt = clock.frame(now);
    if (clock.playing && played < frames.length) {
      if (clock.speed === Infinity) {
        while (played < frames.length) applyFrame(frames[played++]);
        clock.t = acc.t.length ? acc.t[acc.t.length - 1] : 0;
      } else {
        clock.advance(dt);
        while (played < frames.length && frames[played].t_s <= clock.t + 1e-9) applyFrame(frames[played++]);
        if (played === frames.length && heard !== "done") {  // never run ahead of what arrived
          clock.t = Math.min(clock.t, (acc.t.length ? acc.t[acc.t.length - 1] : 0) + config.bucket_s);
        }
      }
      dirty = true;
    }
    // a redraw is a pass of steps, one chart per animation frame: no frame of the page's holds
    // the main thread for all seven charts at once (a region's charts took 100-700 ms together)
    if (!pending.length && dirty && now - lastDraw >= REDRAW_MS) { pending = drawSteps(); lastDraw = now; dirty = false; }
    if (pending.length) pending.shift()();
    // the end: every frame in (the stream said done after the last: a finished run's frames come in
    // pages, and at a high speed the first is played before the next arrives) and played
    if (replayedAll()) {
      clock.settle(acc.t[acc.t.length - 1]);
      if (!resultsLoaded) loadResults();
      if (clock.playing) setPlaying(false, true);
    }
    drawStatus();
    requestAnimationFrame(tick);
  }
  let dirty = true, lastDraw = -Infinity, pending = [];

  // --- the socket (run_stream.js: resume after the last seq, reconnect, stop on 4xxx) --------
  function connect() {
    stream = RunStream.open({
      wsPath: config.ws_path,
      probeUrl: config.messages_url,  // 404 there: the run is gone, or not this visitor's
      reasonEl: "stream-closed",  // 4404, 4400: why the page stopped listening
      onEvents(events) {
        frames.push(...events);
        $("received-count").textContent = frames.length;
        firstMessageAt = firstMessageAt || performance.now();
      },
      onStatus: setStatus,
    });
  }
  let firstMessageAt = null;

  function setStatus(s, err) {
    status = s; heard = s; error = err || "";
    drawStatus();
    if (error) { $("run-error").textContent = error; $("run-error").hidden = false; }
  }

  // the badge says what the page shows: "Done" once the stream has said so (every frame is in)
  // and the replay has played the last frame; before, "Computed — replaying" (run_stream.js)
  let heard = "";  // the status the stream said: it comes after every stored frame
  const replayedAll = () => heard === "done" && frames.length > 0 && played === frames.length;
  let shownStatus = "";
  function drawStatus() {
    const now = `${status}/${replayedAll()}`;
    if (now === shownStatus) return;
    shownStatus = now;
    RunStream.showStatus($("run-status"), status, replayedAll());
  }

  function loadResults() {
    resultsLoaded = true;
    fetch(config.results_url).then((r) => r.text()).then((html) => { $("results").innerHTML = html; });
  }

  // --- drawing ------------------------------------------------------------------------------
  const plotConfig = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  const baseLayout = () => ({margin: {l: 70, r: 20, t: 10, b: 55}, font: {size: 14},
                             legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}, paper_bgcolor: "#fff", plot_bgcolor: "#fff"});
  let zoomHost = "", zoomVms = null;  // zoomVms: fetched rows of a big fleet's host
  let zoomRack = "", timelineZone = "";  // one rack's hosts; a region's zone on the timeline
  let mode = null;

  function defaultMode() {
    if (zoomRack) return "host";
    const hosts = acc.hostRack.size || acc.hosts.scope;
    if (acc.vmSegs.length || frames.some((f) => (f.segments || []).length)) return "vm";
    return hosts > 64 ? "rack" : "host";
  }

  function timelineTraces() {
    const m = mode || defaultMode();
    let rows = [], segs = [], phases = PHASES, markers = MARKERS, rowOf;
    if (zoomHost && zoomVms) {  // a big fleet's host, from the stored rows
      segs = zoomVms.flatMap((vm) => vm.segments.map((s) => [vm.vm, zoomHost, ...s]));
      rowOf = (s) => s[0];
    } else if (m === "vm") {
      segs = zoomHost ? acc.vmSegs.filter((s) => s[1] === zoomHost) : acc.vmSegs;
      rowOf = (s) => s[0];
    } else if (m === "rack" && !zoomHost && !zoomRack && bigFleet()) {
      // a rack's row: each phase from its first host's start to its last host's end (a zone of
      // 250 racks is 500 bars, not its hosts' 12,000)
      phases = HOST_PHASES; markers = HOST_MARKERS;
      for (const [rack, spans] of acc.rackSpans) {
        if (timelineZone && acc.rackZone.get(rack) !== timelineZone) continue;
        for (const [phase, [a, b]] of spans) segs.push([rack, acc.rackZone.get(rack) || "", phase, a, b]);
      }
      rowOf = (s) => s[0];
    } else {
      phases = HOST_PHASES; markers = HOST_MARKERS;
      segs = acc.hostSegs;
      if (zoomHost) segs = segs.filter((s) => s[0] === zoomHost);
      else if (zoomRack) segs = segs.filter((s) => s[1] === zoomRack);
      else if (m === "host" && bigFleet()) segs = [];  // thousands of hosts: pick a rack first
      rowOf = m === "rack" && !zoomHost && !zoomRack ? (s) => s[1] : (s) => s[0];
    }
    const order = new Map();
    for (const s of segs) if (!order.has(rowOf(s))) order.set(rowOf(s), [s[1], rowOf(s)]);
    rows = [...order.values()].sort((a, b) => natural(a[0], b[0]) || natural(a[1], b[1])).map((r) => r[1]);
    const traces = [];
    phases.forEach((p, idx) => {
      const mine = segs.filter((s) => s[2] === idx);
      if (!mine.length) return;
      // y holds the raw names (a click opens that VM); what Plotly draws is escaped (plot_text.js)
      const names = mine.map((s) => [plotText(rowOf(s)), plotText(s[1])]);
      if (markers.has(p.name)) {
        traces.push({type: "scatter", mode: "markers", name: p.label, x: mine.map((s) => s[3]),
                     y: mine.map(rowOf), marker: {symbol: p.name === "restarted" ? "triangle-right" : "x", size: 9, color: p.color}, customdata: names,
                     hovertemplate: `%{customdata[0]}: ${p.label} at %{x:.0f} s<extra></extra>`});
      } else {
        traces.push({type: "bar", orientation: "h", name: p.label, base: mine.map((s) => s[3]),
                     x: mine.map((s) => Math.max(s[4] - s[3], 0.001)), y: mine.map(rowOf),
                     marker: {color: p.color, opacity: m === "rack" && !zoomHost && !zoomRack && !bigFleet() ? 0.35 : 1},
                     customdata: names,
                     hovertemplate: `%{customdata[0]} (%{customdata[1]}): ${p.label} %{base:.0f}-%{x:.1f} s<extra></extra>`});
      }
    });
    return {traces, rows, mode: m, points: segs.length};
  }

  function natural(a, b) {
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }

  // Row labels never overlap: when rows are thinner than a label's line, only every k-th row is
  // labelled (the hover names every bar's VM or host).
  const TIMELINE_FONT_PX = 14, LABEL_LINE = 1.3;
  const TIMELINE_MARGIN = {t: 10, b: 55};
  function labelledRows(rows, height) {
    const rowPx = (height - TIMELINE_MARGIN.t - TIMELINE_MARGIN.b) / Math.max(rows.length, 1);
    const every = Math.max(1, Math.ceil((TIMELINE_FONT_PX * LABEL_LINE) / rowPx));
    return rows.filter((_, i) => i % every === 0);
  }

  let timelineInfo = {points: 0, rows: 0, mode: null, labels: 0};
  function drawTimeline() {
    const {traces, rows, mode: m, points} = timelineTraces();
    const height = Math.max(300, Math.min(900, 40 + rows.length * (rows.length > 150 ? 4 : 14)));
    const labelled = labelledRows(rows, height);
    timelineInfo = {points, rows: rows.length, mode: m, labels: labelled.length};
    const note = $("timeline-note");
    if (m === "host" && bigFleet() && !zoomRack && !zoomHost) note.textContent = PICK_RACK;
    else if (note.textContent === PICK_RACK) note.textContent = timelineHelp;
    if (modeSelect.value !== m) modeSelect.value = m;
    $("chart-timeline").style.height = `${height}px`;
    Plotly.react("chart-timeline", traces, {
      ...baseLayout(), barmode: "overlay", height, showlegend: false,
      margin: {l: 90, r: 20, ...TIMELINE_MARGIN},
      xaxis: {title: {text: "simulated time (s)"}, range: [0, Math.max(clock.t, config.bucket_s)]},
      yaxis: {type: "category", categoryorder: "array", categoryarray: rows.slice().reverse(),
              tickmode: "array", tickvals: labelled, ticktext: labelled.map(plotText),
              tickfont: {size: TIMELINE_FONT_PX}, automargin: true},
    }, plotConfig);
  }

  // a reason code in the words of migrationsim/outcomes.py (served in the config), the words
  // alone as everywhere on the pages (an unknown code as itself)
  const codeName = (k) => (config.reason_labels && config.reason_labels[k]) || k;
  function linesFrom(map, {stack = false, limit = 10, scale = 1, names = (k) => k} = {}) {
    const keys = [...map.keys()].sort((a, b) => Math.max(...map.get(b)) - Math.max(...map.get(a)) || natural(a, b));
    const shown = keys.slice(0, limit);
    const traces = shown.map((k) => ({type: "scatter", mode: "lines", name: plotText(names(k)), x: acc.t, y: map.get(k).map((v) => v === null ? null : v * scale),
                                      stackgroup: stack ? "one" : undefined, line: {width: 2}}));
    if (keys.length > limit && stack) {
      const rest = acc.t.map((_, i) => keys.slice(limit).reduce((n, k) => n + (map.get(k)[i] || 0), 0));
      traces.push({type: "scatter", mode: "lines", name: `${keys.length - limit} more`, x: acc.t, y: rest, stackgroup: "one"});
    }
    return traces;
  }

  const BIN_EDGES = [];
  for (let e = -3; e <= 2; e += 0.1) BIN_EDGES.push(Math.pow(10, e));

  function histogram(values) {
    const counts = new Array(BIN_EDGES.length - 1).fill(0);
    for (const v of values) {
      let i = Math.floor((Math.log10(Math.max(v, 1e-3)) + 3) * 10);
      counts[Math.min(Math.max(i, 0), counts.length - 1)]++;
    }
    const x = counts.map((_, i) => Math.sqrt(BIN_EDGES[i] * BIN_EDGES[i + 1]));
    const width = counts.map((_, i) => BIN_EDGES[i + 1] - BIN_EDGES[i]);
    return {x, counts, width};
  }

  function googleLines(ymax) {
    return [config.google_p50_s, config.google_p99_s].map((x, i) => ({
      type: "line", x0: x, x1: x, y0: 0, y1: ymax, yref: ymax === 1 ? "y" : "paper",
      line: {color: i ? "#D55E00" : "#0072B2", dash: "dash", width: 2}}));
  }
  function googleNotes(y) {
    return [{x: Math.log10(config.google_p50_s), y, yref: "paper", text: "Google median 50 ms", showarrow: false, xanchor: "right", font: {color: "#0072B2", size: 12}},
            {x: Math.log10(config.google_p99_s), y, yref: "paper", text: "Google p99 300 ms", showarrow: false, xanchor: "left", font: {color: "#D55E00", size: 12}}];
  }

  function drawSteps() {
    const lay = (extra) => ({...baseLayout(), ...extra});
    // the header's counts and the zones' lines in one step: drawn from the same frames, in the
    // same animation frame (a step apart, frames applied between them: "287 / 1,600 hosts" beside
    // zone lines summing to 269)
    return [() => { drawHeader(); drawZones(); }, drawTimeline, () => drawInflight(lay), () => drawLinks(lay),
            () => drawHistogram(lay), () => drawCdf(lay), () => drawWaiting(lay), () => drawWaits(lay),
            () => { drawNotes(); drawLegend(); }];
  }

  // counts with thousands separators, as the server's pages write them ("245,735 migrated")
  const num = (n) => Number(n || 0).toLocaleString("en-US");

  function drawHeader() {
    $("sim-clock").textContent = fmtTime(clock.t);
    $("played-count").textContent = num(played);
    const scope = acc.hosts.scope || config.hosts_in_scope || 0;
    $("progress").max = Math.max(scope, 1);
    $("progress").value = acc.hosts.done;
    $("progress-text").textContent = `${num(acc.hosts.done)} / ${scope ? num(scope) : "?"} hosts`;
    for (const li of document.querySelectorAll("#counts li")) li.querySelector(".n").textContent = num(acc.counts[li.dataset.count]);
  }
  function drawInflight(lay) {
    const traces = linesFrom(acc.inflight, {stack: true, limit: 8});
    Plotly.react("chart-inflight", traces,
                 lay({xaxis: {title: {text: "simulated time (s)"}}, yaxis: countAxis({title: {text: "migrations"}}, traces)}), plotConfig);
  }
  const ORDINAL = ["", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th"];
  const rankName = (r) => (r ? `${ORDINAL[r] || `${r + 1}th`} busiest` : "busiest link");
  function drawLinks(lay) {
    const traces = acc.links.map((rank, r) => ({type: "scatter", mode: "lines", name: rankName(r), x: acc.t, y: rank.y,
      customdata: rank.names.map((n) => (n ? plotText(n) : "none busy")), line: {width: r ? 1.5 : 3},
      hovertemplate: `%{customdata}: %{y:.0f} %<extra>${rankName(r)}</extra>`}));
    Plotly.react("chart-links", traces,
                 lay({xaxis: {title: {text: "simulated time (s)"}}, yaxis: {title: {text: "utilisation (%)"}, range: [0, 105]}}), plotConfig);
  }
  function drawHistogram(lay) {
    const h = acc.blackouts.length > EXACT_MAX ? binnedHistogram() : histogram(acc.blackouts);
    const traces = [{type: "bar", x: h.x, y: h.counts, width: h.width, name: "VMs", marker: {color: "#D55E00"}}];
    Plotly.react("chart-blackout-hist", traces,
                 lay({xaxis: logAxis({title: {text: "blackout (s, log scale)"}, range: [-3, 1.5]}), yaxis: countAxis({title: {text: "VMs"}}, traces),
                      shapes: googleLines(1).map((s) => ({...s, yref: "paper"})), annotations: googleNotes(1.02), showlegend: false}), plotConfig);
  }
  function drawCdf(lay) {
    const [cx, cy] = acc.blackouts.length > EXACT_MAX ? binnedCdf() : exactCdf();
    Plotly.react("chart-blackout-cdf", [
      {type: "scatter", mode: "lines", x: cx, y: cy, name: "this run", line: {color: "#D55E00", width: 3, shape: "hv"}},
      {type: "scatter", mode: "markers+text", x: [config.google_p50_s, config.google_p99_s], y: [0.5, 0.99], name: "Google",
       text: ["50 ms, p50", "300 ms, p99"], textposition: "bottom right", marker: {size: 12, symbol: "diamond", color: "#0072B2"}}],
      lay({xaxis: logAxis({title: {text: "blackout (s, log scale)"}, range: [-3, 1.5]}), yaxis: {title: {text: "share of migrated VMs"}, range: [0, 1.02]}}), plotConfig);
  }
  function drawWaiting(lay) {
    const traces = linesFrom(acc.waiting, {stack: true, limit: 7, names: codeName});
    Plotly.react("chart-waiting", traces,
                 lay({xaxis: {title: {text: "simulated time (s)"}}, yaxis: countAxis({title: {text: "VMs waiting"}}, traces)}), plotConfig);
  }
  function drawWaits(lay) {
    const [waitTrace, atOnce] = binnedWaits();  // its counts known here: the axis's top
    Plotly.react("chart-waits", [waitTrace],
                 lay({xaxis: {title: {text: `queue wait (s); ${num(atOnce)} started without waiting (not in the bars)`}}, yaxis: countAxis({title: {text: "migrations"}}, [waitTrace]), showlegend: false}), plotConfig);
  }

  function exactCdf() {
    const sorted = acc.blackouts.slice().sort((a, b) => a - b);
    const step = Math.max(1, Math.floor(sorted.length / 600));
    const cx = [], cy = [];
    for (let i = 0; i < sorted.length; i += step) { cx.push(sorted[i]); cy.push((i + 1) / sorted.length); }
    if (sorted.length) { cx.push(sorted[sorted.length - 1]); cy.push(1); }
    return [cx, cy];
  }
  // many blackouts: the CDF at the upper edge of each 0.01-decade bin they were counted into
  function binnedCdf() {
    const cx = [], cy = [], n = acc.blackouts.length;
    let seen = 0;
    acc.blackoutBins.forEach((c, i) => {
      if (!c) return;
      seen += c; cx.push(Math.pow(10, (i + 1) / 100 - 3)); cy.push(seen / n);
    });
    return [cx, cy];
  }
  function binnedHistogram() {  // the 0.1-decade bins of histogram(), summed from the fine ones
    const counts = new Array(BIN_EDGES.length - 1).fill(0);
    acc.blackoutBins.forEach((c, i) => { counts[Math.min(Math.floor(i / 10), counts.length - 1)] += c; });
    const x = counts.map((_, i) => Math.sqrt(BIN_EDGES[i] * BIN_EDGES[i + 1]));
    const width = counts.map((_, i) => BIN_EDGES[i + 1] - BIN_EDGES[i]);
    return {x, counts, width};
  }
  function binnedWaits() {  // 40 bars over 0 .. the longest wait
    const width = (acc.waitMax || 1) / 40, counts = new Array(40).fill(0);
    let atOnce = 0;
    for (const v of acc.waits) { if (v > 0) counts[Math.min(Math.floor(v / width), 39)]++; else atOnce++; }
    return [{type: "bar", x: counts.map((_, i) => (i + 0.5) * width), y: counts, width: width, marker: {color: "#56B4E9"}, name: "migrations"}, atOnce];
  }

  // --- the zones-and-racks map: built once from the first frame's layout, then only the racks
  // that changed are recoloured ---------------------------------------------------------------
  function rackClass(state) {
    const [scope, done, draining, maintenance, migrating] = state || [0, 0, 0, 0, 0];
    if (draining || maintenance || migrating) return "rack-busy";
    if (!scope) return "rack-idle";
    if (done >= scope) return "rack-done";
    return done ? "rack-partial" : "rack-waiting";
  }
  function rackTitle(rack, state) {
    const s = state || [0, 0, 0, 0, 0];
    return `${rack}: ${num(s[1])} / ${num(s[0])} hosts done, ${num(s[2])} draining, ${num(s[3])} in maintenance, ${num(s[4])} migrating`;
  }
  function zoneLine(zone) {
    const c = acc.zones[zone] || {};
    return `${num(c.done)} / ${num(c.scope)} hosts done · ${num(c.draining)} draining · ${num(c.maintenance)} in maintenance · ${num(c.migrating)} migrating`;
  }
  function drawZones() {
    const map = $("zone-map");
    if (!mapBuilt && acc.layout.length) {
      map.replaceChildren(...acc.layout.map((z) => {
        const row = document.createElement("div");
        row.className = "zone-row";
        row.dataset.zone = z.zone;
        const h = document.createElement("h3");
        h.append(`${z.zone} `);
        const line = document.createElement("span");
        line.className = "muted zone-line";
        h.append(line, ` · ${z.racks.length} racks`);
        const cells = document.createElement("div");
        cells.className = "rack-cells";
        for (const [rack] of z.racks) {
          const b = document.createElement("button");
          b.type = "button"; b.dataset.rack = rack;
          b.setAttribute("aria-label", rack);
          rackCells.set(rack, b);
          cells.appendChild(b);
          dirtyRacks.add(rack);
        }
        row.append(h, cells);
        return row;
      }));
      mapBuilt = true;
      $("zones-panel").hidden = false;
      const zoneSelect = $("timeline-zone");
      if (manyZones() && !zoneSelect.options.length) {
        zoneSelect.replaceChildren(...["", ...acc.layout.map((z) => z.zone)].map((z) => {
          const o = document.createElement("option"); o.value = z; o.textContent = z || "all zones"; return o;
        }));
        for (const el of document.querySelectorAll(".zone-only")) el.hidden = false;
        $("inflight-caption").textContent = "Migrations in flight, per zone";
      }
    }
    for (const rack of dirtyRacks) {
      const cell = rackCells.get(rack);
      if (!cell) continue;
      const state = acc.racks.get(rack);
      cell.className = rackClass(state) + (rack === zoomRack ? " selected" : "");
      cell.title = rackTitle(rack, state);
    }
    dirtyRacks.clear();
    for (const row of map.children) row.querySelector(".zone-line").textContent = zoneLine(row.dataset.zone);
  }

  let notesShown = 0;
  function drawNotes() {
    const list = $("notes");
    if (acc.notes.length < notesShown) { list.innerHTML = ""; notesShown = 0; }
    for (; notesShown < acc.notes.length && notesShown < 300; notesShown++) {
      const [t, text] = acc.notes[notesShown];
      const li = document.createElement("li");
      li.textContent = `${fmtTime(t)}: ${text}`;
      list.appendChild(li);
    }
  }

  function drawLegend() {
    const phases = timelineInfo.mode === "vm" || zoomVms ? PHASES : HOST_PHASES;
    $("timeline-legend").innerHTML = phases.map((p) => `<span><span class="swatch" style="background:${p.color}"></span>${p.label}</span>`).join(" ");
  }

  // as migrationsim/units.py format_duration reads a time: "45 s", "4 min 10 s", "12 h 5 min"
  function fmtTime(s) {
    if (s < 60) return `${s.toFixed(0)} s`;
    if (s < 3600) { const r = Math.round(s); return `${Math.floor(r / 60)} min ${r % 60} s`; }
    const m = Math.round(s / 60);
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  // --- controls ------------------------------------------------------------------------------
  const speedSelect = $("speed");
  speedSelect.value = config.speed;
  speedSelect.addEventListener("change", () => { clock.setSpeed(speedSelect.value); });
  const playButton = $("btn-play");
  let ended = false;  // played to the end: the button offers a replay
  function setPlaying(p, end = false) {
    if (p) clock.play(); else clock.pause();
    ended = !p && end;
    playButton.textContent = p ? "Pause" : (ended ? "Replay" : "Play");
  }
  const togglePlay = () => (ended ? restart() : setPlaying(!clock.playing));
  playButton.addEventListener("click", togglePlay);
  $("btn-restart").addEventListener("click", restart);
  function restart() { resetAcc(); played = 0; clock.restart(); notesShown = 0; $("notes").innerHTML = ""; setPlaying(true); dirty = true; }
  // whatever has focus (a clicked button, a select, the chart), except text fields (a VM's name)
  RunStream.shortcuts({" ": togglePlay, r: restart});

  const modeSelect = $("timeline-mode");
  modeSelect.addEventListener("change", () => { mode = modeSelect.value; dirty = true; });
  const timelineHelp = $("timeline-note").textContent;
  const PICK_RACK = "This fleet has too many hosts for one chart: pick a rack (in the map above, or type its name) to see its hosts.";
  const rackInput = $("zoom-rack");
  rackInput.addEventListener("change", () => setRack(rackInput.value.trim()));
  $("timeline-zone").addEventListener("change", (e) => { timelineZone = e.target.value; dirty = true; });
  $("zone-map").addEventListener("click", (e) => {
    const cell = e.target.closest("button[data-rack]");
    if (cell) { setRack(cell.dataset.rack); $("chart-timeline").scrollIntoView({block: "nearest"}); }
  });
  function setRack(rack) {
    const before = zoomRack;
    zoomRack = rack; rackInput.value = rack; zoomHost = ""; zoomVms = null; zoomInput.value = "";
    if (rack) { mode = "host"; modeSelect.value = "host"; }
    for (const r of [before, rack]) if (r) dirtyRacks.add(r);
    dirty = true;
  }
  const zoomInput = $("zoom-host");
  zoomInput.addEventListener("change", () => setZoom(zoomInput.value.trim()));
  $("zoom-clear").addEventListener("click", () => { setZoom(""); setRack(""); });
  function setZoom(host) {
    zoomHost = host; zoomVms = null; zoomInput.value = host; dirty = true;
    if (host && (mode || defaultMode()) !== "vm") {
      fetch(`${config.timeline_url}?host=${encodeURIComponent(host)}`).then((r) => r.json()).then((data) => {
        if (data.vms && zoomHost === host) { zoomVms = data.vms; dirty = true; }
        else if (data.error) $("timeline-note").textContent = `Zoom into ${host}: ${data.error}; showing its host row.`;
      });
    }
  }

  const hostList = $("host-names");
  setInterval(() => {
    const names = new Set(acc.hostRack.keys());
    for (const host of acc.vmHost.values()) names.add(host);
    if (names.size !== hostList.children.length) {
      hostList.replaceChildren(...[...names].sort(natural).slice(0, 2000).map((n) => {
        const option = document.createElement("option");
        option.value = n;  // a property, never markup: a host name is just text
        return option;
      }));
    }
  }, 1000);

  // click a bar: a VM opens its anatomy, a host (or rack) row zooms in
  function bindClicks() {
    const el = $("chart-timeline");
    if (!el.on) { setTimeout(bindClicks, 200); return; }
    el.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (!p) return;
      const m = timelineInfo.mode;
      if (zoomVms || m === "vm") openAnatomy(p.y);
      else if (m === "host" || zoomHost) setZoom(p.y);
      else if (bigFleet()) setRack(p.y);  // a rack's row: its hosts
      else { modeSelect.value = "host"; mode = "host"; dirty = true; }
    });
  }

  const anatomyForm = $("anatomy-form");
  anatomyForm.addEventListener("submit", (e) => { e.preventDefault(); openAnatomy($("anatomy-vm").value.trim()); });
  function openAnatomy(vm) {
    if (!vm) return;
    $("anatomy-vm").value = vm;
    const action = anatomyForm.dataset.actionTemplate.replace("/VM/", `/${encodeURIComponent(vm)}/`);
    anatomyForm.action = action;
    anatomyForm.submit();
  }

  window.fleetRun = {
    state: () => ({received: frames.length, played, clock: clock.t, status, error,
                   lastSeq: stream ? stream.lastSeq : 0, stream: stream ? stream.state() : null,
                   finished: replayedAll(),
                   counts: acc.counts, hosts: acc.hosts, timelinePoints: timelineInfo.points,
                   timelineRows: timelineInfo.rows, timelineLabels: timelineInfo.labels, mode: timelineInfo.mode,
                   playing: clock.playing, badge: $("run-status").textContent,
                   blackouts: acc.blackouts.length, firstMessageMs: firstMessageAt,
                   zones: acc.layout.map((z) => z.zone), racks: acc.racks.size, zoomRack,
                   zoneCounts: acc.zones}),
    restart, setZoom, setRack,
  };

  drawStatus();  // the server's "Done" (a page without scripts plays nothing) until the replay's end
  connect();
  requestAnimationFrame(tick);
  setTimeout(bindClicks, 300);
})();
