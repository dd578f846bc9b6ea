"""Every fleet run ends, whatever its input (issue 13): the kernel stops at a ceiling of
actions or of simulated time, the books are closed as at any end, and the summary says why."""

import copy

from migrationsim.fleet import FleetRun, load_scenario, parse_scenario, summarize
from migrationsim.fleet.engine import MAX_ACTIONS_PER_VM, MAX_SIMULATED_S
from migrationsim.fleet.prediction import observe
from migrationsim.fleet.summary import unsimulated_failures_sentence

from .fleet_support import TINY, scenario


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


def scenario_with(**changes) -> dict:
    data = copy.deepcopy(TINY)
    for path, value in changes.items():
        *keys, last = path.split("__")
        node = data
        for key in keys:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value
    return data


def test_a_migration_under_way_at_the_ceiling_is_not_done_and_says_why():
    # NICs of 1 Mbit/s and an operator who never gives up: the first migrations are still
    # copying when the run stops at its ceiling of simulated time
    data = scenario_with(
        fleet__host__nic="1Mbit/s", policy__completion_timeout="100000000h", caps__per_source_host=2
    )
    run = FleetRun(parse_scenario(data))
    run.max_time_s = 3600.0
    run.run()
    under_way = [r for r in run.records if r.stop_reason == "under_way_at_ceiling"]
    assert under_way, "a migration was under way at the ceiling"
    for rec in under_way:
        assert rec.outcome == "stuck"
        assert rec.reason == "its migration was still under way when the run stopped at its ceiling"
        assert rec.queue_wait_s < 3600.0  # it waited only until its migration started
    reasons = summarize(run)["unfinished_reasons"]
    assert reasons["under_way_at_ceiling"] == len(under_way)
    assert "unknown" not in reasons


def test_vms_whose_host_the_maintenance_had_not_taken_by_the_ceiling_are_not_unaffected():
    # one host of r1 at a time, each down for a hundred years: the ceiling (ten years) comes
    # while the first is down, and the second host's VMs never moved
    data = scenario_with(events__0__host_downtime="876000h")
    run = FleetRun(parse_scenario(data)).run()
    assert run.stopped is not None
    summary = summarize(run)
    in_scope = [vm for h in run.fleet.racks[0].hosts for vm in run.fleet.hosts[h].vms]
    not_reached = [r for r in run.records if r.wait_reason == "not_reached_at_ceiling"]
    assert not_reached and all(r.outcome == "stuck" for r in not_reached)
    assert {r.vm for r in not_reached} <= set(in_scope)
    assert summary["unfinished_reasons"]["not_reached_at_ceiling"] == len(not_reached)
    # rack r2 had no maintenance: its VMs, and only they, are unaffected
    out_of_scope = sum(len(run.fleet.hosts[h].vms) for h in run.fleet.racks[1].hosts)
    assert summary["outcomes"]["unaffected"] <= out_of_scope
    # an ordinary end leaves nobody "not reached"
    assert not any(r.wait_reason == "not_reached_at_ceiling" for r in tiny_run().records)


def test_a_host_the_maintenance_had_not_taken_by_the_ceiling_says_the_ceiling_stopped_it():
    """What is not handled says why a host was never taken as its VMs' reason does: the run
    stopped at its ceiling, not "the rollout was still waiting for hosts ahead of it" (no host
    was ahead of it, and for an event that never began there was no rollout)."""
    from migrationsim.fleet.prediction import observe

    for changes in ({"events__0__host_downtime": "876000h"}, {"events__0__start": "1e9s"}):
        prediction = observe(parse_scenario(scenario_with(**changes)))
        assert prediction.run.stopped is not None
        never_taken = [h for h in prediction.not_handled()["hosts"] if h["status"] == "never_taken"]
        assert never_taken
        for host in never_taken:
            assert host["reason"] == (
                "never taken out of service: the run stopped at its ceiling before its "
                "maintenance took the host"
            )


