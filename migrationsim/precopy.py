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


def precopy(spec, memory, link: LinkRate | None = None) -> Generator[Round, None, PrecopyOutcome]:
    link = link or LinkRate(spec.bandwidth_bps)
    policy = make_policy(spec)
    full_pass = policy.mechanics == FULL_PASS
    state = PrecopyState(memory_bytes=spec.memory_bytes,
                         pending_bytes=memory.pending * PAGE_SIZE_BYTES)
    aids = policy.supports_aids
    auto_converge = AutoConverge() if (spec.auto_converge and aids) else None
    throttle = throttle_max = 0.0
    deadline_s = spec.completion_timeout_s if policy.operator_timeout else math.inf
    last_sync_s = 0.0

    while True:
        # --- decide: stop now, or one more round? ----------------------------------------
        rate = policy.live_rate_bps(state, link.rate_at(state.now_s))
        threshold = policy.threshold_bytes(state, rate)
        stop = policy.check(state, threshold)
        if stop is None and state.now_s >= deadline_s - _TIME_EPS:
            stop = timeout_stop(spec, state)
        if stop is None and spec.post_copy and aids and state.live_rounds >= 1:
            stop = postcopy_switch_stop(state)
        if stop is not None:
            return PrecopyOutcome(stop, state.now_s, state.live_rounds, state.live_wire_bytes,
                                  throttle, throttle_max, threshold)

        # --- one round, in pieces of constant link rate ------------------------------------
        start_s = state.now_s
        round_wire = round_pages = 0.0
        while True:
            if full_pass:  # everything that was dirty when the round began
                remaining_s = memory.wire_bytes_for(memory.pending) / rate
            else:  # until pending drops below the threshold, plus the window's overshoot
                pages_needed = math.floor(memory.pending - threshold / PAGE_SIZE_BYTES) + 1
                if pages_needed <= 0:
                    break
                wire_needed = memory.wire_bytes_for(pages_needed)
                remaining_s = (wire_needed / rate) + QEMU_RATE_WINDOW_S * WINDOW_OVERSHOOT
            planned_end = state.now_s + remaining_s
            piece_end = min(planned_end, link.next_change_after(state.now_s), deadline_s)
            pages, wire = memory.send(rate * (piece_end - state.now_s))
            round_pages += pages
            round_wire += wire
            state.now_s = piece_end
            if piece_end >= planned_end - _TIME_EPS or piece_end >= deadline_s - _TIME_EPS \
                    or memory.pending <= 0:
                break
            rate = policy.live_rate_bps(state, link.rate_at(state.now_s))  # the link changed
            threshold = policy.threshold_bytes(state, rate)

        # --- the bitmap sync that ends the round -------------------------------------------
        interval = state.now_s - last_sync_s
        dirty_bytes = memory.dirty(interval, 1.0 - throttle) * PAGE_SIZE_BYTES
        last_sync_s = state.now_s
        duration = state.now_s - start_s
        state.previous_pending_bytes = state.pending_bytes
        state.pending_bytes = memory.pending * PAGE_SIZE_BYTES
        state.live_rounds += 1
        state.live_wire_bytes += round_wire
        state.last_round_dirty_rate_bps = dirty_bytes / interval if interval > 0 else 0.0
        round_throttle = throttle
        if auto_converge is not None:
            throttle = auto_converge.on_sync(state.now_s, dirty_bytes, round_wire)
            throttle_max = max(throttle_max, throttle)
        yield Round(state.live_rounds - 1, "live", start_s, duration, round_wire, round_pages,
                    dirty_bytes, state.pending_bytes,
                    round_wire / duration if duration > 0 else rate, round_throttle, threshold)
