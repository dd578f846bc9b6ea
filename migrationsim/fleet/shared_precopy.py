"""Pre-copy runs shared by the fleet's migrations that see the same link.

A fleet migrates many VMs alike: the same workload, the same memory, the same policy cap. When a
migration's link rate is its own demand at every round (the network does not limit it: the
common case, a per-migration cap far below the NICs), its pre-copy is a function of its spec and
that rate alone. The pre-copy clock starts at 0 for every migration (times are durations from the
start of pre-copy), so two such migrations go through the same rounds, stop for the same reason
and send the same final copy. ``Trajectory`` runs that pre-copy once, round by round as far as the
first migration on it has come, and every other migration on it reads its rounds.

``SharedPrecopy`` is what the engine drives: the calls of ``Precopy`` the engine makes (decide,
time to the round's end, send, end the round, the outcome, the final copy). It reads a
trajectory while the migration stays on it, and takes a ``Precopy`` of its own, replayed to the
same point, the moment it leaves it (a rate the network limits, a change of rate within a round).
Either way the migration goes through the same model (``precopy.py``); a shared one differs from
one simulated alone only by float rounding (the engine's clock is absolute, the trajectory's
durations are not), about 1e-15 of a value.

A trajectory is kept only for a rate a migration gets when nothing shares its links (its
policy's cap, or its NIC's migration share when that is lower), so there are few of them: one
or two per spec, whatever the size of the fleet.
"""

from __future__ import annotations

import math

from migrationsim.layout import layout_regions
from migrationsim.memory_fluid import FluidMemory
from migrationsim.precopy import Precopy, PrecopyOutcome, Round, Stop

# a round's sends that add up to its duration within this are the round (float noise of the
# engine's absolute clock: 1e-6 s is a million times more than that at ten years simulated)
_SAME_DURATION_S = 1e-6


def fresh_precopy(spec) -> Precopy:
    """One migration's own pre-copy on its own memory, its clock at 0."""
    return Precopy(spec, FluidMemory(spec, layout_regions(spec)), start_s=0.0)


class Trajectory:
    """One spec's pre-copy at one constant link rate, extended lazily round by round.

    Step ``k`` (the ``k``-th decision, ``k`` rounds done): ``stops[k]`` is what ``decide`` said
    (None: another round), ``demands[k]`` the migration's demand after it; when it said go on,
    ``durations[k]`` is the round's length and ``rounds[k]`` the round. At the stop, ``outcome``
    and ``final_copy`` (pages and wire bytes of the stop-and-copy) are kept.
    """

    __slots__ = ("rate_bps", "precopy", "stops", "demands", "durations", "rounds", "end")

    def __init__(self, spec, rate_bps: float):
        self.rate_bps = rate_bps
        self.precopy = fresh_precopy(spec)
        self.stops: list[Stop | None] = []
        self.demands: list[float] = []
        self.durations: list[float] = []
        self.rounds: list[Round] = []
        self.end: tuple[PrecopyOutcome, tuple[float, float]] | None = None

    def step(self, k: int) -> None:
        """Make sure decision ``k`` (and, if it goes on, round ``k``) is known."""
        while len(self.stops) <= k:
            precopy, rate = self.precopy, self.rate_bps
            stop = precopy.decide(rate)
            self.stops.append(stop)
            self.demands.append(precopy.rate_bps(math.inf))
            if stop is not None:
                outcome = precopy.outcome(stop)
                self.end = (outcome, precopy.memory.send_all())
                self.precopy = None  # done: nothing more is asked of it
                return
            duration = precopy.time_to_round_end(rate)
            precopy.send_for(duration, rate)
            self.durations.append(duration)
            self.rounds.append(precopy.end_round())


class TrajectoryFamily:
    """Everything one spec's migrations share: the start (first demand, first pass) and the
    trajectories by link rate."""

    __slots__ = ("spec", "first_demand_bps", "solo_rates_bps", "first_pass_wire_bytes", "by_rate")

    def __init__(self, spec):
        self.spec = spec
        precopy = fresh_precopy(spec)
        self.first_demand_bps = precopy.rate_bps(math.inf)
        # the rates a migration gets when nothing shares its links: its demand (its cap), or
        # its NIC's migration share when that is lower (``spec.bandwidth_bps`` is that share)
        self.solo_rates_bps = {
            self.first_demand_bps,
            min(self.first_demand_bps, spec.bandwidth_bps),
        }
        memory = precopy.memory
        self.first_pass_wire_bytes = memory.wire_bytes_for(memory.pending)
        self.by_rate: dict[float, Trajectory] = {}

    def at_rate(self, rate_bps: float) -> Trajectory:
        trajectory = self.by_rate.get(rate_bps)
        if trajectory is None:
            trajectory = self.by_rate[rate_bps] = Trajectory(self.spec, rate_bps)
        return trajectory