def test_a_host_emptied_but_still_in_maintenance_at_the_ceiling_is_not_said_never_emptied():
    """Its status said "not_emptied" beside the reason "emptied, but still in maintenance"."""
    from migrationsim.fleet.prediction import observe

    data = scenario_with(events__0__host_downtime="876000h")  # a hundred years down
    prediction = observe(parse_scenario(data))
    assert prediction.run.stopped is not None
    emptied = [
        h for h in prediction.not_handled()["hosts"] if h["reason"].startswith("emptied, but")
    ]
    assert emptied
    for host in emptied:
        assert host["status"] == host["code"] == "in_maintenance"
        assert host["vms"] == []


def test_a_vm_whose_restart_was_still_under_way_at_the_ceiling_is_not_said_restarted():
    """A GPU VM is stopped when its host's maintenance comes and restarts elsewhere; a restart
    that takes longer than the run's ten years has not happened when the run stops: the VM was
    stopped (terminated), and says why it is not running again. It was counted "stopped and
    restarted elsewhere", as if it ran on another host."""
    data = scenario(vms=[("g", "r1-h1", "2GiB", "idle", {"accelerator": "gpu"})])
    slow = FleetRun(parse_scenario({**data, "timing": {"restart": "1e12s"}})).run()
    assert slow.stopped is not None
    (rec,) = slow.records
    assert rec.outcome == "terminated"
    assert rec.reason.endswith(
        "; its restart on another host was still under way when the run stopped at its ceiling"
    )
    outcomes = summarize(slow)["outcomes"]
    assert (outcomes["restarted"], outcomes["terminated"]) == (0, 1)
    # an ordinary restart is one
    (rec,) = FleetRun(parse_scenario(data)).run().records
    assert rec.outcome == "restarted" and "under way" not in rec.reason


def hw_failure_run(failure_after: str) -> FleetRun:
    data = load_scenario_data("hw-failure")
    data["events"][0]["failure_after"] = failure_after
    return FleetRun(parse_scenario(data)).run()


def load_scenario_data(preset: str) -> dict:
    from migrationsim.fleet.text import preset_scenario

    return copy.deepcopy(preset_scenario(preset))


def test_a_hardware_failure_drawn_beyond_the_ceiling_is_not_waited_for_but_said():
    """Waiting for it held the run at its ceiling: "makespan 10.0 years" and STOPPED, long after
    the drain was done. The run ends with its work; the host still due to fail is named."""
    run = hw_failure_run("1e12s")
    summary = summarize(run)
    assert run.stopped is None and "stopped" not in summary
    assert summary["makespan_s"] < 86400.0  # the drain's end, not ten years
    (failure,) = summary["failures_not_simulated"]
    host = next(h for h in run.fleet.hosts if h.name == failure["host"])
    assert failure["fails_at_s"] > MAX_SIMULATED_S == failure["ceiling_s"]
    assert failure["vms"] == len(host.vms) > 0  # the VMs that could not leave it
    sentence = unsimulated_failures_sentence(summary)
    assert sentence.startswith(f"{host.name} (dimm-failure) would fail only after ")
    assert "beyond the 10.0 years this simulator follows" in sentence
    assert sentence.endswith(f"{failure['vms']} VMs keep running on it")


def test_a_hardware_failure_within_the_ceiling_still_strikes_and_the_skip_says_so():
    """The host was skipped with VMs said to keep running on it; then it failed under them. The
    skip's sentence, written when it was skipped, must not be the last word."""
    data = load_scenario_data("hw-failure")
    data["events"][0]["failure_after"] = "2h"
    prediction = observe(parse_scenario(data))
    summary = summarize(prediction.run)
    assert "failures_not_simulated" not in summary
    assert unsimulated_failures_sentence(summary) == ""
    (host,) = [h for h in prediction.not_handled()["hosts"] if h["status"] == "skipped"]
    assert "keep running on it" in host["reason"]
    assert host["reason"].endswith("; later the host failed (hardware failure) with its VMs on it")
    assert summary["outcomes"]["crashed"] == 2
