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

A run that does not report each round (``FleetRun(round_events=False)``: plans, benches, a
summary) wakes a migration on a trajectory only where something can happen: at the decision
that stops pre-copy or changes its demand (``time_to_decision``); the rounds in between are read
from the trajectory when it wakes (or when it leaves the trajectory or fails on the way). Its
figures are those of the run that reports every round, to the bit when its rate stays put
between its wake-ups; a rate that changes in the middle of a round nobody was woken for makes
it count the rest of that round from a different sum of the same durations (float rounding,
about 1e-16 of a value, like sharing itself).

A trajectory is kept only for a rate a migration gets when nothing shares its links (its
policy's cap, or its NIC's migration share when that is lower), so there are few of them: one
or two per spec, whatever the size of the fleet.
"""

from __future__ import annotations

import math

from migrationsim.layout import layout_regions
from migrationsim.memory_fluid import FluidMemory
from migrationsim.precopy import Precopy, PrecopyOutcome, Round, Stop
from migrationsim.units import format_long_duration

# The most live rounds a trajectory follows (each kept: its duration, its round): a pre-copy
# that has not converged by then is stopped as one past the ceiling on simulated time is. A
# completion timeout of 1e9 s on a guest that never converges was 31 million rounds kept, every
# GB of the host; no default timeout comes near it (rounds last about the downtime limit or more).
MAX_TRAJECTORY_ROUNDS = 100_000
ROUND_CEILING = "round_ceiling"


def round_ceiling_stop(rounds: int, waited_s: float) -> Stop:
    return Stop(
        ROUND_CEILING,
        False,
        f"Still not converged after {rounds:,} live rounds ({format_long_duration(waited_s)} of "
        "pre-copy), the most rounds this simulator follows a fleet's migration for (the "
        "operator's completion timeout is later still): aborted, and the VM keeps running on "
        "the source.",
        "abort",
    )


# a round's sends that add up to its duration within this are the round (float noise of the
# engine's absolute clock: 1e-6 s is a million times more than that at ten years simulated)
_SAME_DURATION_S = 1e-6


def fresh_precopy(spec) -> Precopy:
    """One migration's own pre-copy on its own memory, its clock at 0."""
    return Precopy(spec, FluidMemory(spec, layout_regions(spec)), start_s=0.0)


