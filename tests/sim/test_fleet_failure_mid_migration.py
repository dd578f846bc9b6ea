"""A host that fails while one of its migrations is past pre-copy: what the VM lives through
depends on where its state is at that instant (QEMU and GCE alike).

- In the blackout the VM is paused on its source, which still holds all of it: if the target
  fails, the migration fails and the VM resumes on its source; if the source fails, the VM is
  lost with it (it crashes, and restarts elsewhere if it restarts automatically).
- After a post-copy switch the VM runs on its target but pages it has not pulled yet are on
  its source: if the source fails before the push ends, the VM crashes on its target.
- After a pre-copy switch the target holds all of the VM: the source failing loses nothing.

Each case runs the same one-VM fleet twice: once to read the phase's times off the event log,
once with the host failing in the middle of that phase (``FleetRun.at`` before ``run``)."""

from migrationsim.fleet import FleetRun, parse_scenario, summarize

from .fleet_support import of_kind, scenario


def _fleet(policy=None):
    return scenario(
        hosts=3,
        vms=[("a", "r1-h1", "8GiB", "web", {"automatic_restart": True})],
        policy=policy or {"name": "qemu"},
    )


def _run(data, fail_at_s=None, host_name=None):
    events = []
    fleet_run = FleetRun(parse_scenario(data), events.append)
    if fail_at_s is not None:
        host = next(h for h in fleet_run.fleet.hosts if h.name == host_name)
        fleet_run.at(fail_at_s, fleet_run._host_fails, host, "a test's power cut")
    return fleet_run.run(), events


def _midway(events, start_kind, end_kind):
    (start,) = of_kind(events, start_kind)
    (end,) = of_kind(events, end_kind)
    assert end["t_s"] > start["t_s"]
    return (start["t_s"] + end["t_s"]) / 2


def _target_of(events):
    (start,) = of_kind(events, "migration_start")
    return start["target"]


def _accounting_is_sound(fleet_run):
    """Every running VM is on exactly one host, and no host has given back more than it had."""
    where = {}
    for host in fleet_run.fleet.hosts:
        for vm_id in host.vms:
            assert vm_id not in where, f"VM {vm_id} runs on two hosts"
            where[vm_id] = host.name
    for host in fleet_run.fleet.hosts:
        used = sum(fleet_run.fleet.vms[v].memory_bytes for v in host.vms)
        assert host.used_memory_bytes >= used >= 0


def test_target_failing_in_the_blackout_leaves_the_vm_running_on_its_source():
    data = _fleet()
    _, clean = _run(data)
    target = _target_of(clean)
    fleet_run, events = _run(data, _midway(clean, "blackout_start", "blackout_end"), target)

    assert of_kind(events, "target_failed")[0]["vm"] == "a"
    assert of_kind(events, "migration_end")[0]["result"] == "target_failed"
    assert not any(e["vm"] == "a" and e["host"] == target for e in of_kind(events, "blackout_end"))
    rec = fleet_run.records[0]
    assert rec.outcome != "crashed"  # retried (and migrated elsewhere) or kept on its source
    assert rec.failed_bytes > 0
    _accounting_is_sound(fleet_run)


def test_source_failing_in_the_blackout_loses_the_vm_with_it():
    data = _fleet()
    _, clean = _run(data)
    fleet_run, events = _run(data, _midway(clean, "blackout_start", "blackout_end"), "r1-h1")

    rec = fleet_run.records[0]
    assert rec.outcome == "crashed"
    assert of_kind(events, "migrated") == []  # never narrated as a success
    assert of_kind(events, "blackout_end") == []
    assert of_kind(events, "migration_end")[0]["result"] == "source_failed"
    assert rec.restarts_after_crash == 1
    assert summarize(fleet_run)["outcomes"]["migrated"] == 0
    _accounting_is_sound(fleet_run)


def test_source_failing_during_a_post_copy_push_crashes_the_vm_on_its_target():
    data = _fleet({"name": "qemu", "post_copy": True})
    _, clean = _run(data)
    (start,) = of_kind(clean, "blackout_end")
    (post_end,) = of_kind(clean, "post_brownout_end")
    assert post_end["post_brownout_s"] > 0.5  # seconds of pushing 8 GiB's leftovers
    fail_at_s = start["t_s"] + 0.25  # the push is under way
    fleet_run, events = _run(data, fail_at_s, "r1-h1")

    rec = fleet_run.records[0]
    assert rec.outcome == "crashed"
    assert of_kind(events, "migrated") == []
    (crash,) = [e for e in of_kind(events, "crashed") if e["vm"] == "a"]
    assert crash["host"] == _target_of(clean)
    assert "post-copy" in crash["detail"]
    _accounting_is_sound(fleet_run)


def test_target_failing_after_the_switch_ends_the_migration_with_the_crash():
    """The VM runs on its target from the blackout's end: if the target fails in the
    post-migration brownout or the cleanup after it, the VM crashes there and its migration
    ends at that instant (it used to end at a cleanup that would never come, holding the
    arrival slot while the failed host went into maintenance)."""
    data = _fleet()
    _, clean = _run(data)
    target = _target_of(clean)
    for start_kind, end_kind in (
        ("blackout_end", "post_brownout_end"),  # the post-migration brownout
        ("post_brownout_end", "migration_end"),  # the cleanup
    ):
        fail_at_s = _midway(clean, start_kind, end_kind)
        fleet_run, events = _run(data, fail_at_s, target)

        (end,) = of_kind(events, "migration_end")
        assert end["t_s"] == fail_at_s and end["result"] == "target_failed"
        (crash, *_) = [e for e in of_kind(events, "crashed") if e["vm"] == "a"]
        assert crash["t_s"] == fail_at_s and crash["host"] == target
        assert of_kind(events, "migrated") == []  # never narrated as a success
        assert fleet_run.records[0].outcome == "crashed"
        assert fleet_run.records[0].failed_bytes > 0
        assert all(h.incoming == 0 and h.outgoing == 0 for h in fleet_run.fleet.hosts)
        _accounting_is_sound(fleet_run)


