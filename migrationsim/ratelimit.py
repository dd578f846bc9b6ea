"""QEMU's migration thread, window by window: when it sends, sleeps, measures and checks.

What QEMU 7.x does (``migration/migration.c`` and ``migration/ram.c``), and where:

- **Windows.** ``migration_rate_limit`` -> ``migration_update_counters``: once at least
  ``BUFFER_DELAY`` (100 ms) has passed since ``iteration_start_time``, the thread measures
  ``bandwidth = bytes written to the stream in the window / elapsed time``, sets
  ``threshold_size = bandwidth x downtime_limit``, resets the rate limit and starts a new window.
  The bytes are everything ``qemu_put_*`` wrote: page headers and zero-page markers included.
  Before the first measurement ``threshold_size`` is 0 (``migrate_init``).
- **The budget.** ``qemu_file_rate_limit`` lets a window carry ``max_bandwidth / 10`` bytes
  (``XFER_LIMIT_RATIO``); the pages themselves go out at link speed. Once the budget is spent
  the thread sleeps until the window's 100 ms are up (``qemu_sem_timedwait`` in
  ``migration_rate_limit``), then measures. It wakes late by the host's wake-up latency
  (``wake_latency_s``, measured like the link: the timer's slack and the scheduler): the
  measurement reads the clock then, so a window that ends in a sleep lasts 100 ms plus that
  latency, and the next one starts from there. (QEMU sleeps ``iteration_start_time + 100 -
  now`` whole milliseconds from ``now``; on average its windows last 100 ms plus the latency.)
- **Iterations.** ``ram_save_iterate`` sends pages until the budget is spent, or until 50 ms
  have passed (``MAX_WAIT``, tested as ``t1 > MAX_WAIT`` on a millisecond clock: 51 ms), or
  until no dirty page is left (``pages == 0``).
- **The check.** After every iteration (and the sleep or measurement that follows it),
  ``migration_iteration_run`` compares the pending estimate (``ram_save_pending`` /
  ``ram_state_pending_estimate``: dirty pages x 4096 B, zero pages included) with the
  threshold; only when the estimate is below it does it sync the dirty bitmap (the exact
  pending, ``ram_state_pending_exact``), and it completes when that pending is below the
  threshold or nothing is pending.

``RateWindow`` keeps the window's clock and runs that schedule forward at a constant link rate
without touching memory: the caller says how many wire bytes the check needs sent before the
estimate drops below a threshold (``need``) and how many bytes are pending at all (``dry``), and
gets back how long it ran, how many bytes went out, and whether a check ended the round (the
bitmap sync). Runs of identical full windows are crossed by arithmetic. Where the thread's own
time per page is slower than the link for some pages (zero pages: ``pacing.py``), the same
schedule runs on their clock (``_run_paced``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .pacing import PagePace

QEMU_RATE_WINDOW_S = 0.1  # BUFFER_DELAY
QEMU_MAX_WAIT_S = 0.051  # ram_save_iterate's MAX_WAIT (50 ms), ``t1 > MAX_WAIT`` in whole ms

_EPS_S = 1e-12
_STEADY_REL = 1e-9


def _reached(sent: float, target: float) -> bool:
    return sent >= target - 1e-9 * (target if target > 1.0 else 1.0)


class RateWindow:
    """The migration thread's rate-limit window. Times are kept relative to the window's and
    the iteration's start (seconds), bytes are on the wire."""

    __slots__ = (
        "budget_bytes",
        "elapsed_s",
        "bytes",
        "iter_elapsed_s",
        "sleeping",
        "sleep_until_s",
        "threshold",
        "threshold_of",
        "dl_fixed_until_s",
        "_steady",
    )

    def __init__(
        self,
        max_bandwidth_bps: float | None,
        threshold_of: Callable[[float, float], float],
        dl_fixed_until_s: Callable[[float], float],
        wake_latency_s: float = 0.0,
    ):
        self.budget_bytes = (
            math.inf if max_bandwidth_bps is None else max_bandwidth_bps * QEMU_RATE_WINDOW_S
        )
        self.elapsed_s = 0.0  # since the window began (iteration_start_time)
        self.bytes = 0.0  # written to the stream in this window (rate_limit_used)
        self.iter_elapsed_s = 0.0  # since the current ram_save_iterate began
        self.sleeping = False
        # when a thread that spent its budget wakes and measures: the 100 ms mark, plus the
        # host's wake-up latency
        self.sleep_until_s = QEMU_RATE_WINDOW_S + wake_latency_s
        self.threshold = 0.0  # migrate_init: no measurement yet
        self.threshold_of = threshold_of  # (measured bandwidth, now) -> threshold bytes
        self.dl_fixed_until_s = dl_fixed_until_s  # until when the downtime limit stays put
        self._steady = (math.nan, -math.inf, math.nan)  # (link, valid until, threshold)

    def copy(self) -> RateWindow:
        other = RateWindow.__new__(RateWindow)
        for name in RateWindow.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    @property
    def fresh(self) -> bool:
        """At the start of a window, with a new iteration about to begin."""
        return self.elapsed_s == 0.0 and self.iter_elapsed_s == 0.0 and not self.sleeping

    def full_window(self, link_bps: float) -> tuple[float, float]:
        """(bytes, seconds) of a window that starts fresh and never runs out of pages."""
        budget, w, mw = self.budget_bytes, QEMU_RATE_WINDOW_S, QEMU_MAX_WAIT_S
        budget_s = budget / link_bps
        if budget_s <= mw:  # one iteration spends the budget; sleep to the window's end
            return budget, self.sleep_until_s
        if budget_s <= 2 * mw:  # a 51 ms iteration, then one that spends the budget
            return budget, budget_s if budget_s >= w else self.sleep_until_s
        return 2 * mw * link_bps, 2 * mw  # two 51 ms iterations cross the 100 ms mark

    def steady_threshold(self, link_bps: float, now_s: float) -> float:
        """The threshold a full window at ``link_bps`` measures (cached while the downtime
        limit stays put)."""
        link, until, threshold = self._steady
        if link != link_bps or now_s >= until:
            full_bytes, full_s = self.full_window(link_bps)
            threshold = self.threshold_of(full_bytes / full_s, now_s)
            self._steady = (link_bps, self.dl_fixed_until_s(now_s), threshold)
        return threshold

    def _measure(self, now_s: float) -> None:
        """migration_update_counters: bandwidth over the window, threshold, a new window."""
        elapsed = self.elapsed_s
        self.threshold = self.threshold_of(self.bytes / elapsed if elapsed > 0 else 0.0, now_s)
        self.elapsed_s = 0.0
        self.bytes = 0.0
        self.sleeping = False

    def run(
        self,
        now_s: float,
        link_bps: float,
        need: Callable[[float], float],
        dry: float,
        horizon_s: float,
        pace: PagePace | None = None,
    ) -> tuple[float, float, bool]:
        """Run the thread from ``now_s`` at ``link_bps`` until a check ends the round or
        ``horizon_s``. ``need(threshold)``: wire bytes to send before the estimate is below
        ``threshold``; ``dry``: wire bytes of every pending page. ``pace``: where the thread's
        own time per page binds for some pending pages (``pacing.py``), the clock of those
        pages at this link rate. Returns (seconds, wire bytes sent, whether a check ended the
        round)."""
        if pace is not None:
            return self._run_paced(now_s, pace, need, dry, horizon_s)
        w, mw = QEMU_RATE_WINDOW_S, QEMU_MAX_WAIT_S
        t, sent = 0.0, 0.0  # since now_s
        horizon = horizon_s - now_s
        budget = self.budget_bytes
        # The common case in closed form: a fresh window, the budget spent within one
        # iteration, the threshold that full windows measure. Checks come at window ends
        # (k B sent after k windows) until the estimate is below the threshold, unless the
        # pass runs dry first, mid-window.
        # Every window-end check compares with the threshold that window measured, the steady
        # one, whatever the threshold was before (0 before the first measurement); a pass that
        # runs dry ends the round at once whatever the threshold.
        if (
            not self.sleeping
            and self.elapsed_s == 0.0
            and self.iter_elapsed_s == 0.0
            and budget <= mw * link_bps
        ):
            link, until_s, steady = self._steady
            if link != link_bps or now_s >= until_s:
                steady = self.steady_threshold(link_bps, now_s)
                until_s = self._steady[1]
            target = need(steady)
            if dry < target:
                target = dry
            k_need = math.ceil(target / budget - 1e-9)
            if k_need < 1:
                k_need = 1.0
            k_dry = math.ceil(dry / budget - 1e-9)
            if k_dry < 1:
                k_dry = 1.0
            until = until_s - now_s  # the downtime limit stays put until then
            if k_need < k_dry or dry >= k_dry * budget * (1 - 1e-12):  # a check at a window's end
                k = k_need if k_need < k_dry else k_dry
                end = k * self.sleep_until_s
                if end <= horizon and end <= until:
                    self.threshold = steady
                    return end, min(k * budget, dry), True
            else:  # the pass runs dry in window k_dry, before its budget is spent
                part = dry - (k_dry - 1) * budget
                end = (k_dry - 1) * self.sleep_until_s + part / link_bps
                if end <= horizon and end <= until:
                    if k_dry > 1:
                        self.threshold = steady  # measured at the end of each full window
                    self.elapsed_s = part / link_bps
                    self.bytes = part
                    return end, dry, True
        # need(threshold) for the last threshold asked (memory does not change while the
        # thread runs: the same threshold needs the same bytes)
        need_of, need_bytes = math.nan, 0.0
        while True:
            if self.sleeping:
                rest = self.sleep_until_s - self.elapsed_s
                if t + rest > horizon:
                    self.elapsed_s += horizon - t
                    return horizon, sent, False
                t += rest
                self.elapsed_s = self.sleep_until_s
                self._measure(now_s + t)
            else:
                if self.elapsed_s == 0.0 and self.iter_elapsed_s == 0.0:
                    # full windows whose checks all fall short of the target, before the
                    # horizon and before the downtime limit may change: crossed by arithmetic
                    full_bytes, full_s = self.full_window(link_bps)
                    threshold = self.threshold
                    if threshold == self.steady_threshold(link_bps, now_s + t):
                        if threshold != need_of:
                            need_of, need_bytes = threshold, need(threshold)
                        target = min(need_bytes, dry)
                        until = min(horizon, self.dl_fixed_until_s(now_s + t) - now_s)
                        k = min((target - sent) // full_bytes, (until - t) // full_s) - 1
                        if k >= 1:
                            t += k * full_s
                            sent += k * full_bytes
                # one iteration: until the budget is spent, MAX_WAIT, or no page is left
                dt = min(
                    (budget - self.bytes) / link_bps,
                    mw - self.iter_elapsed_s,
                    (dry - sent) / link_bps,
                )
                if dt < 0.0:
                    dt = 0.0
                if t + dt > horizon + _EPS_S:
                    dt = horizon - t
                    x = dt * link_bps
                    self.bytes += x
                    self.elapsed_s += dt
                    self.iter_elapsed_s += dt
                    return horizon, sent + x, False
                x = dt * link_bps
                t += dt
                sent += x
                self.bytes += x
                self.elapsed_s += dt
                if self.elapsed_s >= w - _EPS_S:
                    self._measure(now_s + t)
                elif _reached(self.bytes, budget):
                    self.bytes = budget  # the budget, spent (not the float sum of its pieces)
                    self.sleeping = True  # migration_rate_limit: wait out the window;
                    continue  # the check comes after the sleep and the measurement
            # migration_iteration_run: the pending estimate against the threshold
            self.iter_elapsed_s = 0.0
            if _reached(sent, dry):
                return t, sent, True
            threshold = self.threshold
            if threshold != need_of:
                need_of, need_bytes = threshold, need(threshold)
            if _reached(sent, need_bytes):
                return t, sent, True

    def _run_paced(
        self,
        now_s: float,
        pace: PagePace,
        need: Callable[[float], float],
        dry: float,
        horizon_s: float,
    ) -> tuple[float, float, bool]:
        """``run`` where the pages do not all go at the link's rate: the same schedule
        (iterations, sleeps, measurements, checks), each iteration's time read from ``pace``
        (wire bytes from the cursor -> seconds). The budget stays in wire bytes. Full windows
        inside one run of pages of one pace are crossed by arithmetic, as ``run`` crosses them
        at a constant link."""
        w, mw = QEMU_RATE_WINDOW_S, QEMU_MAX_WAIT_S
        t, sent = 0.0, 0.0  # since now_s; wire bytes from the cursor
        horizon = horizon_s - now_s
        budget = self.budget_bytes
        need_of, need_bytes = math.nan, 0.0
        while True:
            if self.sleeping:
                rest = self.sleep_until_s - self.elapsed_s
                if t + rest > horizon:
                    self.elapsed_s += horizon - t
                    return horizon, sent, False
                t += rest
                self.elapsed_s = self.sleep_until_s
                self._measure(now_s + t)
            else:
                if self.elapsed_s == 0.0 and self.iter_elapsed_s == 0.0:
                    run_end, rate_bps = pace.run_end(sent)
                    full_bytes, full_s = self.full_window(rate_bps)
                    threshold = self.threshold
                    steady = self.steady_threshold(rate_bps, now_s + t)
                    # the same threshold to rounding (the pace's seconds <-> bytes are not
                    # exact to the last bit, so a measured full window may differ there)
                    if abs(threshold - steady) <= _STEADY_REL * steady:
                        if threshold != need_of:
                            need_of, need_bytes = threshold, need(threshold)
                        target = min(need_bytes, dry, run_end)
                        until = min(horizon, self.dl_fixed_until_s(now_s + t) - now_s)
                        k = min((target - sent) // full_bytes, (until - t) // full_s) - 1
                        if k >= 1:
                            t += k * full_s
                            sent += k * full_bytes
                # one iteration: until the budget is spent, MAX_WAIT, or no page is left
                most = min(budget - self.bytes, dry - sent)
                if most < 0.0:
                    most = 0.0
                dt_most = pace.seconds(sent, sent + most)
                dt = min(dt_most, mw - self.iter_elapsed_s)
                if dt < 0.0:
                    dt = 0.0
                if t + dt > horizon + _EPS_S:
                    dt = horizon - t
                    x = pace.wire_within(sent, dt)
                    self.bytes += x
                    self.elapsed_s += dt
                    self.iter_elapsed_s += dt
                    return horizon, sent + x, False
                x = most if dt == dt_most else pace.wire_within(sent, dt)
                t += dt
                sent += x
                self.bytes += x
                self.elapsed_s += dt
                if self.elapsed_s >= w - _EPS_S:
                    self._measure(now_s + t)
                elif _reached(self.bytes, budget):
                    self.bytes = budget
                    self.sleeping = True
                    continue
            self.iter_elapsed_s = 0.0
            if _reached(sent, dry):
                return t, sent, True
            threshold = self.threshold
            if threshold != need_of:
                need_of, need_bytes = threshold, need(threshold)
            if _reached(sent, need_bytes):
                return t, sent, True