class Trajectory:
    """One spec's pre-copy at one constant link rate, extended lazily round by round.

    Decision ``k`` is taken after ``k`` rounds: ``stops[k]`` is what ``decide`` said (None:
    another round), ``demands[k]`` the migration's demand after it; when it said go on,
    ``durations[k]`` is the round's length, ``rounds[k]`` the round, and ``elapsed[k + 1]`` the
    pre-copy time at the next decision. At the stop, ``end`` keeps the outcome and the final
    copy (pages and wire bytes of the stop-and-copy).
    """

    __slots__ = (
        "rate_bps",
        "precopy",
        "stops",
        "demands",
        "durations",
        "elapsed",
        "rounds",
        "end",
        "_next",
    )

    def __init__(self, spec, rate_bps: float):
        self.rate_bps = rate_bps
        self.precopy = fresh_precopy(spec)
        self.stops: list[Stop | None] = []
        self.demands: list[float] = []
        self.durations: list[float] = []
        self.elapsed: list[float] = [0.0]
        self.rounds: list[Round] = []
        self.end: tuple[PrecopyOutcome, tuple[float, float]] | None = None
        self._next: dict[int, int] = {}  # decision -> the next one where something can happen

    def step(self, k: int) -> None:
        """Make sure decision ``k`` (and, if it goes on, round ``k``) is known."""
        while len(self.stops) <= k:
            precopy, rate = self.precopy, self.rate_bps
            stop = precopy.decide(rate)
            rounds = len(self.durations)
            if stop is None and rounds >= precopy.next_proof_round:
                # proven never to converge (``nonconvergence.py``) at any rate the migration's
                # NIC share can give it, the same trajectory or not
                stop = precopy.never_converges(max(rate, precopy.spec.bandwidth_bps))
            if stop is None and rounds >= MAX_TRAJECTORY_ROUNDS:
                stop = round_ceiling_stop(rounds, self.elapsed[-1])
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
            self.elapsed.append(self.elapsed[-1] + duration)
            self.rounds.append(precopy.end_round())

    def next_decision(self, k: int) -> int:
        """After decision ``k`` (which went on): the next decision that stops pre-copy or changes
        the demand; the ones between only start another round."""
        found = self._next.get(k)
        if found is None:
            i = k + 1
            self.step(i)
            while self.stops[i] is None and self.demands[i] == self.demands[k]:
                i += 1
                self.step(i)
            self._next[k] = found = i
        return found


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
    """One migration's pre-copy: on a shared trajectory while it can be, its own after.

    On the trajectory: ``k`` decisions were passed (``decided``: decision ``k`` too, and its
    round is under way), ``sent_s`` seconds were sent since decision ``k`` (more than a round
    when rounds are not reported one by one), and the engine wakes it at decision ``until``.
    """

    __slots__ = ("family", "trajectory", "own", "k", "sent_s", "decided", "until", "unreported")

    def __init__(self, family: TrajectoryFamily):
        self.family = family
        self.trajectory: Trajectory | None = None
        self.own: Precopy | None = None
        self.k = 0
        self.sent_s = 0.0
        self.decided = False
        self.until = 1
        self.unreported: list[Round] = []  # rounds its own pre-copy ended while catching up

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

    def _on(self, link_bps: float) -> bool:
        """On the trajectory, in a round under way, at its rate."""
        return self.own is None and self.decided and link_bps == self.trajectory.rate_bps

    def rate_bps(self, link_bps: float) -> float:
        """The migration's demand (``link_bps`` is math.inf) or its rate on ``link_bps``."""
        if self.own is not None:
            return self.own.rate_bps(link_bps)
        if link_bps == math.inf:
            if self.decided:
                return self.trajectory.demands[self.k]
            return (
                self.family.first_demand_bps if self.k == 0 else self.trajectory.demands[self.k - 1]
            )
        return self._leave().rate_bps(link_bps)

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

    def wake_at(self, now_s: float, link_bps: float, every_round: bool = True) -> float:
        """When (on the clock that reads ``now_s`` now) to wake it at ``link_bps``: at the end of
        the round under way, or (``every_round=False``) at the next decision where something
        can happen (pre-copy stops, or its demand changes). The rounds between are added one
        by one, as waking at each would have: the same instant to the last bit, so that
        decisions falling on one instant keep their order either way."""
        if self._on(link_bps):
            trajectory, k = self.trajectory, self.k
            self.until = k + 1 if every_round else trajectory.next_decision(k)
            durations = trajectory.durations
            at_s = now_s + (durations[k] - self.sent_s)
            for i in range(k + 1, self.until):
                at_s += durations[i]
            return at_s
        return now_s + self._leave().time_to_round_end(link_bps)

    def time_to_round_end(self, link_bps: float) -> float:
        """Seconds until the round under way ends at ``link_bps`` (the next decision)."""
        return self.wake_at(0.0, link_bps)

    def send_for(self, seconds: float, link_bps: float) -> None:
        if self._on(link_bps):
            self.sent_s += seconds
            return
        self._leave().send_for(seconds, link_bps)

    def finish_round(self, link_bps: float) -> None:
        """Send the rest of the round under way when less than ``_SAME_DURATION_S`` of it is
        left. The fleet's clock counts seconds since the run began: at 44,665 s its resolution
        is 7e-12 s, so a wake that picoseconds of the migration's own clock still separate from
        now falls on now itself, nothing is sent, and the round would end short of its check
        and be woken at once again, forever. (On the trajectory, rounds already match within
        that tolerance.)"""
        if self.own is None or link_bps <= 0.0:
            return
        left_s = self.own.time_to_round_end(link_bps)
        if 0.0 < left_s <= _SAME_DURATION_S:
            self.own.send_for(left_s, link_bps)

    def end_rounds(self) -> list[Round]:
        """At the time ``time_to_*`` gave: the rounds that ended since the last report (one,
        when rounds are reported one by one)."""
        if self.own is None and self.decided:
            trajectory, k, until = self.trajectory, self.k, self.until
            span = trajectory.elapsed[until] - trajectory.elapsed[k]
            if abs(self.sent_s - span) <= _SAME_DURATION_S:
                self.k, self.sent_s, self.decided = until, 0.0, False
                return trajectory.rounds[k:until]
        own = self._leave()
        rounds = [*self.unreported, own.end_round()]
        self.unreported = []
        return rounds

    def rounds_passed(self) -> int:
        """Rounds that ended on the way and were not reported yet (a migration that fails or
        is stopped between two wake-ups); they count as reported now."""
        if self.own is not None:
            count, self.unreported = len(self.unreported), []
            return count
        if not self.decided:
            return 0
        trajectory, k = self.trajectory, self.k
        i = k
        while i + 1 < self.until and (
            trajectory.elapsed[i + 1] - trajectory.elapsed[k] <= self.sent_s + _SAME_DURATION_S
        ):
            i += 1
        self.sent_s -= trajectory.elapsed[i] - trajectory.elapsed[k]
        self.k = i
        return i - k

    def sent_so_far(self) -> tuple[float, float]:
        """(seconds of pre-copy, wire bytes sent) up to where it is now: the rounds that ended
        and the part of the one under way. For a migration that fails before its stop (its
        target or source failed): the engine sent it up to the failure (``send_for``) and asks
        this once, so the replay ``_leave`` makes costs only failed migrations."""
        own = self._leave()
        return own.now_s - own.started_s, own.state.live_wire_bytes + own.round_wire

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
        rounds replayed at the trajectory's rate, then what it sent since its last decision
        (rounds that ended on the way are kept to be reported)."""
        if self.own is not None:
            return self.own
        own = fresh_precopy(self.family.spec)
        trajectory = self.trajectory
        if trajectory is not None:
            rate, durations = trajectory.rate_bps, trajectory.durations
            for k in range(self.k):
                own.decide(rate)
                own.send_for(durations[k], rate)
                own.end_round()
            if self.decided:
                own.decide(rate)
                i, left = self.k, self.sent_s
                while i + 1 < self.until and left > durations[i] + _SAME_DURATION_S:
                    own.send_for(durations[i], rate)  # a round that ended on the way
                    self.unreported.append(own.end_round())
                    own.decide(rate)
                    left -= durations[i]
                    i += 1
                if left > 0.0:
                    own.send_for(left, rate)
        self.own = own
        self.trajectory = None
        return own
