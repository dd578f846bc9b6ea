"""Pre-copy policies: how fast live rounds go and the rule that ends them.

Each policy answers three questions at every decision point (before round 0 and after each
bitmap sync): what rate may the next round use, what pending amount counts as small enough (the
threshold), and should pre-copy stop now, and why. Two kinds of round mechanics exist:

- ``full_pass`` (textbook, xen): a round sends everything that was dirty when it began;
- ``sync_below_threshold`` (qemu, gce): QEMU sends in 100 ms rate-limit windows, compares its
  pending estimate with the threshold after every iteration and re-syncs the dirty bitmap only
  when the estimate is below it (``ratelimit.py`` has the thread's schedule), so a round ends
  with the remainder just under the threshold, and near the end every window is a round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from .ratelimit import QEMU_RATE_WINDOW_S  # noqa: F401  (BUFFER_DELAY, re-exported)
from .units import PAGE_SIZE_BYTES, format_bytes, format_duration

FULL_PASS = "full_pass"
SYNC_BELOW_THRESHOLD = "sync_below_threshold"

XEN_START_RATE_BPS = 100e6 / 8  # libxc: first round at 100 Mbit/s
XEN_RATE_HEADROOM_BPS = 50e6 / 8  # each round: dirty rate + 50 Mbit/s ...
XEN_MAX_RATE_BPS = 500e6 / 8  # ... at most 500 Mbit/s
XEN_FEW_PAGES = 50  # stop when fewer than 50 pages remain


def qemu_threshold_bytes(bandwidth_bps: float, downtime_limit_s: float) -> int:
    """QEMU's switch-over threshold: measured bandwidth x downtime limit, in whole bytes
    (``threshold_size`` is a uint64). The product is taken to a millionth of a millionth: a
    bandwidth measured from float sums must not lose a byte where the exact product is whole
    (10 GbE x 300 ms is 375,000,000 B, not 374,999,999)."""
    product = bandwidth_bps * downtime_limit_s
    return int(product + product * 1e-12)


@dataclass(slots=True)
class PrecopyState:
    """What a policy may look at when it decides."""

    memory_bytes: float
    pending_bytes: float
    now_s: float = 0.0
    live_rounds: int = 0
    live_wire_bytes: float = 0.0
    previous_pending_bytes: float | None = None  # at the sync before the last one
    estimate_bytes: float = math.inf  # QEMU's pending estimate at the check, before the sync
    last_round_dirty_rate_bps: float = 0.0


class Stop(NamedTuple):
    """Why pre-copy ended and what happens next."""

    reason: str  # a stable code, e.g. "threshold_reached"
    converged: bool
    message: str  # a sentence a person can read
    action: str = "stop_and_copy"  # stop_and_copy | abort | post_copy


class Policy:
    name = ""
    mechanics = FULL_PASS
    supports_aids = False  # auto-converge and post-copy
    rate_from_link_alone = True  # live_rate_bps reads the link rate and the spec, not the state
    operator_timeout = False  # the operator layer's completion timeout (qemu never gives up)

    def __init__(self, spec):
        self.spec = spec
        self.limited = spec.max_rounds is not None or spec.max_volume is not None
        self.ramped = spec.downtime_ramp_steps > 0  # qemu's downtime limit steps up (Nova's ramp)

    def live_rate_bps(self, state: PrecopyState, link_bps: float) -> float:
        cap = self.spec.max_bandwidth_bps
        return link_bps if cap is None or link_bps < cap else cap

    def threshold_bytes(self, state: PrecopyState, rate_bps: float) -> float:
        return rate_bps * self.spec.downtime_limit_s

    def threshold_fixed_until_s(self, now_s: float) -> float:
        """Until when the threshold stays what it is now, at a constant rate."""
        return math.inf

    def check(self, state: PrecopyState, threshold: float) -> Stop | None:
        return self._limits(state) if self.limited else None

    def _limits(self, state: PrecopyState) -> Stop | None:
        if not self.limited:
            return None
        spec = self.spec
        if spec.max_rounds is not None and state.live_rounds >= spec.max_rounds:
            return Stop(
                "max_rounds",
                False,
                f"Stopped after {state.live_rounds} live rounds, the policy's limit, with "
                f"{format_bytes(state.pending_bytes)} still dirty: the guest dirties memory "
                f"about as fast as it is sent.",
            )
        if (
            spec.max_volume is not None
            and state.live_wire_bytes > spec.max_volume * spec.memory_bytes
        ):
            return Stop(
                "max_volume",
                False,
                f"Stopped after sending {format_bytes(state.live_wire_bytes)}, more than "
                f"{spec.max_volume:g}x the memory, with {format_bytes(state.pending_bytes)} "
                f"still dirty.",
            )
        return None


class Textbook(Policy):
    """Liu HPDC'11 / Akoush MASCOTS'10 closed form: stop at the first V_n <= R x t_dl."""

    name = "textbook"

    def check(self, state, threshold):
        if state.pending_bytes <= threshold:
            return Stop(
                "threshold_reached",
                True,
                f"Pending {format_bytes(state.pending_bytes)} is at most the threshold "
                f"{format_bytes(threshold)} (rate x downtime limit): stop and copy.",
            )
        return self._limits(state)


class Qemu(Policy):
    """QEMU 8-9 (migration/migration.c, ram.c): threshold from measured bandwidth x downtime."""

    name = "qemu"
    mechanics = SYNC_BELOW_THRESHOLD
    supports_aids = True
    operator_timeout = True

    def downtime_limit_s(self, now_s: float) -> float:
        """The downtime limit in force: fixed, or Nova's ramp from limit/steps up to the limit."""
        spec = self.spec
        if not self.ramped:
            return spec.downtime_limit_s
        steps = spec.downtime_ramp_steps
        delay_s = spec.downtime_ramp_delay_s_per_gib * spec.memory_bytes / 1024**3
        step = steps if delay_s <= 0 else min(steps, int(now_s // delay_s))
        base = spec.downtime_limit_s / steps
        return base + (spec.downtime_limit_s - base) / steps * step

    def threshold_bytes(self, state, rate_bps):
        return self.threshold_at(rate_bps, state.now_s)

    def threshold_at(self, bandwidth_bps: float, now_s: float) -> float:
        """migration_update_counters: the bandwidth measured over the last window x the
        downtime limit in force now."""
        return float(qemu_threshold_bytes(bandwidth_bps, self.downtime_limit_s(now_s)))

    def threshold_fixed_until_s(self, now_s):
        if not self.ramped:
            return math.inf
        spec = self.spec
        steps = spec.downtime_ramp_steps
        delay_s = spec.downtime_ramp_delay_s_per_gib * spec.memory_bytes / 1024**3
        if delay_s <= 0 or now_s // delay_s >= steps:
            return math.inf
        return (now_s // delay_s + 1) * delay_s  # the ramp's next step

    def check(self, state, threshold):
        """migration_iteration_run: complete when the exact pending is below the threshold or
        nothing is pending; before the first measurement (threshold 0) the estimate is never
        below it, so QEMU completes only once a pass has left nothing pending (its final sync,
        in ram_save_complete, then picks up what the guest wrote meanwhile)."""
        if threshold == 0.0 and state.estimate_bytes == 0.0:
            return Stop(
                "threshold_reached",
                True,
                f"The pass left nothing pending before QEMU had measured its bandwidth "
                f"(threshold still 0): the VM pauses and the "
                f"{format_bytes(state.pending_bytes)} written meanwhile are copied "
                f"without the rate cap.",
            )
        if state.pending_bytes == 0.0:
            return Stop(
                "threshold_reached",
                True,
                "Nothing is pending after the last pass (the guest wrote nothing since): "
                "the VM pauses and only its device state is copied.",
            )
        if state.pending_bytes < threshold:
            return Stop(
                "threshold_reached",
                True,
                f"Pending {_below(state.pending_bytes, threshold)} (measured bandwidth x "
                f"downtime limit): the VM pauses and the rest is copied without the rate cap.",
            )
        return self._limits(state) if self.limited else None


class Gce(Qemu):
    """An assumption, labelled as such: Google enters blackout 'when sending state during
    pre-migration brownout reaches a point of diminishing returns'. Modelled as QEMU's threshold,
    or a round that fails to shrink pending by ``min_shrink``, or a round or volume cap."""

    name = "gce"

    def check(self, state, threshold):
        stop = super().check(state, threshold)
        if stop is not None:
            return stop
        before = state.previous_pending_bytes
        if before is not None and state.pending_bytes > (1.0 - self.spec.min_shrink) * before:
            return Stop(
                "diminishing_returns",
                False,
                f"The last round shrank pending only from {format_bytes(before)} to "
                f"{format_bytes(state.pending_bytes)} (less than "
                f"{self.spec.min_shrink:.0%}): more rounds would not pay, so blackout "
                f"starts now (GCE-style assumption).",
            )
        return None


class Xen(Policy):
    """Xen libxc save loop (Clark et al., NSDI'05)."""

    name = "xen"
    rate_from_link_alone = False  # adaptive: the last round's dirty rate

    def live_rate_bps(self, state, link_bps):
        cap = super().live_rate_bps(state, link_bps)
        if not self.spec.adaptive_rate:
            return cap
        if state.live_rounds == 0:
            return min(cap, XEN_START_RATE_BPS)
        return min(cap, state.last_round_dirty_rate_bps + XEN_RATE_HEADROOM_BPS, XEN_MAX_RATE_BPS)

    def threshold_bytes(self, state, rate_bps):
        return float(XEN_FEW_PAGES * PAGE_SIZE_BYTES)

    def check(self, state, threshold):
        if state.pending_bytes < threshold:
            return Stop(
                "few_pages", True, f"Fewer than {XEN_FEW_PAGES} pages remain dirty: stop and copy."
            )
        return self._limits(state)


POLICY_CLASSES = {cls.name: cls for cls in (Textbook, Qemu, Xen, Gce)}


def make_policy(spec) -> Policy:
    return POLICY_CLASSES[spec.policy](spec)


def timeout_stop(spec, state: PrecopyState) -> Stop:
    """The operator layer's completion timeout fired (QEMU itself never gives up)."""
    waited = format_duration(state.now_s)
    pending = format_bytes(state.pending_bytes)
    if spec.timeout_action == "abort":
        return Stop(
            "timeout_abort",
            False,
            f"No convergence within the completion timeout ({waited}); {pending} still "
            f"dirty. The migration is aborted and the VM keeps running on the source.",
            "abort",
        )
    if spec.timeout_action == "force-complete":
        return Stop(
            "timeout_force_complete",
            False,
            f"No convergence within the completion timeout ({waited}); the VM is paused "
            f"and the remaining {pending} copied: a long blackout.",
        )
    return Stop(
        "timeout_post_copy",
        False,
        f"No convergence within the completion timeout ({waited}); switching to "
        f"post-copy with {pending} still on the source.",
        "post_copy",
    )


def postcopy_switch_stop(state: PrecopyState) -> Stop:
    return Stop(
        "post_copy",
        False,
        f"First pass done and {format_bytes(state.pending_bytes)} still dirty: the VM "
        f"moves to the target now and the rest follows by post-copy.",
        "post_copy",
    )


def _below(pending: float, threshold: float) -> str:
    """'38.1 MiB fell below the threshold 38.4 MiB', in whole bytes where the rounded figures
    would read as equal."""
    said, limit = format_bytes(pending), format_bytes(threshold)
    if said == limit:
        said, limit = f"{pending:,.0f} B", f"{threshold:,.0f} B"
    return f"{said} fell below the threshold {limit}"


class AutoConverge:
    """QEMU's auto-converge (migration/ram.c, migration_trigger_throttle).

    At a bitmap sync more than 1 s after the period began: if the bytes dirtied in the period
    exceed 50 % of the bytes sent, count it; at 2 counts throttle the vCPUs (20 % first, then
    +10 % a time, at most 99 %) and reset the count.
    """

    PERIOD_S = 1.0
    DIRTY_SHARE = 0.50
    INITIAL = 0.20
    INCREMENT = 0.10
    MAXIMUM = 0.99
    COUNTS_TO_TRIGGER = 2

    def __init__(self):
        self.throttle = 0.0
        self.period_start_s = 0.0
        self.period_dirty_bytes = 0.0
        self.period_wire_bytes = 0.0
        self.count = 0

    def on_sync(self, now_s: float, dirty_bytes: float, wire_bytes: float) -> float:
        self.period_dirty_bytes += dirty_bytes
        self.period_wire_bytes += wire_bytes
        if now_s - self.period_start_s > self.PERIOD_S:
            if self.period_dirty_bytes > self.DIRTY_SHARE * self.period_wire_bytes:
                self.count += 1
                if self.count >= self.COUNTS_TO_TRIGGER:
                    self.count = 0
                    self.throttle = (
                        self.INITIAL
                        if self.throttle == 0.0
                        else min(self.MAXIMUM, round(self.throttle + self.INCREMENT, 10))
                    )
            self.period_start_s = now_s
            self.period_dirty_bytes = self.period_wire_bytes = 0.0
        return self.throttle
