"""Every host a maintenance names ends in a final state (issue #14, "never say a wrong thing"):
patched, or skipped with the reason, or rebooted at a deadline; a VM never stays unasked on a
host taken out of service, a host is never patched while a migration streams into it, and an
event that found nothing left to do is not the end of the maintenance."""

import pytest

from migrationsim.fleet import FleetRun, parse_scenario, summarize

from .fleet_support import of_kind, run, scenario


def _rolling(vms, *, hosts=4, at_once=2, downtime="10s", **extra):
    return scenario(
        hosts=hosts,
        vms=vms,
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"racks": ["r1"]},
                "max_hosts_in_maintenance": at_once,
                "host_downtime": downtime,
            }
        ],
        **extra,
    )


def _in_flight_to(events):
    """For each event index, the migrations streaming into each host at that moment."""
    arriving: dict[str, set] = {}
    for e in events:
        if e["kind"] == "migration_start":
            arriving.setdefault(e["target"], set()).add(e["vm"])
        elif e["kind"] == "target_retry":
            for vms in arriving.values():
                vms.discard(e["vm"])
            arriving.setdefault(e["target"], set()).add(e["vm"])
        elif e["kind"] == "migration_end":
            arriving.get(e["target"], set()).discard(e["vm"])
        yield e, arriving


# --- 1. a host taken out of service while a VM is on its way to it ---------------------------------


def test_a_vm_that_lands_on_a_host_scheduled_while_it_was_in_flight_is_drained_like_the_others():
    # r1-h1 and r1-h2 go first; a (on h1) is sent to h3 (the emptiest host not yet named). h2
    # is empty, so it is back at once and the rollout takes h3 while a is still copying to it;
    # h3's own VM c leaves after its 60 s notice, a lands before: a must be asked to leave too,
    # or h3 is never emptied.
    fleet_run, events = run(
        _rolling(
            [
                ("a", "r1-h1", "8GiB", "idle"),
                ("c", "r1-h3", "1GiB", "idle", {"watches_metadata": True}),
                ("d", "r1-h4", "32GiB", "idle"),
            ]
        )
    )
    scheduled = {e["host"]: e["t_s"] for e in of_kind(events, "host_scheduled")}
    landed = {e["vm"]: e for e in of_kind(events, "blackout_end")}
    first_a = next(e for e in of_kind(events, "migration_start") if e["vm"] == "a")
    assert first_a["target"] == "r1-h3" and scheduled["r1-h3"] < landed["a"]["t_s"]  # the race
    back = {e["host"] for e in of_kind(events, "host_back")}
    assert back == {"r1-h1", "r1-h2", "r1-h3", "r1-h4"}, "every host in scope is patched"
    assert of_kind(events, "maintenance_done")
    a = fleet_run.records[0]
    assert a.outcome == "migrated" and a.migrations == 2
    assert fleet_run.fleet.hosts[fleet_run.fleet.vms[0].host].patched


def test_no_host_goes_into_maintenance_while_a_migration_streams_into_it():
    # h3 is empty when the rollout takes it, but a is on its way to it
    _, events = run(_rolling([("a", "r1-h1", "8GiB", "idle")]))
    entered = []
    for e, arriving in _in_flight_to(events):
        if e["kind"] == "host_maintenance_start":
            entered.append(e["host"])
            assert not arriving.get(e["host"]), (e, arriving)
    assert sorted(entered) == ["r1-h1", "r1-h2", "r1-h3", "r1-h4"]


