/* run_stream.js: what the run pages share (anatomy.js, fleet.js). No build step: one global.
 *
 *   const stream = RunStream.open({
 *     wsPath: "/ws/runs/7/",      // the page's config.ws_path (same host, ws: or wss:)
 *     after: 0,                   // resume after this seq (default 0: from the start)
 *     onEvents(events) {},        // new events, in seq order, each seq once (a batch, never empty)
 *     onStatus(status, error) {}, // {"type": "status"} messages
 *     onClosedForGood(code, reason) {}, // the server refused the stream (4000-4999): no retry
 *     reasonEl: element or id,    // optional: where the reason is shown (unhidden)
 *     probeUrl: "/runs/7/events.json", // optional: asked when a handshake fails (below)
 *   });
 *   stream.lastSeq; stream.state(); stream.close();
 *
 * The socket opens at `${wsPath}?after=<last seq received>` and reopens with the same query
 * after any close, with exponential backoff (0.5 s doubling to 10 s, jittered; reset by the
 * next message), except when the close code is 4000-4999 (4404: the run does not exist or is
 * not yours; 4400: bad request; see playground/consumers.py), or once the run is finished
 * (status done or failed): then the socket is closed and stays closed.
 *
 * The consumer refuses a socket before accepting it, so daphne answers the handshake with 403
 * and the browser only sees close code 1006, the same as for a network error or a server
 * down. So when a socket closes without having opened, the stream asks probeUrl (the run's
 * stored events as JSON, with the same access check) before retrying: 404 there is the
 * socket's 4404 and 400 its 4400 (stop, say why); anything else (200, 5xx, no answer) retries.
 *
 *   const clock = new RunStream.Clock({speed: 10, maxStepS: 0.25});
 *   clock.frame(now)  // wall seconds since the previous frame (requestAnimationFrame's now),
 *                     // capped at maxStepS (a tab in the background does not jump ahead)
 *   clock.advance(dt) // when playing and at a finite speed: t += dt * speed
 *   clock.t, clock.playing, clock.speed (a number; Infinity is "as fast as possible")
 *   clock.setSpeed("max" | "10" | 10), clock.play(), clock.pause(), clock.restart()
 *
 * The simulated clock is the pages' playback: an event is applied once clock.t has passed its
 * t_s; what to apply and how to draw it stays in the page.
 *
 *   RunStream.shortcuts({" ": togglePlay, r: restart, ...})
 *     // keys (lower case, or a KeyboardEvent key name like "ArrowRight") that work whatever has
 *     // focus (a clicked button, the speed select, a chart) except where keys type text
 *     // (text inputs, textareas, contenteditable); a shortcut key is then the page's only:
 *     // Space does not also click the focused button, nor open the focused select.
 *
 *   RunStream.showStatus(el, status, replayed, gaveUp)
 *     // the status badge says what the page shows: a run the worker has finished ("done") whose
 *     // replay has not reached its last event yet reads "Computed — replaying", and "Done" only
 *     // once it has (replayed), unless what it played ended without doing its job (gaveUp: a
 *     // migration aborted, its outcome beside the badge): "Finished"; "Failed", "Queued",
 *     // "Running" as they are, never "Done"
 *
 * The sticky playback bar (.player) publishes its height as the CSS variable --sticky-bar-h,
 * so an anchor (#results) lands below it (playground.css: scroll-padding-top).
 */
