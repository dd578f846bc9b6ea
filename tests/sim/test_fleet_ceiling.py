"""Every fleet run ends, whatever its input (issue 13): the kernel stops at a ceiling of
actions or of simulated time, the books are closed as at any end, and the summary says why."""

import copy

from migrationsim.fleet import FleetRun, load_scenario, parse_scenario, summarize
from migrationsim.fleet.engine import MAX_ACTIONS_PER_VM, MAX_SIMULATED_S

from .fleet_support import TINY


def tiny_run(**ceiling) -> FleetRun:
    run = FleetRun(parse_scenario(copy.deepcopy(TINY)))
    for name, value in ceiling.items():
        setattr(run, name, value)
    return run.run()


def test_an_ordinary_run_never_meets_the_ceiling():
    run = tiny_run()
    assert run.stopped is None
    assert "stopped" not in summarize(run)
    assert run.max_actions == MAX_ACTIONS_PER_VM * len(run.fleet.vms) + 100_000
    assert run.max_time_s == MAX_SIMULATED_S


def test_a_run_stops_at_its_ceiling_of_actions_and_says_so():
    full = tiny_run()
    run = tiny_run(max_actions=10)
    assert run.actions == 10 < full.actions
    summary = summarize(run)
    assert summary["stopped"].startswith("stopped after 10 actions")
    assert sum(summary["outcomes"].values()) == summary["vms"]  # every VM is still counted
    assert summary["outcomes"]["migrated"] < summarize(full)["outcomes"]["migrated"]


def test_a_run_stops_at_its_ceiling_of_simulated_time():
    run = tiny_run(max_time_s=1.0)
    assert run.now <= 1.0
    assert "years of simulated time" in summarize(run)["stopped"]


def test_the_presets_stay_far_below_the_ceiling():
    run = FleetRun(load_scenario("bios-rollout")).run()
    assert run.stopped is None and run.actions < 0.05 * run.max_actions