def test_a_restart_reserved_on_a_host_that_is_scheduled_meanwhile_goes_elsewhere():
    # t is terminated at once (TERMINATE, no notice) and reserved on h2 (emptier than h3) for
    # its restart 60 s later; meanwhile h1 is done and the rollout takes h2, whose VM c is
    # still copying when t's restart is due
    data = _rolling(
        [
            ("t", "r1-h1", "2GiB", "idle", {"on_host_maintenance": "TERMINATE"}),
            ("c", "r1-h2", "16GiB", "idle"),
            ("d", "r1-h3", "32GiB", "idle"),
        ],
        hosts=3,
        at_once=1,
        downtime="5s",
    )
    fleet_run, events = run(data)
    scheduled = {e["host"]: e["t_s"] for e in of_kind(events, "host_scheduled")}
    (restarted,) = of_kind(events, "restarted")
    assert scheduled["r1-h2"] < restarted["t_s"]
    assert restarted["host"] != "r1-h2", "no VM starts on a host under maintenance"
    assert {e["host"] for e in of_kind(events, "host_back")} == {"r1-h1", "r1-h2", "r1-h3"}


# --- 2. a host with an aborted VM ends as not handled, and the wave goes on -----------------------


def test_a_host_whose_vm_aborts_while_others_still_leave_is_skipped_and_the_next_host_is_taken():
    data = _rolling(
        [
            ("busy", "r1-h1", "1GiB", "muncher"),  # aborted at its 5 s completion timeout
            ("calm", "r1-h1", "8GiB", "idle"),  # still copying when busy aborts
            ("other", "r1-h2", "1GiB", "idle"),
        ],
        hosts=3,
        at_once=1,
        policy={"name": "qemu", "completion_timeout": "5s", "timeout_action": "abort"},
    )
    fleet_run, events = run(data)
    aborted = of_kind(events, "aborted")
    calm_done = next(e for e in of_kind(events, "migrated") if e["vm"] == "calm")
    assert aborted and aborted[0]["vm"] == "busy" and aborted[0]["t_s"] < calm_done["t_s"]
    (skipped,) = of_kind(events, "host_skipped")
    assert skipped["host"] == "r1-h1" and skipped["t_s"] == calm_done["t_s"]
    assert "busy could not be migrated (completion timeout: abort)" in skipped["reason"]
    assert "keeps running on it" in skipped["reason"]
    assert "r1-h2" in {e["host"] for e in of_kind(events, "host_back")}, "the wave goes on"
    (done,) = of_kind(events, "maintenance_done")
    assert done["skipped"] == 1
    assert fleet_run.fleet.hosts[0].state == "up"


def test_the_skip_names_every_vm_that_stays_once_per_reason():
    data = _rolling(
        [("busy", "r1-h1", "1GiB", "muncher"), ("busier", "r1-h1", "1GiB", "muncher")],
        hosts=2,
        at_once=1,
        policy={"name": "qemu", "completion_timeout": "5s", "timeout_action": "abort"},
    )
    _, events = run(data)
    (skipped,) = of_kind(events, "host_skipped")
    assert skipped["reason"] == (
        "busy and busier could not be migrated (completion timeout: abort) and keep running on it"
    )


def test_a_host_is_not_skipped_while_a_vm_of_it_still_waits_for_its_notice():
    # busy aborts at 5 s; watcher is still inside its 60 s notice: the host must wait for it
    data = _rolling(
        [
            ("busy", "r1-h1", "1GiB", "muncher"),
            ("watcher", "r1-h1", "1GiB", "idle", {"watches_metadata": True}),
        ],
        hosts=2,
        at_once=1,
        policy={"name": "qemu", "completion_timeout": "5s", "timeout_action": "abort"},
    )
    fleet_run, events = run(data)
    watcher = fleet_run.records[1]
    assert watcher.outcome == "migrated"
    (skipped,) = of_kind(events, "host_skipped")
    assert skipped["t_s"] >= 60.0


# --- 3. an event that finds nothing left is not the end of the maintenance -----------------------


def test_a_deadline_that_finds_every_host_done_does_not_extend_the_makespan():
    data = scenario(
        hosts=3,
        vms=[("a", "r1-h1", "2GiB", "idle")],
        events=[
            {
                "kind": "urgent_patch",
                "scope": {"hosts": ["r1-h1"]},
                "deadline": "2h",
                "host_downtime": "1min",
            }
        ],
    )
    fleet_run, events = run(data)
    (deadline,) = of_kind(events, "deadline")
    assert deadline["t_s"] == 7200.0 and deadline["hosts_left"] == 0
    last_real = of_kind(events, "maintenance_done")[0]["t_s"]
    assert last_real < 7200.0
    assert summarize(fleet_run)["makespan_s"] == last_real


