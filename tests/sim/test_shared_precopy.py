"""Shared pre-copy trajectories (``fleet/shared_precopy.py``): a migration that reads the rounds
of others with its spec and cap goes through what it would have gone through alone."""

import dataclasses
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings

from migrationsim.fleet import FleetRun, parse_scenario, summarize
from migrationsim.fleet.shared_precopy import SharedPrecopy, TrajectoryFamily
from migrationsim.spec import build_spec

from .test_fleet_golden import CASES, _preset
from .test_fleet_properties import small_fleets

REL = 1e-9  # float rounding: the engine's clock is absolute, a trajectory's durations are not


def _flat(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flat(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flat(item, f"{path}[{i}]")
    else:
        yield path, value


def assert_same_figures(a: dict, b: dict) -> None:
    flat_a, flat_b = dict(_flat(a)), dict(_flat(b))
    assert flat_a.keys() == flat_b.keys()
    for key, x in flat_a.items():
        y = flat_b[key]
        if isinstance(x, float) or isinstance(y, float):
            assert x == pytest.approx(y, rel=REL, abs=1e-12), key
        else:
            assert x == y, key


def _run(data: dict, share: bool, round_events: bool = True, **options):
    kinds = []
    run = FleetRun(
        parse_scenario(data),
        lambda e: kinds.append(e["kind"]),
        share_precopy=share,
        round_events=round_events,
        **options,
    ).run()
    return run, kinds, json.loads(json.dumps(summarize(run)))


def _records(run) -> dict:
    return {"records": [dataclasses.asdict(rec) for rec in run.records]}


def _same_runs(data: dict, *, quiet_to_the_bit: bool = True, **options) -> None:
    """Shared (rounds reported, or not), and every migration alone: the same run.
    ``quiet_to_the_bit``: the run that reports no rounds has every figure of the one that does
    to the bit (the golden fleets); otherwise to float rounding, as shared and alone are (a
    migration whose rate changes in the middle of a round that nobody is woken for counts the
    rest of that round from a different sum: a random fleet found a blackout 1 ulp apart)."""
    alone_run, alone_kinds, alone = _run(data, False, **options)
    shared_run, shared_kinds, shared = _run(data, True, **options)
    assert shared_kinds == alone_kinds  # the same events in the same order
    assert_same_figures(shared, alone)
    assert_same_figures(_records(shared_run), _records(alone_run))  # each VM's figures too
    quiet_run, quiet_kinds, quiet = _run(data, True, round_events=False, **options)
    assert quiet_kinds == [kind for kind in alone_kinds if kind != "round"]
    if quiet_to_the_bit:
        # woken only where something happens, at the same instants to the bit: exactly the run
        assert quiet == shared
        assert _records(quiet_run) == _records(shared_run)  # rounds counted, not told
    else:
        assert_same_figures(quiet, shared)
        assert_same_figures(_records(quiet_run), _records(shared_run))


@pytest.mark.parametrize("name", CASES)
def test_every_golden_run_is_the_same_shared_or_alone(name):
    make, options = CASES[name]
    _same_runs(make(), **options)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_fleets())
def test_any_small_fleet_is_the_same_shared_or_alone(data):
    _same_runs(data, quiet_to_the_bit=False)


def test_migrations_alike_share_one_trajectory_per_spec_and_cap():
    for name in ("heartbleed-128-hosts", "gce-calibrated"):  # capped; uncapped (the NIC's share)
        make, options = CASES[name]
        run, kinds, summary = _run(make(), True, **options)
        trajectories = sum(len(family.by_rate) for family in run._families.values())
        assert 0 < trajectories <= len(run._specs)  # one rate per spec in these fleets
        assert summary["migrations"] > 10 * trajectories


def _drive(precopy, calls):
    """Call a pre-copy the way the engine does; returns what it answered."""
    answers = []
    for name, *args in calls:
        answers.append(getattr(precopy, name)(*args))
    return answers


def test_a_rate_change_within_a_round_leaves_the_trajectory_at_the_same_point():
    spec = build_spec(memory="4GiB", workload="web", bandwidth="10Gbit/s", max_bandwidth="128MiB/s")
    family = TrajectoryFamily(spec)
    cap = family.first_demand_bps
    for_a_while = [("decide", cap), ("time_to_round_end", cap)]
    warm = SharedPrecopy(family)  # a first migration walks the trajectory two rounds ahead
    duration = _drive(warm, for_a_while)[1]
    _drive(warm, [("send_for", duration, cap), ("end_rounds",), ("decide", cap)])

    def calls(first_duration):
        return [
            ("decide", cap),
            ("send_for", first_duration, cap),
            ("end_rounds",),
            ("decide", cap),
            ("send_for", 0.01, cap),  # part of round 1 at the cap, then the network halves it
            ("time_to_round_end", cap / 2),
            ("send_for", 0.2, cap / 2),
            ("rate_bps", math.inf),
        ]

    shared = SharedPrecopy(family)
    alone = SharedPrecopy.alone(family)
    shared_answers = _drive(shared, calls(duration))
    alone_answers = _drive(alone, calls(duration))
    assert shared.own is not None  # it left the trajectory when its rate changed
    assert shared_answers[2] == alone_answers[2]  # round 0, read from the trajectory
    assert shared_answers[5] == pytest.approx(alone_answers[5], rel=REL)
    assert shared.own.state.now_s == pytest.approx(alone.own.state.now_s, rel=REL)
    assert shared.own.memory.pending == pytest.approx(alone.own.memory.pending, rel=REL)
    assert shared.own.round_wire == pytest.approx(alone.own.round_wire, rel=REL)


def test_a_link_below_the_cap_from_the_start_never_shares():
    spec = build_spec(memory="2GiB", workload="idle", bandwidth="10Gbit/s", max_bandwidth="1GiB/s")
    family = TrajectoryFamily(spec)
    precopy = SharedPrecopy(family)
    precopy.decide(family.first_demand_bps / 3)  # the network gives it a third of its cap
    assert precopy.own is not None and not family.by_rate


def test_a_trajectory_that_never_converges_stops_at_its_round_ceiling(monkeypatch):
    """A fleet's migration on a trajectory keeps every round; with a completion timeout of 1e9 s
    a guest that never converges was 31 million rounds kept, the host's memory gone. Past
    ``MAX_TRAJECTORY_ROUNDS`` it is stopped and aborted, with a sentence that says why."""
    from migrationsim.fleet import shared_precopy

    monkeypatch.setattr(shared_precopy, "MAX_TRAJECTORY_ROUNDS", 50)
    spec = build_spec(
        workload="muncher", memory="1GiB", completion_timeout="1e9s", auto_converge=False
    )
    trajectory = shared_precopy.TrajectoryFamily(spec).at_rate(spec.max_bandwidth_bps)
    trajectory.next_decision(0)
    stop = trajectory.stops[-1]
    assert len(trajectory.durations) == 50 and stop.reason == "round_ceiling"
    assert stop.action == "abort" and not stop.converged
    assert "Still not converged after 50 live rounds" in stop.message
    assert trajectory.end[0].stop is stop


def test_a_trajectory_proven_never_to_converge_stops_at_its_64th_round():
    """The same guest without the ceiling lowered: the proof (``nonconvergence.py``), at any
    rate its NIC share could give it, decides it at the first attempt."""
    spec = build_spec(
        workload="muncher", memory="1GiB", completion_timeout="1e9s", auto_converge=False
    )
    trajectory = TrajectoryFamily(spec).at_rate(spec.max_bandwidth_bps)
    trajectory.next_decision(0)
    stop = trajectory.stops[-1]
    assert len(trajectory.durations) == 64 and stop.reason == "never_converges"
    assert stop.action == "abort" and "decided after 64 live rounds" in stop.message


def test_a_fleet_whose_migrations_never_converge_ends_by_itself_not_at_its_ceiling():
    """The demo with muncher guests, no auto-converge and a 1e9 s timeout: every migration is
    followed to its proof, and the run ends on its own (it stopped at the action ceiling after
    100,000 rounds a migration, 10 s and 548 MB)."""
    data = _preset("demo")
    data["policy"].update(completion_timeout=1e9, auto_converge=False)
    data["fleet"]["vms"]["mix"] = {"muncher": 1}
    scenario = parse_scenario(data)
    run = FleetRun(scenario)
    run.run()
    summary = summarize(run)
    assert run.stopped is None
    assert summary["outcomes"]["aborted"] == 44
    assert {r.stop_reason for r in run.records.touched() if r.stop_reason} == {"never_converges"}
