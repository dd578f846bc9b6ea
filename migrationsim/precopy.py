"""The pre-migration brownout: pre-copy rounds until the policy says stop.

``precopy`` is a generator: it yields each live ``Round`` as soon as it is computed (so a web
worker can stream them) and returns a ``PrecopyOutcome``. The link rate may change while a round
runs (other migrations start and stop on shared links): pass a ``LinkRate`` with the changes and
the round is cut into constant-rate pieces, each sending what that rate allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generator, NamedTuple, Sequence

from .policies import (FULL_PASS, QEMU_RATE_WINDOW_S, AutoConverge, PrecopyState, Stop,
                       make_policy, postcopy_switch_stop, timeout_stop)
from .units import PAGE_SIZE_BYTES

_TIME_EPS = 1e-9

# QEMU re-estimates pending once per 100 ms rate-limit window, at a point of the window the
# model cannot know; it takes the mean: the window that crosses the threshold goes on for half
# a window's bytes before the bitmap is synced.
WINDOW_OVERSHOOT = 0.5


class LinkRate:
    """The migration link's rate over time: ``base_bps`` until the first change, then each
    ``(t_s, bps)`` change in order (t relative to the start of pre-copy)."""

    def __init__(self, base_bps: float, changes: Sequence[tuple[float, float]] = ()):
        self.points = [(0.0, float(base_bps))] + sorted((float(t), float(r)) for t, r in changes)
        for t, r in self.points:
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

    def to_dict(self) -> dict:
        return self._asdict()


@dataclass(frozen=True)
class PrecopyOutcome:
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

    def __init__(self, spec, memory, start_s: float = 0.0):
        self.spec = spec
        self.memory = memory
        self.policy = make_policy(spec)
        self.full_pass = self.policy.mechanics == FULL_PASS
        self.state = PrecopyState(memory_bytes=spec.memory_bytes,
                                  pending_bytes=memory.pending * PAGE_SIZE_BYTES, now_s=start_s)
        self.started_s = start_s
        self.aids = self.policy.supports_aids
        self.auto_converge = AutoConverge() if (spec.auto_converge and self.aids) else None
        self.throttle = self.throttle_max = 0.0
        self.deadline_s = start_s + spec.completion_timeout_s if self.policy.operator_timeout else math.inf
        self.last_sync_s = start_s
        self.threshold = 0.0
        self.round_start_s = start_s
        self.round_wire = self.round_pages = 0.0

    @property
    def now_s(self) -> float:
        return self.state.now_s

    def rate_bps(self, link_bps: float) -> float:
        """What this migration sends at when the network offers ``link_bps``."""
        return self.policy.live_rate_bps(self.state, link_bps)

    def decide(self, link_bps: float) -> Stop | None:
        """At a round boundary: why pre-copy stops now, or None to start another round."""
        state, spec = self.state, self.spec
        self.threshold = self.policy.threshold_bytes(state, self.rate_bps(link_bps))
        stop = self.policy.check(state, self.threshold)
        if stop is None and state.now_s >= self.deadline_s - _TIME_EPS:
            stop = timeout_stop(spec, state)
        if stop is None and spec.post_copy and self.aids and state.live_rounds >= 1:
            stop = postcopy_switch_stop(state)
        self.round_start_s = state.now_s
        self.round_wire = self.round_pages = 0.0
        return stop

    def time_to_round_end(self, link_bps: float) -> float:
        """Seconds until the current round's sync if the rate stays ``link_bps``."""
        memory = self.memory
        rate = self.rate_bps(link_bps)
        if self.full_pass:  # everything that was dirty when the round began
            remaining = memory.wire_bytes_for(memory.pending) / rate
        else:  # until pending drops below the threshold, plus the window's overshoot
            self.threshold = self.policy.threshold_bytes(self.state, rate)
            pages_needed = math.floor(memory.pending - self.threshold / PAGE_SIZE_BYTES) + 1
            if pages_needed <= 0:
                return 0.0
            remaining = memory.wire_bytes_for(pages_needed) / rate + QEMU_RATE_WINDOW_S * WINDOW_OVERSHOOT
        return max(0.0, min(remaining, self.deadline_s - self.state.now_s))

    def send_for(self, seconds: float, link_bps: float) -> None:
        pages, wire = self.memory.send(self.rate_bps(link_bps) * seconds)
        self.round_pages += pages
        self.round_wire += wire
        self.state.now_s += seconds

    def end_round(self) -> Round:
        """The bitmap sync that ends a round: what the guest dirtied joins the pending set."""
        state, memory = self.state, self.memory
        interval = state.now_s - self.last_sync_s
        dirty_bytes = memory.dirty(interval, 1.0 - self.throttle) * PAGE_SIZE_BYTES
        self.last_sync_s = state.now_s
        duration = state.now_s - self.round_start_s
        state.previous_pending_bytes = state.pending_bytes
        state.pending_bytes = memory.pending * PAGE_SIZE_BYTES
        state.live_rounds += 1
        state.live_wire_bytes += self.round_wire
        state.last_round_dirty_rate_bps = dirty_bytes / interval if interval > 0 else 0.0
        round_throttle = self.throttle
        if self.auto_converge is not None:
            self.throttle = self.auto_converge.on_sync(state.now_s, dirty_bytes, self.round_wire)
            self.throttle_max = max(self.throttle_max, self.throttle)
        return Round(state.live_rounds - 1, "live", self.round_start_s - self.started_s, duration,
                     self.round_wire, self.round_pages, dirty_bytes, state.pending_bytes,
                     self.round_wire / duration if duration > 0 else 0.0, round_throttle,
                     self.threshold)

    def outcome(self, stop: Stop) -> PrecopyOutcome:
        state = self.state
        return PrecopyOutcome(stop, state.now_s - self.started_s, state.live_rounds,
                              state.live_wire_bytes, self.throttle, self.throttle_max, self.threshold)


def precopy(spec, memory, link: LinkRate | None = None) -> Generator[Round, None, PrecopyOutcome]:
    """Drive ``Precopy`` over a link whose changes are known in advance; yields each round."""
    link = link or LinkRate(spec.bandwidth_bps)
    run = Precopy(spec, memory)
    while True:
        stop = run.decide(link.rate_at(run.now_s))
        if stop is not None:
            return run.outcome(stop)
        while True:  # pieces of constant link rate
            link_bps = link.rate_at(run.now_s)
            remaining = run.time_to_round_end(link_bps)
            piece = min(remaining, link.next_change_after(run.now_s) - run.now_s)
            run.send_for(piece, link_bps)
            if piece >= remaining - _TIME_EPS:
                break
        yield run.end_round()