def test_a_deadline_with_hosts_left_is_still_the_end_of_the_maintenance():
    data = scenario(
        hosts=3,
        vms=[(f"v{i}", "r1-h1", "8GiB", "web") for i in range(6)],
        caps={"per_source_host": 1},
        events=[{"kind": "urgent_patch", "scope": {"hosts": ["r1-h1"]}, "deadline": "60s"}],
    )
    fleet_run, events = run(data)
    assert of_kind(events, "deadline")[0]["hosts_left"] == 1
    assert summarize(fleet_run)["makespan_s"] >= 60.0


def _rebooted_at_a_deadline_during_its_notice(vm_fields):
    """One VM on r1-h1, patched with a 1 s deadline: the VM is still in its notice then (a GPU
    VM's is 60 minutes, a watching guest's 60 s) and is rebooted with its host (restarted on
    r1-h2 a second later); r1-h1 is back 10 s later, the last thing that happens."""
    data = scenario(
        hosts=2,
        vms=[("a", "r1-h1", "2GiB", "idle", vm_fields)],
        events=[
            {
                "kind": "urgent_patch",
                "scope": {"hosts": ["r1-h1"]},
                "deadline": "1s",
                "host_downtime": "10s",
            }
        ],
        timing={"restart": "1s"},
    )
    fleet_run, events = run(data)
    (rebooted,) = of_kind(events, "terminated")
    assert rebooted["t_s"] == 1.0 and rebooted["reason"] == "deadline"
    return fleet_run, events


@pytest.mark.parametrize("vm_fields", [{"accelerator": "gpu"}, {"watches_metadata": True}])
def test_a_notice_that_ends_after_its_vm_was_rebooted_at_the_deadline_is_not_the_makespan(
    vm_fields,
):
    fleet_run, events = _rebooted_at_a_deadline_during_its_notice(vm_fields)
    (back,) = of_kind(events, "host_back")
    assert back["t_s"] == 11.0
    assert summarize(fleet_run)["makespan_s"] == back["t_s"] == events[-1]["t_s"]


def test_a_window_opening_after_its_waiters_were_rebooted_at_the_deadline_is_not_the_makespan():
    # a one-second daily window: one VM migrates in it, the two behind it wait for the next
    # day's opening, but the deadline an hour in reboots them with their host
    data = scenario(
        hosts=2,
        vms=[(f"v{i}", "r1-h1", "8GiB", "web") for i in range(3)],
        caps={"per_source_host": 1},
        events=[
            {
                "kind": "urgent_patch",
                "scope": {"hosts": ["r1-h1"]},
                "window": {"start": "0s", "end": "1s"},
                "deadline": "1h",
                "host_downtime": "10s",
            }
        ],
    )
    fleet_run, events = run(data)
    assert [e["reason"] for e in of_kind(events, "terminated")] == ["deadline", "deadline"]
    (window_open,) = of_kind(events, "window_open")
    assert window_open["t_s"] == 86400.0  # nobody waits for it any more
    last_real = max(e["t_s"] for e in events if e["kind"] != "window_open")
    assert last_real < 2 * 3600
    assert summarize(fleet_run)["makespan_s"] == last_real


# --- 4. each VM's single-VM spec is its own ------------------------------------------------------