class SharedPrecopy:
    """One migration's pre-copy: on a shared trajectory while it can be, its own after."""

    __slots__ = ("family", "trajectory", "own", "k", "sent_s", "decided")

    def __init__(self, family: TrajectoryFamily):
        self.family = family
        self.trajectory: Trajectory | None = None
        self.own: Precopy | None = None
        self.k = 0  # rounds done
        self.sent_s = 0.0  # seconds sent in the current round, at the trajectory's rate
        self.decided = False  # decision k was taken (the round under way is k)

    @classmethod
    def alone(cls, family: TrajectoryFamily) -> SharedPrecopy:
        """A pre-copy that shares nothing: its own from the start (what sharing must equal)."""
        precopy = cls(family)
        precopy.own = fresh_precopy(family.spec)
        return precopy

    @property
    def spec(self):
        return self.family.spec

    def first_pass_wire_bytes(self) -> float:
        """Wire bytes of one pass over memory as it is at the start (round 0's length)."""
        return self.family.first_pass_wire_bytes

    def rate_bps(self, link_bps: float) -> float:
        """The migration's demand (``link_bps`` is math.inf) or its rate on ``link_bps``."""
        if self.own is not None:
            return self.own.rate_bps(link_bps)
        if link_bps == math.inf:
            if self.trajectory is None or not self.decided:
                return self._demand_before(self.k)
            return self.trajectory.demands[self.k]
        return self._leave().rate_bps(link_bps)

    def _demand_before(self, k: int) -> float:
        return self.family.first_demand_bps if k == 0 else self.trajectory.demands[k - 1]

    def decide(self, link_bps: float) -> Stop | None:
        if self.own is None and not self.decided and self.sent_s == 0.0:
            if self.trajectory is None and link_bps in self.family.solo_rates_bps:
                self.trajectory = self.family.at_rate(link_bps)  # a rate alike migrations get
            trajectory = self.trajectory
            if trajectory is not None and link_bps == trajectory.rate_bps:
                trajectory.step(self.k)
                self.decided = True
                return trajectory.stops[self.k]
        return self._leave().decide(link_bps)

    def time_to_round_end(self, link_bps: float) -> float:
        if self.own is None and self.decided and link_bps == self.trajectory.rate_bps:
            return self.trajectory.durations[self.k] - self.sent_s
        return self._leave().time_to_round_end(link_bps)

    def send_for(self, seconds: float, link_bps: float) -> None:
        if self.own is None and self.decided and link_bps == self.trajectory.rate_bps:
            self.sent_s += seconds
            return
        self._leave().send_for(seconds, link_bps)

    def end_round(self) -> Round:
        if self.own is None and self.decided:
            duration = self.trajectory.durations[self.k]
            if abs(self.sent_s - duration) <= _SAME_DURATION_S:
                live_round = self.trajectory.rounds[self.k]
                self.k += 1
                self.sent_s = 0.0
                self.decided = False
                return live_round
        return self._leave().end_round()

    def outcome(self, stop: Stop) -> PrecopyOutcome:
        if self.own is None:
            return self.trajectory.end[0]
        return self.own.outcome(stop)

    def send_all(self) -> tuple[float, float]:
        """The stop-and-copy: (pages, wire bytes) of everything pending."""
        if self.own is None:
            return self.trajectory.end[1]
        return self.own.memory.send_all()

    def _leave(self) -> Precopy:
        """The migration's own pre-copy, brought to where it is on the trajectory: the same
        rounds replayed at the trajectory's rate, then what it sent of the round under way."""
        if self.own is not None:
            return self.own
        own = fresh_precopy(self.family.spec)
        trajectory = self.trajectory
        if trajectory is not None:
            rate = trajectory.rate_bps
            for k in range(self.k):
                own.decide(rate)
                own.send_for(trajectory.durations[k], rate)
                own.end_round()
            if self.decided:
                own.decide(rate)
                if self.sent_s:
                    own.send_for(self.sent_s, rate)
        self.own = own
        self.trajectory = None
        return own