def test_source_failing_after_a_pre_copy_switch_loses_nothing():
    data = _fleet()
    _, clean = _run(data)
    fleet_run, events = _run(data, _midway(clean, "blackout_end", "post_brownout_end"), "r1-h1")

    rec = fleet_run.records[0]
    assert rec.outcome == "migrated"
    assert of_kind(events, "crashed") == []
    _accounting_is_sound(fleet_run)


def test_a_scheduled_host_waiting_for_an_arrival_whose_source_fails_goes_into_maintenance():
    """r1-h3 is scheduled while two VMs stream into it from r1-h1; its own VMs leave, then
    r1-h1 fails and those two migrations end. Nothing is left to wait for: r1-h3 is patched
    (until session 11 it stayed scheduled for ever, its maintenance never done)."""
    data = scenario(
        hosts=3,
        seed=377,
        mix={
            "per_host": 3,
            "memory": ["1GiB", "8GiB"],
            "vcpus": [1, 4],
            "mix": {"idle": 1, "web": 1, "oltp": 1},
            "watching_share": 0.5,
            "anti_affinity_groups": 2,
            "anti_affinity_share": 0,
        },
        host={"vcpus": 32, "memory": "48GiB", "nic": "10Gbit/s"},
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"zone": True},
                "max_hosts_in_maintenance": 2,
                "host_downtime": "0s",
            }
        ],
        policy={"name": "qemu", "completion_timeout": "20s"},
        caps={"per_source_host": 2, "per_target_host": 3, "headroom": 0},
        failures={"source_failure": 0.1},
    )
    fleet_run, events = _run(data)
    (r1_h1_failed,) = [e for e in of_kind(events, "host_failed") if e["host"] == "r1-h1"]
    cut = [
        e
        for e in of_kind(events, "migration_end")
        if e["target"] == "r1-h3" and e["source"] == "r1-h1" and e["result"] == "source_failed"
    ]
    assert len(cut) == 2 and all(e["t_s"] == r1_h1_failed["t_s"] for e in cut)
    starts = [e for e in of_kind(events, "host_maintenance_start") if e["host"] == "r1-h3"]
    assert starts and starts[0]["t_s"] == r1_h1_failed["t_s"]
    assert {h.name: h.state for h in fleet_run.fleet.hosts}["r1-h3"] == "up"  # patched, back
    assert of_kind(events, "maintenance_done")


def test_a_vm_still_queued_when_its_host_fails_waited_until_the_failure():
    """Its queue wait read 0 s (only a start ended a wait), pulling the run's median down:
    hw-failure's median queue wait was 29.5 s where its queued VMs had waited minutes."""
    from .fleet_support import run, two_vms_whose_source_fails

    fleet_run, events = run(two_vms_whose_source_fails())
    (failed,) = of_kind(events, "host_failed")
    (queued,) = [e for e in of_kind(events, "queued") if e["vm"] == "b"]
    b = next(r for r in fleet_run.records if fleet_run.fleet.vms[r.vm].name == "b")
    assert b.outcome == "crashed" and b.attempts == 0
    assert b.queue_wait_s == failed["t_s"] - queued["t_s"] > 0


def test_a_target_scheduled_under_an_arrival_that_backs_out_still_goes_into_maintenance():
    """An urgent patch's deadline schedules the host a migration is streaming into; that
    migration then backs out (a target failure drawn for the attempt). The host waited for the
    arrival: once it will not come, the empty host goes into maintenance (it stayed scheduled
    for ever, its maintenance never done)."""
    data = {
        "seed": 410,
        "fleet": {
            "racks": [{"name": "r", "count": 1, "hosts": 2}],
            "host": {"vcpus": 32, "memory": "48GiB", "nic": "10Gbit/s"},
            "vms": {"per_host": 1, "memory": ["1GiB", "8GiB"], "vcpus": [1, 4]},
        },
        "events": [
            {
                "kind": "urgent_patch",
                "scope": {"zone": True},
                "max_hosts_in_maintenance": 1,
                "host_downtime": "0s",
                "deadline": "30s",
            }
        ],
        "policy": {"name": "qemu", "completion_timeout": "20s"},
        "caps": {"per_source_host": 1, "per_target_host": 1},
        "failures": {"target_failure": 0.3},
    }
    fleet_run, events = _run(data)
    (scheduled,) = [e for e in of_kind(events, "host_scheduled") if e["host"] == "r1-h2"]
    arrivals = [e for e in of_kind(events, "backed_out") if e["t_s"] > scheduled["t_s"]]
    assert arrivals, "the scenario no longer backs an arrival out after the deadline"
    (repair,) = [e for e in of_kind(events, "host_maintenance_start") if e["host"] == "r1-h2"]
    assert repair["t_s"] == arrivals[0]["t_s"]
    assert all(h.state == "up" for h in fleet_run.fleet.hosts)
    _accounting_is_sound(fleet_run)