def test_two_vms_of_the_same_workload_and_memory_on_different_nics_get_their_own_specs():
    data = scenario(
        vms=[("slow", "s1-h1", "4GiB", "web"), ("fast", "f1-h1", "4GiB", "web")],
        events=[{"kind": "kernel_upgrade", "scope": {"hosts": ["s1-h1", "f1-h1"]}}],
    )
    data["fleet"]["racks"] = [
        {"name": "s", "count": 1, "hosts": 2, "host": {"nic": "1Gbit/s"}},
        {"name": "f", "count": 1, "hosts": 2, "host": {"nic": "100Gbit/s"}},
    ]
    fleet_run = FleetRun(parse_scenario(data))
    share = fleet_run.fleet.migration_share
    for vm in fleet_run.fleet.vms:  # either order: the first one must not decide for the other
        nic = fleet_run.fleet.hosts[vm.host].nic_bps
        assert fleet_run.spec_for(vm).bandwidth_bps == nic * share
    for vm in reversed(fleet_run.fleet.vms):
        nic = fleet_run.fleet.hosts[vm.host].nic_bps
        assert fleet_run.spec_for(vm).bandwidth_bps == nic * share


# --- a host repaired before its impending failure does not fail afterwards ----------------------


def test_a_host_repaired_before_its_hardware_failure_does_not_fail_after_it_is_back():
    # the VM leaves in seconds, the host is repaired in a minute; its failure (mean 30 min)
    # comes almost always later: then the repair has removed its cause
    failed_after_back = 0
    for seed in range(1, 6):
        data = scenario(
            hosts=3,
            seed=seed,
            vms=[("a", "r1-h1", "1GiB", "idle"), ("b", "r1-h2", "1GiB", "idle")],
            events=[
                {
                    "kind": "hw_failure",
                    "scope": {"hosts": ["r1-h1"]},
                    "failure_after": "30min",
                    "host_downtime": "1min",
                }
            ],
        )
        fleet_run, events = run(data)
        (back,) = of_kind(events, "host_back")
        failed_after_back += sum(
            1 for e in of_kind(events, "host_failed") if e["t_s"] > back["t_s"]
        )
        assert of_kind(events, "crashed") == []
        assert fleet_run.fleet.hosts[0].state == "up"
    assert failed_after_back == 0


# --- 5. hosts taken past their deadline are rebooted, not skipped ---------------------------------


def _deadline_before_most_hosts_are_taken(racks: int, hosts: int = 10) -> dict:
    """One host at a time, a deadline long before most hosts' turn: they are taken at the
    deadline, each with several VMs on it and nothing arriving (the last rack stays up)."""
    return scenario(
        racks=racks + 1,
        hosts=hosts,
        mix={"per_host": 3, "memory": ["1GiB", "2GiB"], "mix": {"web": 1}},
        events=[
            {
                "kind": "urgent_patch",
                "scope": {"racks": [f"r{i + 1}" for i in range(racks)]},
                "max_hosts_in_maintenance": 1,
                "deadline": "1s",
                "host_downtime": "1min",
            }
        ],
    )


def test_every_host_taken_at_the_deadline_goes_into_maintenance_with_all_its_vms_rebooted():
    # The host was once settled after its first VM was stopped, and skipped "for" the VMs not
    # yet asked to leave: it stayed up, out of its maintenance.
    fleet_run, events = run(_deadline_before_most_hosts_are_taken(1, hosts=5))
    assert of_kind(events, "host_skipped") == []
    taken_at_deadline = [e["host"] for e in of_kind(events, "host_scheduled") if e["t_s"] == 1.0]
    assert len(taken_at_deadline) >= 3
    maintained = {e["host"] for e in of_kind(events, "host_maintenance_start")}
    assert set(taken_at_deadline) <= maintained
    rebooted = {e["host"] for e in of_kind(events, "terminated") if e["reason"] == "deadline"}
    assert set(taken_at_deadline) <= rebooted


def test_a_deadline_that_takes_thousands_of_hosts_at_once_runs():
    # each host taken at the deadline once started the next one's taking inside its own:
    # 1,600 hosts of heartbleed overflowed Python's stack
    fleet_run, events = run(_deadline_before_most_hosts_are_taken(150))
    assert of_kind(events, "host_skipped") == []
    assert len(of_kind(events, "host_maintenance_start")) == 1500
