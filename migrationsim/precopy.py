"""The pre-migration brownout: pre-copy rounds until the policy says stop.

``Precopy.rounds`` is a generator: it yields each live ``Round`` as soon as it is computed (so a
web worker can stream them) and leaves the ``PrecopyOutcome`` in ``result``. The link rate may
change while a round runs (other migrations start and stop on shared links): pass a ``LinkRate``
with the changes and the round is cut into constant-rate pieces, each sending what that rate
allows. The fleet engine drives the same object piece by piece (``decide``,
``time_to_round_end``, ``send_for``, ``end_round``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from .nonconvergence import most_measured_bps, pending_floor_pages, send_floor_s
from .pacing import binds, pace_for
from .policies import (
    FULL_PASS,
    AutoConverge,
    PrecopyState,
    Stop,
    make_policy,
    postcopy_switch_stop,
    qemu_threshold_bytes,
    timeout_stop,
)
from .ratelimit import QEMU_MAX_WAIT_S, RateWindow
from .units import PAGE_SIZE_BYTES, format_bytes, format_long_duration, format_rate

_TIME_EPS = 1e-9

# The ceiling on simulated pre-copy time: no operator follows a migration for a year.
MAX_PRECOPY_S = 365.25 * 86400


def ceiling_stop(spec, waited_s: float) -> Stop:
    return Stop(
        "time_ceiling",
        False,
        f"Still not converged after {format_long_duration(waited_s)} of pre-copy, the "
        f"longest this simulator follows a migration (the operator's completion timeout "
        f"is later still): aborted, and the VM keeps running on the source.",
        "abort",
    )


# The most live rounds one migration's pre-copy is followed for round by round (rounds added by
# arithmetic, a steady state or a cycle, do not count): a guest whose pending hovers just above
# the threshold with no pattern that repeats exactly (oltp under a cap) runs rounds of 0.1 s one
# by one, 10-25 us and 400 B each. With no operator's deadline within the year that was a
# quarter of a billion rounds, hours and every GB of the host: such a run stops after 25,000
# (half a second). With a deadline, a million (Nova's 800 s per GiB on a 64 GiB guest is
# half a million rounds of 0.1 s; a million take 10-25 s and 400 MB).
MAX_LIVE_ROUNDS = 1_000_000
MAX_LIVE_ROUNDS_WITHOUT_DEADLINE = 25_000


def round_ceiling_stop(rounds: int, waited_s: float) -> Stop:
    return Stop(
        "round_ceiling",
        False,
        f"Still not converged after {rounds:,} live rounds followed one by one "
        f"({format_long_duration(waited_s)} of pre-copy), the most this simulator follows a "
        "migration for (the operator's completion timeout had not come): aborted, and the VM "
        "keeps running on the source.",
        "abort",
    )


def never_converges_stop(
    spec, floor_bytes: float, threshold_bytes: float, link_bps: float, rounds: int, waited_s: float
) -> Stop:
    return Stop(
        "never_converges",
        False,
        f"Every bitmap sync leaves at least {format_bytes(floor_bytes)} pending: the guest "
        f"rewrites that much in the time it takes at least to send it, and QEMU's threshold "
        f"can never be more than {format_bytes(threshold_bytes)} (at most "
        f"{format_rate(link_bps)} measured x the {spec.downtime_limit_s * 1e3:g} ms downtime "
        f"limit). Pre-copy can never converge, and the completion timeout is later "
        f"than the {format_long_duration(MAX_PRECOPY_S)} this simulator follows a migration: "
        f"the outcome is certain, so it is decided after {rounds:,} live rounds "
        f"({format_long_duration(waited_s)}): aborted, and the VM keeps running on the source.",
        "abort",
    )


class LinkRate:
    """The migration link's rate over time: ``base_bps`` until the first change, then each
    ``(t_s, bps)`` change in order (t relative to the start of pre-copy)."""

    def __init__(self, base_bps: float, changes: Sequence[tuple[float, float]] = ()):
        self.points = [(0.0, float(base_bps))] + sorted((float(t), float(r)) for t, r in changes)
        for _t, r in self.points:
            if not (r > 0 and math.isfinite(r)):
                raise ValueError("link rate changes must be > 0 and finite")

    def rate_at(self, t_s: float) -> float:
        rate = self.points[0][1]
        for t, r in self.points:
            if t <= t_s + _TIME_EPS:
                rate = r
            else:
                break
        return rate

    def next_change_after(self, t_s: float) -> float:
        for t, _ in self.points:
            if t > t_s + _TIME_EPS:
                return t
        return math.inf


class Round(NamedTuple):
    """One round of copying: a live pre-copy round, or the final copy during blackout."""

    index: int
    phase: str  # "live" or "final"
    start_s: float  # from the start of pre-copy
    duration_s: float
    bytes: float  # on the wire
    pages: float
    dirty_bytes: float  # pages newly dirty at the sync that ended the round, x 4096 B
    pending_after_bytes: float
    rate_bps: float
    throttle: float
    threshold_bytes: float
    # > 1: this round stands for that many rounds in a row, as their mean (rounds that repeat
    # exactly, a cycle of them, or a block of ``KeptRounds`` past the rounds kept one by one)
    repeat: int = 1

    def to_dict(self) -> dict:
        return self._asdict()


_new_round = tuple.__new__  # builds a Round from a tuple of its fields, without the keyword pass


class KeptRounds:
    """The rounds a result keeps: the first ``ONE_BY_ONE`` as they came, then blocks of at
    least ``BLOCK`` rounds in a row, each kept as one round with ``repeat`` (their mean
    duration, bytes, pages and dirty bytes; the last one's pending, throttle and threshold).
    Sums of time and bytes over the rounds stay what they were. A million rounds of 0.1 s
    (the ceiling on rounds followed one by one with a deadline) kept one by one were 900 MB."""

    ONE_BY_ONE = 100_000
    BLOCK = 1_000

    __slots__ = ("rounds", "_block", "_in_block")

    def __init__(self):
        self.rounds: list[Round] = []
        self._block: list[Round] = []
        self._in_block = 0

    def add(self, live_round: Round) -> None:
        if len(self.rounds) < self.ONE_BY_ONE:
            self.rounds.append(live_round)
            return
        self._block.append(live_round)
        self._in_block += live_round.repeat
        if self._in_block >= self.BLOCK:
            self._close_block()

    def done(self) -> list[Round]:
        self._close_block()
        return self.rounds

    def _close_block(self) -> None:
        block, n = self._block, self._in_block
        if not block:
            return
        self._block, self._in_block = [], 0
        if len(block) == 1:
            self.rounds.append(block[0])
            return
        first, last = block[0], block[-1]
        seconds = sum(r.duration_s * r.repeat for r in block)
        wire = sum(r.bytes * r.repeat for r in block)
        pages = sum(r.pages * r.repeat for r in block)
        dirty = sum(r.dirty_bytes * r.repeat for r in block)
        self.rounds.append(
            _new_round(
                Round,
                (
                    first.index,
                    first.phase,
                    first.start_s,
                    seconds / n,
                    wire / n,
                    pages / n,
                    dirty / n,
                    last.pending_after_bytes,
                    wire / seconds if seconds > 0 else 0.0,
                    last.throttle,
                    last.threshold_bytes,
                    n,
                ),
            )
        )


# A bound on rounds repeated at once (a run with no deadline and no limits never ends anyway).
MAX_REPEATED_ROUNDS = 1_000_000_000
# More identical rounds in a row than this are returned as one round with ``repeat`` (the
# JSON says so in ``rounds_summarised``): a year of 100 ms rounds must not cost a GB.
SUMMARISE_ABOVE_ROUNDS = 1000
_STEADY_REL = 1e-12


def _pages_below(pending_pages: float, threshold_bytes: float) -> int:
    """Whole pages to send before ``pending_pages`` x 4096 B is below ``threshold_bytes``,
    counted to a millionth of a page."""
    return math.floor(pending_pages - threshold_bytes / PAGE_SIZE_BYTES + 1e-6) + 1


# below this, x * 1e6 is within 2**-10 of the exact product (half its ulp, at most 2**-9)
_MILLIONTHS_EXACT_BELOW = 2.0**44


def _to_millionths(x: float) -> float:
    """``round(x, 6)``, bit for bit, without its decimal conversion where the result is
    certain: a positive x whose x * 1e6 lies clearly away from a half (the exact product is
    within 0.001 of the float one) rounds to the nearest whole n, and n / 1e6 is the double
    nearest n millionths, which is what ``round`` returns. Anything else goes to ``round``."""
    y = x * 1e6
    if 0.0 < y < _MILLIONTHS_EXACT_BELOW:
        n = math.floor(y)
        f = y - n  # exact (Sterbenz)
        if f < 0.49:
            return n / 1e6
        if f > 0.51:
            return (n + 1) / 1e6
    return round(x, 6)


def _same_round(a: Round, b: Round) -> bool:
    """The same round again (all but its index and start), to rounding."""
    # pending first (it tells a converging guest's rounds apart), then the duration
    for i in (7, 3, 4, 5, 6, 8, 9, 10, 11):
        x, y = a[i], b[i]
        if abs(x - y) > _STEADY_REL * abs(x):
            return False
    return True


class PrecopyOutcome(NamedTuple):
    stop: Stop
    time_s: float
    live_rounds: int
    live_wire_bytes: float
    throttle: float
    throttle_max: float
    threshold_bytes: float


class Precopy:
    """One migration's pre-copy, driven from outside.

    The caller (the single-VM loop below, or the fleet engine) says how long the migration sent
    and at what link rate; the policy decides at every round's end. This is the one place where
    rounds, syncs, thresholds, timeouts and auto-converge are applied.
    """

    __slots__ = (
        "spec",
        "memory",
        "policy",
        "full_pass",
        "state",
        "started_s",
        "aids",
        "auto_converge",
        "throttle",
        "throttle_max",
        "deadline_s",
        "horizon_s",
        "last_sync_s",
        "threshold",
        "round_start_s",
        "round_wire",
        "round_pages",
        "_round_link_bps",
        "_round_rate_bps",
        "last_round",
        "steady_syncs",
        "_threshold_key",
        "result",
        "_last_round_rate_bps",
        "window",
        "_round_fresh",
        "_last_round_fresh",
        "window_streak",
        "page_time_s",
        "_writer_cost",
        "_recent",
        "_seen_at",
        "_cycle_rounds",
        "next_proof_round",
    )

    def __init__(self, spec, memory, start_s: float = 0.0):
        self.spec = spec
        self.memory = memory
        self.policy = make_policy(spec)
        self.full_pass = self.policy.mechanics == FULL_PASS
        self.state = PrecopyState(
            memory_bytes=spec.memory_bytes,
            pending_bytes=memory.pending * PAGE_SIZE_BYTES,
            now_s=start_s,
        )
        self.started_s = start_s
        self.aids = self.policy.supports_aids
        self.auto_converge = AutoConverge() if (spec.auto_converge and self.aids) else None
        self.throttle = self.throttle_max = 0.0
        self.deadline_s = (
            start_s + spec.completion_timeout_s if self.policy.operator_timeout else math.inf
        )
        # nothing is followed past the ceiling on simulated time (the operator's deadline may be
        # later: 1e30 s per GiB is a legal input, not a plan)
        self.horizon_s = min(self.deadline_s, start_s + MAX_PRECOPY_S)
        self.last_sync_s = start_s
        self.threshold = 0.0
        self.round_start_s = start_s
        self.round_wire = self.round_pages = 0.0
        # the rate worked out at the round's start, for the link rate then (a policy's rate
        # only changes at a sync; the network may change the link rate at any time)
        self._round_link_bps = self._round_rate_bps = math.nan
        self.last_round: Round | None = None
        self.steady_syncs = 0  # consecutive syncs that repeated the round before, saturated
        self._last_round_rate_bps = math.nan  # the policy's rate for the last round
        self._threshold_key = (math.nan, -math.inf)  # (rate, valid until): the last threshold's
        self.result: PrecopyOutcome | None = None  # set when ``rounds`` ends
        # QEMU's mechanics: the migration thread's rate-limit window (ratelimit.py)
        self.window = (
            None
            if self.full_pass
            else RateWindow(
                spec.max_bandwidth_bps,
                self.policy.threshold_at,
                self.policy.threshold_fixed_until_s,
                spec.wake_latency_s,
            )
        )
        self._round_fresh = self._last_round_fresh = False  # rounds that began a fresh window
        # the migration thread's time per page (pacing.py); 0: pages go at the link's rate
        self.page_time_s = spec.page_time_s
        # the cheapest page a guest's writes can make pending (pacing: whether the thread's
        # time could bind for pages not pending yet)
        self._writer_cost = min(
            (r.wire_cost_bytes for r in spec.regions if r.working_set >= 0), default=math.inf
        )
        self.window_streak = 0  # rounds in a row that were one full window each, not converging
        # QEMU's last rounds, each with where its sync left the thread and the memory (a key)
        # and whether memory was saturated, and when each key was last seen at a saturated sync
        # (``repeat_cycle_rounds``): a cycle of that many rounds, when one showed
        # (kept only by ``rounds``, the single-VM loop: the fleet drives its migrations round
        # by round and keeps none of this for them)
        self._recent: deque | None = None
        self._seen_at: dict[tuple, int] = {}
        self._cycle_rounds = 0
        # when ``never_converges`` is next attempted (live rounds), then 4x as many
        self.next_proof_round = (
            self.NEVER_CONVERGES_FIRST_CHECK if self.PROVE_NEVER_CONVERGES else math.inf
        )

    @property
    def now_s(self) -> float:
        return self.state.now_s

    def rate_bps(self, link_bps: float) -> float:
        """What this migration sends at when the network offers ``link_bps``."""
        if link_bps == self._round_link_bps:
            return self._round_rate_bps
        return self.policy.live_rate_bps(self.state, link_bps)

    def decide(self, link_bps: float) -> Stop | None:
        """At a round boundary: why pre-copy stops now, or None to start another round."""
        state, policy = self.state, self.policy
        rate = policy.live_rate_bps(state, link_bps)
        self._round_link_bps = link_bps
        self._round_rate_bps = rate
        window = self.window
        if window is None:
            threshold = self._threshold_for(rate)
        else:  # the threshold QEMU measured over its last window
            threshold = self.threshold = window.threshold
            self._round_fresh = (  # window.fresh
                window.elapsed_s == 0.0 and window.iter_elapsed_s == 0.0 and not window.sleeping
            )
        at_horizon = state.now_s >= self.horizon_s - _TIME_EPS
        if at_horizon and window is not None and state.live_rounds > 0:
            # the operator's deadline (or the ceiling) cut the round: no check of QEMU's came
            # there, so nothing converged; the timeout acts on what is pending
            stop = None
        else:
            stop = policy.check(state, threshold)
        if stop is None and state.live_rounds == 0:
            stop = self._first_pass_too_long(rate)
        if stop is None:
            if state.now_s >= self.horizon_s - _TIME_EPS and self.horizon_s < self.deadline_s:
                stop = ceiling_stop(self.spec, state.now_s - self.started_s)
            elif state.now_s >= self.deadline_s - _TIME_EPS:
                stop = timeout_stop(self.spec, state)
            elif self.spec.post_copy and self.aids and state.live_rounds >= 1:
                stop = postcopy_switch_stop(state)
        self.round_start_s = state.now_s
        self.round_wire = self.round_pages = 0.0
        return stop

    def _first_pass_too_long(self, rate_bps: float) -> Stop | None:
        """Before round 0: if one pass over memory at the live rate would outlast the ceiling on
        simulated time (and the operator's deadline is later still), the outcome is certain:
        decided now, without simulating the wait."""
        if self.horizon_s >= self.deadline_s:
            return None  # the operator's timeout comes first: it is simulated as usual
        memory = self.memory
        pace = self._pace(rate_bps)
        pass_s = (
            memory.wire_bytes_for(memory.pending) / rate_bps if pace is None else pace.total_seconds
        )
        if pass_s <= MAX_PRECOPY_S:
            return None
        spec = self.spec
        return Stop(
            "cannot_finish",
            False,
            f"At {format_rate(rate_bps)}, {format_bytes(spec.memory_bytes)} would take "
            f"{format_long_duration(pass_s)} to copy once, longer than the "
            f"{format_long_duration(MAX_PRECOPY_S)} this simulator follows a migration: "
            f"the outcome is certain, so it is decided now: aborted, and the VM keeps "
            f"running on the source.",
            "abort",
        )

    def _threshold_for(self, rate_bps: float) -> float:
        """The policy's threshold now at ``rate_bps`` (worked out again only when the rate
        changed or the policy said it may have)."""
        now_s = self.state.now_s
        rate, until_s = self._threshold_key
        if rate_bps != rate or now_s >= until_s:
            self.threshold = self.policy.threshold_bytes(self.state, rate_bps)
            self._threshold_key = (rate_bps, self.policy.threshold_fixed_until_s(now_s))
        return self.threshold

    def _pace(self, rate_bps: float):
        """The clock of the pending pages at ``rate_bps`` where the thread's time per page
        binds for some of them (``pacing.PagePace``), else None."""
        if self.page_time_s <= 0.0:
            return None
        return pace_for(self.memory, rate_bps, self.page_time_s)

    def paced(self, link_bps: float) -> bool:
        """Whether the thread's time per page may set the pace at ``link_bps``, now or for pages
        the guest dirties later: then the closed forms that assume the link's rate are off."""
        return self.page_time_s > 0.0 and (
            binds(self.page_time_s, link_bps, self._writer_cost) or self._pace(link_bps) is not None
        )

    def time_to_round_end(self, link_bps: float) -> float:
        """Seconds until the current round's sync if the rate stays ``link_bps``."""
        memory, now_s = self.memory, self.state.now_s
        if self.window is not None:  # QEMU's thread, window by window, on a copy of its clock
            seconds, _, _ = self.window.copy().run(
                now_s, link_bps, self._need, self._dry(), self.horizon_s, self._pace(link_bps)
            )
            return seconds
        rate = self.rate_bps(link_bps)
        pace = self._pace(rate)
        remaining = (
            memory.wire_bytes_for(memory.pending) / rate if pace is None else pace.total_seconds
        )
        left = self.horizon_s - now_s
        if remaining > left:
            remaining = left
        return remaining if remaining > 0.0 else 0.0

    def _dry(self) -> float:
        """Wire bytes of every pending page: where a pass runs out of pages."""
        memory = self.memory
        return memory.wire_bytes_for(memory.pending)

    def _need(self, threshold: float) -> float:
        """Wire bytes to send before QEMU's pending estimate (pending pages x 4096 B, whatever
        their content) is below ``threshold``: whole pages, counted to a millionth of a page
        (float rounding must not flip a page where the threshold is a whole number of pages).
        Memory does not change while the thread runs: the pending count is read as it is."""
        memory = self.memory
        pages = _pages_below(memory.pending, threshold)
        return memory.wire_bytes_for(pages) if pages > 0 else 0.0

    def send_for(self, seconds: float, link_bps: float) -> None:
        if self.window is not None:
            _, wire, _ = self.window.run(
                self.state.now_s,
                link_bps,
                self._need,
                self._dry(),
                self.state.now_s + seconds,
                self._pace(link_bps),
            )
            pages, wire = self.memory.send(wire)
        else:
            rate = self.rate_bps(link_bps)
            pace = self._pace(rate)
            pages, wire = self.memory.send(
                rate * seconds if pace is None else pace.wire_within(0.0, seconds)
            )
        self.round_pages += pages
        self.round_wire += wire
        self.state.now_s += seconds

    def run_round(self, link_bps: float) -> None:
        """Send until the round's sync (or the deadline) at a constant ``link_bps``."""
        if self.window is None:
            self.send_for(self.time_to_round_end(link_bps), link_bps)
            return
        state, memory = self.state, self.memory
        seconds, wire, _ = self.window.run(
            state.now_s,
            link_bps,
            self._need,
            memory.wire_bytes_for(memory.pending),
            self.horizon_s,
            self._pace(link_bps),
        )
        pages, wire = memory.send(wire)
        self.round_pages += pages
        self.round_wire += wire
        state.now_s += seconds

    def end_round(self) -> Round:
        """The bitmap sync that ends a round: what the guest dirtied joins the pending set."""
        state, memory, window = self.state, self.memory, self.window
        round_link_bps = self._round_link_bps
        self._round_link_bps = math.nan  # the policy decides the next round's rate afresh
        rate_bps, self._last_round_rate_bps = self._last_round_rate_bps, self._round_rate_bps
        now_s = state.now_s
        interval = now_s - self.last_sync_s
        state.estimate_bytes = memory.pending * PAGE_SIZE_BYTES  # what the check compared
        throttle = self.throttle
        dirty_bytes = memory.dirty(interval, 1.0 - throttle) * PAGE_SIZE_BYTES
        self.last_sync_s = now_s
        duration = now_s - self.round_start_s
        wire = self.round_wire
        state.previous_pending_bytes = state.pending_bytes
        # pending to a millionth of a page: float noise in the fluid sums must not decide a
        # comparison with a threshold that is a whole number of pages
        pending_bytes = state.pending_bytes = _to_millionths(memory.pending) * PAGE_SIZE_BYTES
        index = state.live_rounds
        state.live_rounds = index + 1
        if window is not None:
            self.threshold = window.threshold  # the one the sync's check compared with
        state.live_wire_bytes += wire
        state.last_round_dirty_rate_bps = dirty_bytes / interval if interval > 0 else 0.0
        if self.auto_converge is not None:
            self.throttle = self.auto_converge.on_sync(now_s, dirty_bytes, wire)
            if self.throttle > self.throttle_max:
                self.throttle_max = self.throttle
        live_round = _new_round(
            Round,
            (
                index,
                "live",
                self.round_start_s - self.started_s,
                duration,
                wire,
                self.round_pages,
                dirty_bytes,
                pending_bytes,
                wire / duration if duration > 0 else 0.0,
                throttle,
                self.threshold,
                1,
            ),
        )
        before, self.last_round = self.last_round, live_round
        round_fresh = self._round_fresh
        if window is not None:
            self._count_window_round(round_link_bps, duration, wire, pending_bytes)
            if self._recent is not None and self.auto_converge is None:
                self._note_for_cycles(live_round, window)
        fresh, self._last_round_fresh = self._last_round_fresh, round_fresh
        if (
            before is not None
            and rate_bps == self._round_rate_bps
            and (window is None or (fresh and round_fresh))
            and memory.saturated()
            and _same_round(before, live_round)
        ):
            self.steady_syncs += 1
        else:
            self.steady_syncs = 0
        return live_round

    # --- steady state: rounds that repeat exactly -----------------------------------------

    def repeat_steady_rounds(self) -> list[Round]:
        """Call after ``decide`` said go on, on a link whose rate stays constant. When the last
        two syncs left memory saturated (``FluidMemory.saturated``: nothing depends on history
        any more) and repeated the same round, every following round is that round again
        until something the rules count changes: the completion deadline, the policy's round
        or volume limit, its threshold (a downtime ramp's next step). Those rounds are
        returned, and the state advanced past them, without sending page by page; the last
        rounds before any such change are left to be simulated one by one.
        """
        last = self.last_round
        if self.steady_syncs < 2 or self.auto_converge is not None or last is None:
            return []
        if (
            self._round_rate_bps != self._last_round_rate_bps
            or self.threshold != last.threshold_bytes
        ):
            return []  # the policy just changed its rate or threshold: not the same round
        window = self.window
        if window is not None and not self._round_fresh:
            return []  # QEMU's thread is not at the start of a window, as the last round was
        return self._repeat_cycle([last])

    # --- a cycle of rounds: QEMU's window lands at the same point every few rounds -----------

    CYCLE_MAX_ROUNDS = 4096  # the longest cycle looked for

    def _note_for_cycles(self, live_round: Round, window: RateWindow) -> None:
        """Keep the round and where its sync left things: the thread's point in its window (to
        the nanosecond and the byte), its threshold, the policy's rate and what is pending. A
        saturated sync whose key was seen at a saturated sync ``k`` rounds ago may close a
        cycle of ``k`` rounds (``repeat_cycle_rounds`` checks the rounds themselves)."""
        saturated = self.memory.saturated()
        key = (
            self._round_rate_bps,
            window.threshold,
            round(window.elapsed_s * 1e9),
            round(window.bytes),
            round(window.iter_elapsed_s * 1e9),
            window.sleeping,
            live_round.pending_after_bytes,
        )
        self._recent.append((live_round, key, saturated))
        if not saturated:
            return
        seen, now = self._seen_at, self.state.live_rounds
        before = seen.get(key)
        if before is not None and now - before <= self.CYCLE_MAX_ROUNDS:
            self._cycle_rounds = now - before
        if len(seen) >= 4 * self.CYCLE_MAX_ROUNDS:
            seen.clear()  # (keys of long ago)
        seen[key] = now

    def repeat_cycle_rounds(self) -> list[Round]:
        """Call after ``decide`` said go on, on a link whose rate stays constant. Under QEMU's
        thread a round need not start a window: a working set that keeps pending above the
        threshold, at a cap, gives rounds of 7.5 windows that end half-way through one, and the
        next round starts there (0.751 s, 0.749 s, 0.751 s, ...); a page that takes 10.02
        windows gives rounds alike whose end drifts through the window, back where it was 256
        rounds later. When the last ``k`` rounds (up to ``CYCLE_MAX_ROUNDS``) repeat the ``k``
        before them and both syncs ``k`` rounds apart left memory saturated (nothing depends on
        history but the cursor: ``FluidMemory.saturated``) with the thread at the same point of
        its window and the policy's rate and threshold unchanged, every following cycle is that
        cycle again until something the rules count changes (as ``repeat_steady_rounds``, of
        which this is the cycle of ``k`` rounds). The cycles are added by arithmetic; more
        rounds than ``SUMMARISE_ABOVE_ROUNDS`` are returned as one round alike in time, bytes
        and pages (the cycle's mean) with ``repeat``. Without this such guests ran the
        ceiling's year of rounds one by one: tens of millions of rounds, 24 GB."""
        k, recent = self._cycle_rounds, self._recent
        if self.auto_converge is not None or not k or recent is None or len(recent) < 2 * k:
            return []
        last = recent[-1]
        if not last[2] or self._round_rate_bps != last[1][0] or self.threshold != last[1][1]:
            return []  # not saturated now, or the policy just changed its rate or threshold
        start = recent[-1 - k]
        if not (start[2] and start[1] == last[1]) or not all(
            _same_round(recent[-j - k][0], recent[-j][0]) for j in range(1, k + 1)
        ):
            self._cycle_rounds = 0  # not a cycle after all: wait for the next one to show
            return []
        return self._repeat_cycle([recent[-j][0] for j in range(k, 0, -1)])

    def _repeat_cycle(self, cycle: list[Round]) -> list[Round]:
        """Repeat ``cycle`` (the last rounds, in order: one for the steady state) by arithmetic
        as many whole times as fit before the next thing the rules count (the completion
        deadline, the policy's round or volume limit, a downtime ramp's next step, the ceiling),
        keeping the last to be simulated; advance the state past them. Up to
        ``SUMMARISE_ABOVE_ROUNDS`` rounds are returned as the cycle gave them, more as one round
        (the cycle's mean duration, bytes, pages and dirty bytes) with ``repeat``."""
        k = len(cycle)
        offsets, duration = [], 0.0  # each round's start within the cycle, the cycle's length
        for r in cycle:
            offsets.append(duration)
            duration += r.duration_s
        wire = sum(r.bytes for r in cycle)
        pages = sum(r.pages for r in cycle)
        if not duration > 0.0:
            return []
        state, spec = self.state, self.spec
        until_s = min(self.horizon_s, self.policy.threshold_fixed_until_s(state.now_s))
        room = min(float(MAX_REPEATED_ROUNDS // k), (until_s - state.now_s) // duration - 1)
        if spec.max_rounds is not None:
            room = min(room, (spec.max_rounds - state.live_rounds) // k - 1)
        if spec.max_volume is not None and wire > 0.0:
            room = min(
                room, (spec.max_volume * spec.memory_bytes - state.live_wire_bytes) // wire - 1
            )
        if room < 1:
            return []
        room = int(room)
        first_index, first_start = state.live_rounds, self.round_start_s - self.started_s
        last = cycle[-1]
        if room * k > SUMMARISE_ABOVE_ROUNDS:
            mean = (duration / k, wire / k, pages / k, sum(r.dirty_bytes for r in cycle) / k)
            rounds = [
                _new_round(Round, (first_index, "live", first_start, *mean, *last[7:11], room * k))
            ]
        else:
            rounds = [
                _new_round(
                    Round,
                    (
                        first_index + j * k + i,
                        "live",
                        first_start + j * duration + offsets[i],
                        *r[3:11],
                        1,
                    ),
                )
                for j in range(room)
                for i, r in enumerate(cycle)
            ]
        self.memory.repeat_saturated_rounds(room, pages, duration, 1.0 - self.throttle)
        state.now_s += room * duration
        self.last_sync_s = state.now_s
        state.previous_pending_bytes = state.pending_bytes
        state.live_rounds += room * k
        state.live_wire_bytes += room * wire
        self.last_round = _new_round(  # the last of them, alone
            Round,
            (
                state.live_rounds - 1,
                "live",
                first_start + (room - 1) * duration + offsets[-1],
                *last[3:11],
                1,
            ),
        )
        self.steady_syncs = 0
        return rounds

    # --- a guest that can never converge, proven (``nonconvergence.py``) --------------------

    PROVE_NEVER_CONVERGES = True  # False: simulate to the ceiling (what the proof must match)
    NEVER_CONVERGES_FIRST_CHECK = 64  # live rounds before the first attempt, then 4x as many

    def never_converges(self, max_link_bps: float) -> Stop | None:
        """At a sync that goes on: a stop when it is proven that no later sync converges
        (``nonconvergence.pending_floor_pages``) and nothing but convergence could end
        pre-copy before the ceiling on simulated time (QEMU's own check alone: no operator's
        timeout before it, no round or volume limit, no auto-converge throttle, no
        post-copy). Its outcome, aborted at the ceiling, is then certain, so it is decided
        now. ``max_link_bps``: the fastest the link will be. Call it at a sync once
        ``next_proof_round`` live rounds are done: it moves that on to 4x as many."""
        self.next_proof_round *= 4
        spec, memory = self.spec, self.memory
        if (
            self.policy.name != "qemu"
            or self.window is None
            or self.auto_converge is not None
            or spec.post_copy
            or self.policy.limited
            or not self.horizon_s < self.deadline_s
            or not hasattr(memory, "written_within")
            or self.state.live_rounds < 1
        ):
            return None
        cap_bps = spec.max_bandwidth_bps
        measured_bps = most_measured_bps(max_link_bps, cap_bps)
        threshold_bytes = float(qemu_threshold_bytes(measured_bps, spec.downtime_limit_s)) + 1.0
        floor = pending_floor_pages(
            memory.pending,
            threshold_bytes,
            self._writer_cost,
            lambda wire_bytes: send_floor_s(wire_bytes, max_link_bps, cap_bps),
            memory.written_within,
        )
        if floor is None:
            return None
        state = self.state
        return never_converges_stop(
            spec,
            floor * PAGE_SIZE_BYTES,
            threshold_bytes,
            measured_bps,
            state.live_rounds,
            state.now_s - self.started_s,
        )

    # --- the window regime: one full window a round, never converging ----------------------

    WINDOW_STREAK = 12  # rounds in a row that show the regime before it is extrapolated
    WINDOW_REGIME_MIN_ROUNDS = 500  # windows left to the horizon worth extrapolating

    def _count_window_round(
        self, link_bps: float, duration: float, wire: float, pending_bytes: float
    ) -> None:
        if not self._round_fresh:
            self.window_streak = 0
            return
        full_bytes, full_s = self.window.full_window(link_bps) if link_bps > 0 else (0.0, 0.0)
        if (
            abs(duration - full_s) <= 1e-9 * full_s
            and abs(wire - full_bytes) <= 1e-9 * full_bytes
            and pending_bytes >= self.threshold
        ):
            self.window_streak += 1
        else:
            self.window_streak = 0

    def repeat_window_rounds(self, link_bps: float) -> list[Round]:
        """Call after ``decide`` said go on, on a constant link. QEMU's thread in a regime where
        every round is one full window (the budget goes out, the check at the window's end
        syncs) and a working set rewritten whole within every window keeps pending at or above
        the threshold: the migration cannot converge, every window sends the same bytes in the
        same time, and the rounds repeat up to the rotating cursor until the horizon. When the
        operator's action there is to abort (or the horizon is the ceiling), nothing of the
        memory's state at the end is needed: the windows up to the horizon are added by
        arithmetic, as rounds alike in time and bytes (the cursor's position changes their
        pending by a few per cent, which no reported figure depends on), once a bound on the
        other pending pages shows that every window's check syncs. The round cut by the
        horizon is simulated."""
        spec, state, window = self.spec, self.state, self.window
        last = self.last_round
        if (
            window is None
            or self.window_streak < self.WINDOW_STREAK
            or last is None
            or self.auto_converge is not None
            or self.policy.limited
            or self.policy.name != "qemu"  # gce also stops on pending's shape
            or not window.fresh
            or self.threshold != last.threshold_bytes
            or (self.horizon_s == self.deadline_s and spec.timeout_action != "abort")
            or self.policy.threshold_fixed_until_s(state.now_s) < self.horizon_s
            or not hasattr(self.memory, "rewritten_within")
        ):
            return []
        full_bytes, full_s = window.full_window(link_bps)
        ring, ring_wire, others = self.memory.rewritten_within(full_s, 1.0 - self.throttle)
        if ring * PAGE_SIZE_BYTES < self.threshold or ring_wire < full_bytes:
            return []  # not certain: the rewritten sets alone do not keep pending up
        # Every window's check syncs while the pages pending besides the rewritten sets (Q)
        # stay under margin = threshold + a window's pages - the sets. The cursor meets every
        # pending page once a lap, and a lap is at most (sets + Q) / (pages a window) + 1
        # windows, so Q never exceeds (Q now + others x (sets / b + 2)) / (1 - others / b),
        # ``others`` being what the other writers can add in a window.
        per_window = full_bytes / max(r.wire_cost_bytes for r in self.memory.ws_regions.values())
        margin = self.threshold / PAGE_SIZE_BYTES + per_window - ring
        q_now = self.memory.pending - ring
        if others >= per_window or q_now < -1e-6:
            return []
        q_max = (q_now + others * (ring / per_window + 2)) / (1 - others / per_window)
        if not q_max < 0.9 * margin:
            return []  # not certain that every window ends with a sync
        room = int(min(float(MAX_REPEATED_ROUNDS), (self.horizon_s - state.now_s) // full_s - 1))
        if room < self.WINDOW_REGIME_MIN_ROUNDS:
            return []  # short stretches are simulated: a round more or less there is > 1 %
        first_index, first_start = state.live_rounds, state.now_s - self.started_s
        fields = (full_s, full_bytes, full_bytes / last.bytes * last.pages, *last[6:11])
        if room > SUMMARISE_ABOVE_ROUNDS:
            rounds = [_new_round(Round, (first_index, "live", first_start, *fields, room))]
        else:
            p, dirty, pending, rate, throttle, threshold = fields[2:]  # read once
            rounds = [
                _new_round(
                    Round,
                    (
                        first_index + j,
                        "live",
                        first_start + j * full_s,
                        full_s,
                        full_bytes,
                        p,
                        dirty,
                        pending,
                        rate,
                        throttle,
                        threshold,
                        1,
                    ),
                )
                for j in range(room)
            ]
        state.now_s += room * full_s
        self.last_sync_s = state.now_s
        state.live_rounds += room
        state.live_wire_bytes += room * full_bytes
        self.last_round = _new_round(  # the last of them, alone
            Round,
            (state.live_rounds - 1, "live", first_start + (room - 1) * full_s, *fields, 1),
        )
        self.window_streak = 0
        return rounds

    # --- QEMU's fresh windows in a tight loop ----------------------------------------------

    def run_fresh_window_rounds(
        self, link_bps: float, most_rounds: float = math.inf
    ) -> Iterator[Round]:
        """Call after ``decide`` said go on, on a constant link, instead of ``run_round`` and
        ``end_round``. While QEMU's thread starts each round with a fresh window whose budget
        one iteration spends (a capped migration once its first pass is over), each round is
        the closed form of ``RateWindow.run`` (checks at window ends), one send, one sync and
        the policy's check: the same operations as the plain path, in the same order, without
        its calls and generator steps. A fluid memory's send and sync are its own (``send``
        and ``dirty``; one call, ``collapsed_send_and_sync``, once it is one collapsed random
        writer, see ``FluidMemory._collapse``: a converging cache's pending creeps towards its
        fixed point for a hundred rounds this way). The loop stops before anything else could
        happen (a pass that may run dry, the deadline, a stop, a ramp step, the steady state or
        the window regime), or after ``most_rounds``, and leaves the rest to the plain path.
        Yields each round as it is done (a stream looks at memory between rounds); returns how
        many."""
        memory, window, state = self.memory, self.window, self.state
        if (
            window is None
            or self.auto_converge is not None
            or state.live_rounds == 0
            or (self.spec.post_copy and self.aids)
            or self.steady_syncs >= 2
            or self.window_streak >= self.WINDOW_STREAK
            or not window.fresh
            or not window.budget_bytes <= QEMU_MAX_WAIT_S * link_bps
            # a round as long as the last would cross the horizon: the loop would stop at once
            or state.now_s + self.last_round.duration_s > self.horizon_s
        ):
            return 0
        policy = self.policy
        same_rate = policy.rate_from_link_alone  # the rate decide gave holds every round
        send, dirty, wire_bytes_for = memory.send, memory.dirty, memory.wire_bytes_for
        wire_bytes_for_both = memory.wire_bytes_for_both
        send_and_sync, saturated = memory.collapsed_send_and_sync, memory.saturated
        steady = window.steady_threshold(link_bps, state.now_s)
        steady_until_s = window._steady[1]
        budget, w = window.budget_bytes, window.sleep_until_s  # a window that ends asleep
        horizon_s, deadline_s, started_s = self.horizon_s, self.deadline_s, self.started_s
        horizon_near_s, deadline_near_s = horizon_s - _TIME_EPS, deadline_s - _TIME_EPS
        # module names bound locally (a hot loop)
        ceil, pages_below, to_millionths, new_round = (
            math.ceil,
            _pages_below,
            _to_millionths,
            _new_round,
        )
        page_bytes = PAGE_SIZE_BYTES
        full_bytes, full_s = window.full_window(link_bps)
        full_bytes_tol, full_s_tol = 1e-9 * full_bytes, 1e-9 * full_s
        throttle = self.throttle
        write_scale = 1.0 - throttle
        streak_limit = self.WINDOW_STREAK
        rate_bps = self._round_rate_bps  # the policy's rate this round (decide just said)
        last_rate_bps = self._last_round_rate_bps
        last_fresh = self._last_round_fresh
        last_sync_s, round_start_s = self.last_sync_s, self.round_start_s
        before, streak, steady_syncs = self.last_round, self.window_streak, self.steady_syncs
        collapsed, cost = False, 0.0  # see FluidMemory._collapse
        done = 0
        try:
            while True:
                # RateWindow.run's closed form: a check at the end of window k
                now_s = state.now_s
                if now_s >= steady_until_s:  # the downtime limit may have stepped
                    steady = window.steady_threshold(link_bps, now_s)
                    steady_until_s = window._steady[1]
                pending = memory.pending
                pages = pages_below(pending, steady)  # self._need(steady)
                if not collapsed and memory._collapsed:  # (a collapsed memory stays so)
                    collapsed, cost = True, memory._cost  # every pending page's wire cost
                if collapsed:  # wire_bytes_for, worked out inline
                    dry = pending * cost
                    target = (pages if pages < pending else pending) * cost if pages > 0 else 0.0
                elif pages > 0:
                    target, dry = wire_bytes_for_both(pages, pending)
                else:
                    target, dry = 0.0, wire_bytes_for(pending)
                if dry < target:
                    target = dry
                k = ceil(target / budget - 1e-9)
                if k < 1:
                    k = 1.0
                if not k < ceil(dry / budget - 1e-9):
                    break  # the pass may run dry: the plain path
                end = k * w
                if not (end <= horizon_s - now_s and end <= steady_until_s - now_s):
                    break
                window.threshold = threshold = steady
                # the send, then end_round's sync and bookkeeping, for this case
                now_s = state.now_s = now_s + end
                interval = now_s - last_sync_s
                wire = k * budget
                if dry < wire:
                    wire = dry
                if collapsed:
                    pages, wire, estimate, newly = send_and_sync(wire, interval, write_scale)
                else:
                    pages, wire = send(wire)
                    estimate = memory.pending
                    newly = dirty(interval, write_scale)
                state.estimate_bytes = estimate * page_bytes
                dirty_bytes = newly * page_bytes
                last_sync_s = now_s
                duration = now_s - round_start_s
                state.previous_pending_bytes = state.pending_bytes
                pending_bytes = state.pending_bytes = to_millionths(memory.pending) * page_bytes
                index = state.live_rounds
                state.live_rounds = index + 1
                state.live_wire_bytes += wire
                state.last_round_dirty_rate_bps = dirty_bytes / interval if interval > 0 else 0.0
                live_round = new_round(
                    Round,
                    (
                        index,
                        "live",
                        round_start_s - started_s,
                        duration,
                        wire,
                        pages,
                        dirty_bytes,
                        pending_bytes,
                        wire / duration if duration > 0 else 0.0,
                        throttle,
                        threshold,
                        1,
                    ),
                )
                # _count_window_round (this round began a fresh window)
                if (
                    -full_s_tol <= duration - full_s <= full_s_tol
                    and -full_bytes_tol <= wire - full_bytes <= full_bytes_tol
                    and pending_bytes >= threshold
                ):
                    streak += 1
                else:
                    streak = 0
                # the steady-state count, as end_round keeps it
                if (
                    before is not None
                    and abs(before[7] - pending_bytes) <= _STEADY_REL * abs(before[7])
                    and last_fresh
                    and last_rate_bps == rate_bps
                    and saturated()
                    and _same_round(before, live_round)
                ):
                    steady_syncs += 1
                else:
                    steady_syncs = 0
                before, last_rate_bps, last_fresh = live_round, rate_bps, True
                done += 1
                yield live_round
                # decide, when it certainly says go on (else it is left to the plain path)
                if (
                    steady_syncs >= 2
                    or streak >= streak_limit
                    or done >= most_rounds
                    or now_s >= horizon_near_s
                    or now_s >= deadline_near_s
                    or policy.check(state, threshold) is not None
                ):
                    break
                if not same_rate:
                    rate_bps = policy.live_rate_bps(state, link_bps)
                round_start_s = now_s
        finally:
            if done:  # as end_round left them (decide comes next)
                self.threshold = before.threshold_bytes
                self.last_sync_s = last_sync_s
                self.round_start_s = round_start_s
                self.last_round = before
                self._round_link_bps = math.nan
                self._round_rate_bps, self._last_round_rate_bps = rate_bps, last_rate_bps
                self._round_fresh = self._last_round_fresh = True
                self.window_streak, self.steady_syncs = streak, steady_syncs
                self.round_wire = self.round_pages = 0.0
        return done

    def rounds(self, link: LinkRate) -> Iterator[Round]:
        """Every live round over a link whose rate changes are known in advance (cut into
        pieces of constant rate); ``result`` holds the outcome once they are done."""
        constant = len(link.points) == 1
        link_bps = link.points[0][1]
        max_link_bps = max(rate for _, rate in link.points)
        one_by_one = 0  # rounds simulated here, not added by arithmetic (``MAX_LIVE_ROUNDS``)
        most_one_by_one = (
            MAX_LIVE_ROUNDS
            if self.deadline_s <= self.horizon_s
            else MAX_LIVE_ROUNDS_WITHOUT_DEADLINE
        )
        if self.window is not None:  # cycles of rounds are looked for (``repeat_cycle_rounds``)
            self._recent = deque(maxlen=2 * self.CYCLE_MAX_ROUNDS)
        # a fluid memory under QEMU's thread: its fresh windows in a tight loop
        loop = (
            constant and self.window is not None and hasattr(self.memory, "collapsed_send_and_sync")
        )
        while True:
            if not constant:
                link_bps = link.rate_at(self.state.now_s)
            stop = self.decide(link_bps)
            if stop is None and self.state.live_rounds >= self.next_proof_round:
                stop = self.never_converges(max_link_bps)
            if stop is None and one_by_one >= most_one_by_one:
                stop = round_ceiling_stop(one_by_one, self.state.now_s - self.started_s)
            if stop is not None:
                self.result = self.outcome(stop)
                return
            if self.steady_syncs >= 2 and (
                constant or link.next_change_after(self.state.now_s) == math.inf
            ):
                repeated = self.repeat_steady_rounds()
                if repeated:
                    yield from repeated
                    continue
            if self.window_streak >= self.WINDOW_STREAK and constant and not self.paced(link_bps):
                repeated = self.repeat_window_rounds(link_bps)
                if repeated:
                    yield from repeated
                    continue
            if constant and self._cycle_rounds and not self.paced(link_bps):
                repeated = self.repeat_cycle_rounds()
                if repeated:
                    yield from repeated
                    continue
            if constant:
                if loop and not self.paced(link_bps):
                    # (the loop stops for the ceiling and for the proof's next attempt)
                    most = min(
                        most_one_by_one - one_by_one,
                        max(1, self.next_proof_round - self.state.live_rounds),
                    )
                    done = yield from self.run_fresh_window_rounds(link_bps, most)
                    if done:
                        one_by_one += done
                        continue
                self.run_round(link_bps)
            else:
                while True:  # pieces of constant link rate
                    link_bps = link.rate_at(self.state.now_s)
                    remaining = self.time_to_round_end(link_bps)
                    piece = min(
                        remaining, link.next_change_after(self.state.now_s) - self.state.now_s
                    )
                    self.send_for(piece, link_bps)
                    if piece >= remaining - _TIME_EPS:
                        break
            one_by_one += 1
            yield self.end_round()

    def outcome(self, stop: Stop) -> PrecopyOutcome:
        state = self.state
        return PrecopyOutcome(
            stop,
            state.now_s - self.started_s,
            state.live_rounds,
            state.live_wire_bytes,
            self.throttle,
            self.throttle_max,
            self.threshold,
        )