(function () {
  "use strict";

  const FINISHED = new Set(["done", "failed"]);
  const REASONS = {
    4404: "This run does not exist or is not yours.",
    4400: "Bad request.",
    4429: "Too many live streams are open from your address; close some tabs and reload.",
  };
  function reasonFor(code) {
    return REASONS[code] || `The server closed the live stream (code ${code}); reload the page to try again.`;
  }

  function socketUrl(wsPath, after) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sep = wsPath.includes("?") ? "&" : "?";
    return `${scheme}://${location.host}${wsPath}${sep}after=${after}`;
  }

  function open(options) {
    const opts = Object.assign({
      after: 0, initialDelayMs: 500, maxDelayMs: 10000,
      onEvents() {}, onStatus() {}, onClosedForGood() {}, reasonEl: null, probeUrl: null,
    }, options);
    const stream = {
      lastSeq: Math.max(0, Number(opts.after) || 0),
      connections: 0, attempt: 0, status: null, closedForGood: null, stopped: false,
      socket: null, timer: null, probes: 0,
    };

    function connect() {
      stream.timer = null;
      if (stream.stopped) return;
      stream.connections += 1;
      const ws = new WebSocket(socketUrl(opts.wsPath, stream.lastSeq));
      stream.socket = ws;
      let opened = false;
      ws.onopen = () => { opened = true; };
      ws.onmessage = (msg) => {
        if (ws !== stream.socket) return;
        stream.attempt = 0; // the server talks: the next drop retries quickly again
        const data = JSON.parse(msg.data);
        if (data.type === "events") {
          const fresh = [];
          for (const ev of data.events.slice().sort((a, b) => a.seq - b.seq)) {
            if (ev.seq <= stream.lastSeq) continue; // already have it: never doubled
            fresh.push(ev);
            stream.lastSeq = ev.seq;
          }
          if (fresh.length) opts.onEvents(fresh);
        } else if (data.type === "status") {
          stream.status = data.status;
          opts.onStatus(data.status, data.error || "");
          if (FINISHED.has(data.status)) stop(1000); // everything came before the end
        }
      };
      ws.onclose = (e) => {
        if (ws !== stream.socket || stream.stopped) return;
        stream.socket = null;
        if (e.code >= 4000 && e.code <= 4999) closedForGood(e.code);
        else if (!opened && opts.probeUrl) probe().then((code) => (code ? closedForGood(code) : retry()), retry);
        else retry();
      };
    }

    function retry() {
      if (stream.stopped) return;
      const base = Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** stream.attempt);
      stream.attempt += 1;
      stream.timer = setTimeout(connect, base / 2 + Math.random() * base / 2); // jittered
    }

    // the handshake failed: is it the run (404, 400) or the way to it (anything else)?
    function probe() {
      stream.probes += 1;
      const sep = opts.probeUrl.includes("?") ? "&" : "?";
      return fetch(`${opts.probeUrl}${sep}after=${stream.lastSeq}`, {cache: "no-store"})
        .then((r) => (r.status === 404 ? 4404 : r.status === 400 ? 4400 : null));
    }

    function closedForGood(code) {
      if (stream.stopped) return;
      const reason = reasonFor(code);
      stream.closedForGood = {code, reason};
      stream.stopped = true;
      showReason(reason);
      opts.onClosedForGood(code, reason);
    }

    function showReason(reason) {
      const el = typeof opts.reasonEl === "string" ? document.getElementById(opts.reasonEl) : opts.reasonEl;
      if (!el) return;
      el.textContent = reason;
      el.hidden = false;
    }

    function stop(code) {
      stream.stopped = true;
      if (stream.timer !== null) clearTimeout(stream.timer);
      stream.timer = null;
      const ws = stream.socket;
      stream.socket = null;
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code);
    }

    connect();
    return {
      get lastSeq() { return stream.lastSeq; },
      close: () => stop(1000),
      state: () => ({
        lastSeq: stream.lastSeq, connections: stream.connections, attempt: stream.attempt,
        status: stream.status, closedForGood: stream.closedForGood, stopped: stream.stopped,
        probes: stream.probes,
      }),
    };
  }

  class Clock {
    constructor({speed = 1, maxStepS = Infinity} = {}) {
      this.t = 0;
      this.playing = true;
      this.maxStepS = maxStepS;
      this.lastFrame = null;
      this.setSpeed(speed);
    }

    setSpeed(value) {
      const n = value === "max" ? Infinity : Number(value);
      this.speed = n > 0 ? n : 1;
      return this.speed;
    }

    frame(now) {
      const dt = this.lastFrame === null ? 0 : Math.min((now - this.lastFrame) / 1000, this.maxStepS);
      this.lastFrame = now;
      return Math.max(dt, 0);
    }

    advance(dt) {
      if (this.playing && Number.isFinite(this.speed)) this.t += dt * this.speed;
      return this.t;
    }

    // the run is over and every frame is played: the clock reads the run's last time, never
    // past it (it ran up to a bucket ahead while waiting for frames, and a slow tick at a high
    // speed overshoots: "22 h 41 min" beside a makespan of 22 h 36 min)
    settle(endT) {
      if (Number.isFinite(endT) && this.t > endT) this.t = endT;
      return this.t;
    }

    play() { this.playing = true; }
    pause() { this.playing = false; }
    restart() { this.t = 0; this.playing = true; }
  }

  // --- the status badge ---------------------------------------------------------------------------
  const REPLAYING = "Computed — replaying";
  function statusWords(status, replayed, gaveUp = false) {
    if (status === "done") return !replayed ? REPLAYING : gaveUp ? "Finished" : "Done";
    return status ? status.charAt(0).toUpperCase() + status.slice(1) : "";
  }
  function showStatus(el, status, replayed, gaveUp = false) {
    const badge = typeof el === "string" ? document.getElementById(el) : el;
    if (!badge) return;
    const words = statusWords(status, replayed, gaveUp);
    if (badge.textContent !== words) badge.textContent = words;
    const kind = status !== "done" ? status : !replayed ? "replaying" : gaveUp ? "gave-up" : status;
    badge.className = `status status-${kind}`;
    badge.dataset.status = status;
  }

  // --- keyboard shortcuts ------------------------------------------------------------------------
  const NOT_TEXT = new Set(["button", "checkbox", "radio", "range", "color", "file", "image", "reset", "submit"]);
  function typesText(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName.toLowerCase();
    if (tag === "textarea") return true;
    return tag === "input" && !NOT_TEXT.has((el.type || "text").toLowerCase());
  }
  const SELECT_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);

  function shortcuts(keys) {
    document.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented || typesText(e.target)) return;
      const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      const action = keys[key];
      if (!action) return;
      // a focused select keeps its own arrow keys (they choose an option)
      if (e.target.tagName && e.target.tagName.toLowerCase() === "select" && SELECT_KEYS.has(key)) return;
      e.preventDefault(); // Space on a focused button would click it as well
      if (key === " " && e.repeat) return; // holding Space does not flicker play/pause
      action(e);
    });
  }

  // --- the sticky playback bar's height, for the anchors below it ----------------------------------
  function publishStickyBarHeight() {
    const bar = document.querySelector(".player");
    if (!bar) return;
    const publish = () => document.documentElement.style.setProperty("--sticky-bar-h", `${Math.ceil(bar.getBoundingClientRect().height)}px`);
    publish();
    if (window.ResizeObserver) new ResizeObserver(publish).observe(bar);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", publishStickyBarHeight);
  else publishStickyBarHeight();

  window.RunStream = {open, Clock, reasonFor, FINISHED, shortcuts, typesText, showStatus, statusWords};
})();
