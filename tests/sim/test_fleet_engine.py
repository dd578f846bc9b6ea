"""The fleet engine: each VM's phases, the caps, placement, failures, in seeded scenarios."""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.fleet import FleetRun, parse_scenario, summarize
from migrationsim.migration import new_memory
from migrationsim.precopy import LinkRate, Precopy
from migrationsim.switchover import device_and_resume_s

from .fleet_support import (
    max_concurrent,
    of_kind,
    run,
    scenario,
    six_vms_with_flaky_targets,
    two_vms_whose_source_fails,
)

GIB = 1024**3


def test_golden_timeline_of_a_two_vm_evacuation():
    _, events = run(
        scenario(
            vms=[
                ("a", "r1-h1", "4GiB", "web", {"watches_metadata": True}),
                ("b", "r1-h1", "2GiB", "idle"),
            ]
        )
    )
    log = [
        (round(e["t_s"], 3), e["kind"], e.get("vm") or e.get("host") or e.get("event"))
        for e in events
        if e["kind"] != "round"
    ]
    assert log == [
        (0.0, "maintenance_start", "kernel_upgrade-1"),
        (0.0, "host_scheduled", "r1-h1"),
        (0.0, "notice", "a"),  # a watches the metadata key: 60 s of warning
        (0.0, "notice", "b"),  # b does not: no warning
        (0.0, "migration_start", "b"),
        (2.0, "precopy_start", "b"),  # after target setup and authentication
        (8.434, "blackout_start", "b"),
        (8.475, "blackout_end", "b"),
        (10.379, "post_brownout_end", "b"),
        (11.379, "migrated", "b"),
        (11.379, "notice", "b"),  # back to NONE
        (11.379, "migration_end", "b"),
        (60.0, "migration_start", "a"),
        (62.0, "precopy_start", "a"),
        (87.251, "blackout_start", "a"),
        (87.331, "blackout_end", "a"),
        (89.395, "post_brownout_end", "a"),
        (90.395, "migrated", "a"),
        (90.395, "notice", "a"),
        (90.395, "migration_end", "a"),
        (90.395, "host_maintenance_start", "r1-h1"),
        (690.395, "host_back", "r1-h1"),
        (690.395, "maintenance_done", "kernel_upgrade-1"),
    ]
    assert [e["value"] for e in of_kind(events, "notice")] == [
        "MIGRATE_ON_HOST_MAINTENANCE",
        "MIGRATE_ON_HOST_MAINTENANCE",
        "NONE",
        "NONE",
    ]
    assert [e["lead_s"] for e in of_kind(events, "notice")][:2] == [60.0, 0.0]


def test_a_fleet_of_one_vm_gives_the_single_vm_result():
    fleet_run, events = run(scenario(vms=[("solo", "r1-h1", "8GiB", "oltp")]))
    record = fleet_run.records[0]
    # the host NIC's migration share (half of 10 Gbit/s) is the single VM's link
    spec = build_spec(memory="8GiB", workload="oltp", bandwidth=0.5 * 10e9 / 8)
    # The fleet shares links by average rates: its flow runs at the 128 MiB/s cap without
    # pause, the same Precopy driven at that rate, with the final copy at the NIC's share.
    memory, _ = new_memory(spec)
    precopy = Precopy(spec, memory)
    rounds = list(precopy.rounds(LinkRate(spec.max_bandwidth_bps)))
    final_pages, final_wire = memory.send_all()
    assert record.precopy_s == pytest.approx(precopy.result.time_s, rel=1e-9)
    assert record.rounds == len(rounds) == precopy.result.live_rounds
    assert record.blackout_s == pytest.approx(
        final_wire / spec.bandwidth_bps + device_and_resume_s(spec, spec.bandwidth_bps), rel=1e-9
    )
    assert record.bytes_sent == pytest.approx(
        precopy.result.live_wire_bytes + final_wire + spec.device_state_bytes, rel=1e-9
    )
    # The single-VM model sends each window's budget at link speed and then sleeps, as QEMU
    # does; the same migration differs from the fleet's smooth flow by under 1 %.
    single = simulate(spec).to_dict()
    assert record.precopy_s == pytest.approx(single["precopy_time_s"], rel=0.01)
    assert record.bytes_sent == pytest.approx(single["bytes_sent"], rel=0.01)


def test_vms_that_cannot_live_migrate_are_terminated_and_restarted_when_allowed():
    _, events = run(
        scenario(
            vms=[
                ("gpu", "r1-h1", "8GiB", "idle", {"accelerator": "gpu"}),
                ("spot", "r1-h1", "2GiB", "web", {"spot": True}),
                (
                    "term",
                    "r1-h1",
                    "2GiB",
                    "web",
                    {"on_host_maintenance": "TERMINATE", "watches_metadata": True},
                ),
                (
                    "norestart",
                    "r1-h1",
                    "2GiB",
                    "web",
                    {"on_host_maintenance": "TERMINATE", "automatic_restart": False},
                ),
            ]
        )
    )
    notices = {e["vm"]: (e["value"], e["lead_s"]) for e in of_kind(events, "notice")}
    assert notices == {
        "gpu": ("TERMINATE_ON_HOST_MAINTENANCE", 3600.0),
        "spot": ("TERMINATE_ON_HOST_MAINTENANCE", 30.0),
        "term": ("TERMINATE_ON_HOST_MAINTENANCE", 60.0),
        "norestart": ("TERMINATE_ON_HOST_MAINTENANCE", 0.0),
    }
    terminated = {e["vm"]: e["t_s"] for e in of_kind(events, "terminated")}
    assert terminated == {"norestart": 0.0, "spot": 30.0, "term": 60.0, "gpu": 3600.0}
    assert all(e["reason"] == "not_migratable" for e in of_kind(events, "terminated"))
    assert sorted(e["vm"] for e in of_kind(events, "restarted")) == ["gpu", "term"]
    assert of_kind(events, "migration_start") == []


def test_outcomes_are_counted_per_vm():
    fleet_run, _ = run(
        scenario(
            vms=[
                ("gpu", "r1-h1", "8GiB", "idle", {"accelerator": "gpu"}),
                ("spot", "r1-h1", "2GiB", "web", {"spot": True}),
                ("moved", "r1-h1", "2GiB", "web"),
                ("stays", "r1-h2", "2GiB", "web"),
            ]
        )
    )
    outcomes = summarize(fleet_run)["outcomes"]
    assert outcomes["restarted"] == 1 and outcomes["terminated"] == 1
    assert outcomes["migrated"] == 1 and outcomes["unaffected"] == 1


def eight_vms(host="r1-h1", workload="idle"):
    return [(f"vm{i}", host, "2GiB", workload) for i in range(8)]


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_the_per_source_host_cap_limits_concurrent_departures(cap):
    _, events = run(
        scenario(hosts=4, vms=eight_vms(), caps={"per_source_host": cap, "per_target_host": 8})
    )
    assert max_concurrent(events, key=lambda e: e["source"]) == {"r1-h1": cap}
    queued = of_kind(events, "queued")
    assert queued and all(e["reason"] == "cap_source_host" for e in queued)
    assert "per-host cap" in queued[0]["detail"]


def test_the_per_target_host_cap_limits_arrivals():
    _, events = run(
        scenario(hosts=2, vms=eight_vms(), caps={"per_source_host": 8, "per_target_host": 2})
    )
    assert max_concurrent(events, key=lambda e: e["target"]) == {"r1-h2": 2}
    assert {e["reason"] for e in of_kind(events, "queued")} == {"cap_target_host"}


def test_the_per_rack_cap_limits_departures_from_a_rack():
    vms = eight_vms("r1-h1") + [(f"w{i}", "r1-h2", "2GiB", "idle") for i in range(8)]
    data = scenario(
        racks=2,
        hosts=2,
        vms=vms,
        caps={"per_source_host": 4, "per_target_host": 8, "per_rack": 3},
        events=[
            {"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}, "max_hosts_in_maintenance": 2}
        ],
    )
    _, events = run(data)
    assert max_concurrent(events, key=lambda e: e["source"][:2]) == {"r1": 3}
    assert "cap_rack" in {e["reason"] for e in of_kind(events, "queued")}


def test_the_per_customer_cap_limits_one_customer_only():
    vms = [(f"a{i}", "r1-h1", "2GiB", "idle", {"customer": "acme"}) for i in range(4)] + [
        (f"b{i}", "r1-h1", "2GiB", "idle", {"customer": "beta"}) for i in range(4)
    ]
    _, events = run(
        scenario(
            hosts=3, vms=vms, caps={"per_source_host": 8, "per_target_host": 8, "per_customer": 1}
        )
    )
    customer = {f"a{i}": "acme" for i in range(4)} | {f"b{i}": "beta" for i in range(4)}
    assert max_concurrent(events, key=lambda e: customer[e["vm"]]) == {"acme": 1, "beta": 1}
    assert "cap_customer" in {e["reason"] for e in of_kind(events, "queued")}


def test_the_global_cap_limits_the_whole_zone():
    vms = eight_vms("r1-h1") + [(f"w{i}", "r1-h2", "2GiB", "idle") for i in range(8)]
    data = scenario(
        hosts=4,
        vms=vms,
        caps={"per_source_host": 4, "per_target_host": 8, "global": 3},
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"hosts": ["r1-h1", "r1-h2"]},
                "max_hosts_in_maintenance": 2,
            }
        ],
    )
    fleet_run, events = run(data)
    assert max_concurrent(events) == {"all": 3}
    assert fleet_run.peak_concurrent == 3
    assert "cap_global" in {e["reason"] for e in of_kind(events, "queued")}


def test_no_vm_lands_on_a_host_under_or_scheduled_for_maintenance():
    data = scenario(
        racks=2,
        hosts=4,
        mix={"per_host": 6, "mix": {"idle": 1}},
        events=[
            {"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}, "max_hosts_in_maintenance": 2}
        ],
    )
    _, events = run(data)
    busy, landed_on_busy = set(), []
    for e in events:
        if e["kind"] == "host_scheduled":
            busy.add(e["host"])
        elif e["kind"] == "host_back":
            busy.discard(e["host"])
        elif e["kind"] == "migration_start" and e["target"] in busy:
            landed_on_busy.append(e)
    assert of_kind(events, "migration_start") and landed_on_busy == []


def test_anti_affinity_keeps_a_group_apart():
    vms = [(f"g{i}", "r1-h1", "2GiB", "idle", {"anti_affinity": "db"}) for i in range(3)]
    fleet_run, events = run(scenario(hosts=4, vms=vms, caps={"per_source_host": 1}))
    targets = [e["target"] for e in of_kind(events, "migration_start")]
    assert sorted(targets) == ["r1-h2", "r1-h3", "r1-h4"]


def test_a_vm_with_nowhere_to_go_waits_with_the_reason_in_words():
    data = scenario(
        hosts=2,
        host={"vcpus": 64, "memory": "16GiB", "nic": "10Gbit/s"},
        vms=[("big", "r1-h1", "12GiB", "idle"), ("filler", "r1-h2", "8GiB", "idle")],
    )
    fleet_run, events = run(data)
    queued = of_kind(events, "queued")
    assert [e["reason"] for e in queued] == ["no_target"]
    assert "lack capacity" in queued[0]["detail"]
    assert summarize(fleet_run)["outcomes"]["stuck"] == 1
    assert fleet_run.records[0].wait_reason == "no_target"


def test_head_of_line_blocking_is_explained():
    data = scenario(
        hosts=2,
        host={"vcpus": 64, "memory": "16GiB", "nic": "10Gbit/s"},
        vms=[
            ("big", "r1-h1", "12GiB", "idle"),
            ("small", "r1-h1", "1GiB", "idle"),
            ("filler", "r1-h2", "8GiB", "idle"),
        ],
        caps={"per_source_host": 1},
    )
    fleet_run, _ = run(data)
    small = fleet_run.records[1]
    assert small.outcome == "stuck" and small.wait_reason == "head_of_line"
    assert "behind big" in small.reason


def test_an_authentication_failure_retries_with_another_target():
    data = scenario(
        hosts=3, vms=[("a", "r1-h1", "2GiB", "idle")], failures={"auth_failure": 0.5}, seed=3
    )
    fleet_run, events = run(data)
    kinds = [e["kind"] for e in events if e.get("vm") == "a"]
    assert "auth_failed" in kinds and "target_retry" in kinds
    assert fleet_run.records[0].outcome == "migrated"
    failed = of_kind(events, "auth_failed")[0]["target"]
    assert of_kind(events, "migrated")[0]["target"] != failed


def test_a_target_failure_before_the_switch_backs_out_and_the_vm_stays_on_its_source():
    data = scenario(hosts=3, vms=[("a", "r1-h1", "8GiB", "web")], failures={"target_failure": 1.0})
    fleet_run, events = run(data)
    kinds = [e["kind"] for e in events if e.get("vm") == "a"]
    assert kinds.count("target_failed") == kinds.count("backed_out") == 3
    assert kinds.index("target_failed") < kinds.index("backed_out")
    assert "blackout_start" not in kinds  # it never switched
    record = fleet_run.records[0]
    assert record.outcome == "aborted" and record.attempts == 3
    assert fleet_run.fleet.hosts[fleet_run.fleet.vms[0].host].name == "r1-h1"


def test_a_failed_attempt_is_retried_and_can_succeed():
    data = six_vms_with_flaky_targets()
    fleet_run, events = run(data)
    retried = [r for r in fleet_run.records if r.attempts > 1 and r.outcome == "migrated"]
    assert of_kind(events, "target_failed") and retried


def test_a_source_failure_during_migration_crashes_its_vms():
    data = two_vms_whose_source_fails()
    fleet_run, events = run(data)
    assert of_kind(events, "host_failed")[0]["host"] == "r1-h1"
    assert {e["vm"] for e in of_kind(events, "crashed")} == {"a", "b"}
    assert {r.outcome for r in fleet_run.records} == {"crashed"}
    assert {e["vm"] for e in of_kind(events, "restarted") if e["host_error"]} == {"a", "b"}


def test_a_migration_that_cannot_converge_is_aborted_and_its_host_skipped():
    data = scenario(
        vms=[("hog", "r1-h1", "2GiB", "muncher")],
        policy={"name": "qemu", "completion_timeout": "10s"},
    )
    fleet_run, events = run(data)
    aborted = of_kind(events, "aborted")
    assert aborted and aborted[0]["reason"] == "timeout_abort"
    assert fleet_run.records[0].outcome == "aborted"
    assert of_kind(events, "host_skipped")[0]["host"] == "r1-h1"
    assert of_kind(events, "maintenance_done")


def test_a_failing_host_crashes_the_vms_still_on_it():
    vms = [(f"v{i}", "r1-h1", "16GiB", "oltp") for i in range(6)]
    data = scenario(
        hosts=3,
        vms=vms,
        caps={"per_source_host": 1},
        events=[{"kind": "hw_failure", "scope": {"hosts": ["r1-h1"]}, "failure_after": "60s"}],
    )
    fleet_run, events = run(data)
    outcomes = {r.outcome for r in fleet_run.records}
    assert "crashed" in outcomes
    failed_at = of_kind(events, "host_failed")[0]["t_s"]
    for e in of_kind(events, "crashed"):
        assert e["t_s"] == failed_at and "hostError" in e["detail"]


def test_past_the_deadline_remaining_vms_are_rebooted_with_their_host():
    vms = [(f"v{i}", "r1-h1", "8GiB", "web") for i in range(6)]
    data = scenario(
        hosts=3,
        vms=vms,
        caps={"per_source_host": 1},
        events=[{"kind": "urgent_patch", "scope": {"hosts": ["r1-h1"]}, "deadline": "60s"}],
    )
    fleet_run, events = run(data)
    assert of_kind(events, "deadline")[0]["t_s"] == 60.0
    rebooted = [e for e in of_kind(events, "terminated") if e["reason"] == "deadline"]
    assert rebooted and all(e["t_s"] == 60.0 for e in rebooted)
    assert summarize(fleet_run)["outcomes"]["migrated"] >= 1


def test_migrations_wait_for_the_maintenance_window():
    data = scenario(
        vms=[("a", "r1-h1", "2GiB", "idle")],
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"hosts": ["r1-h1"]},
                "window": {"start": "1h", "end": "2h"},
            }
        ],
    )
    _, events = run(data)
    assert of_kind(events, "queued")[0]["reason"] == "outside_window"
    assert of_kind(events, "migration_start")[0]["t_s"] == 3600.0


def test_a_bios_rollout_goes_rack_by_rack():
    data = scenario(
        racks=3,
        hosts=2,
        mix={"per_host": 2, "mix": {"idle": 1}},
        events=[{"kind": "bios_rollout", "scope": {"zone": True}}],
    )
    _, events = run(data)
    scheduled = [(e["t_s"], e["rack"]) for e in of_kind(events, "host_scheduled")]
    racks_in_order = [rack for _, rack in scheduled]
    assert racks_in_order == ["r1", "r1", "r2", "r2", "r3", "r3"]
    back = {e["host"]: e["t_s"] for e in of_kind(events, "host_back")}
    assert scheduled[2][0] >= max(back["r1-h1"], back["r1-h2"])  # r2 starts when r1 is done


def test_overlapping_events_take_a_shared_host_one_after_the_other():
    data = scenario(
        hosts=3,
        vms=[("a", "r1-h1", "2GiB", "idle")],
        events=[
            {"kind": "kernel_upgrade", "scope": {"hosts": ["r1-h1"]}},
            {"kind": "bios_rollout", "scope": {"hosts": ["r1-h1", "r1-h2"]}, "start": "10s"},
        ],
    )
    _, events = run(data)
    done = of_kind(events, "maintenance_done")
    assert len(done) == 2
    scheduled = [(e["host"], e["event"]) for e in of_kind(events, "host_scheduled")]
    assert scheduled.count(("r1-h1", "bios_rollout-2")) == 1


def test_the_same_seed_gives_the_same_run_and_events_stream_as_produced():
    data = scenario(
        racks=2,
        hosts=4,
        mix={"per_host": 8, "mix": {"web": 1, "oltp": 1}},
        events=[{"kind": "urgent_patch", "scope": {"zone": True}, "deadline": "2h"}],
    )
    first = summarize(run(data)[0])
    again = summarize(run(data)[0])
    assert first == again
    streamed = list(FleetRun(parse_scenario(data)).events())
    _, collected = run(data)
    assert streamed == collected
    assert [e["t_s"] for e in streamed] == sorted(e["t_s"] for e in streamed)
    other = summarize(run({**data, "seed": 2})[0])
    assert other != first


def test_forwarding_counts_packets_and_the_added_latency_or_the_losses():
    with_fwd, _ = run(scenario(vms=[("a", "r1-h1", "2GiB", "web")]))
    record = with_fwd.records[0]
    assert record.forwarded_packets > 0 and record.lost_packets == 0
    assert record.forwarding_latency_s == pytest.approx(50e-6)
    # the source forwards the web preset's 20,000 packets/s for the drawn convergence time
    assert record.forwarded_packets == pytest.approx(20_000 * record.post_brownout_s)
    without, _ = run(scenario(vms=[("a", "r1-h1", "2GiB", "web")], policy={"forwarding": False}))
    assert without.records[0].forwarded_packets == 0 and without.records[0].lost_packets > 0


def test_a_vm_with_no_room_to_restart_stays_terminated_and_says_why():
    data = scenario(
        hosts=2,
        host={"vcpus": 64, "memory": "16GiB", "nic": "10Gbit/s"},
        vms=[
            ("gpu", "r1-h1", "12GiB", "idle", {"accelerator": "gpu"}),
            ("filler", "r1-h2", "8GiB", "idle"),
        ],
    )
    fleet_run, events = run(data)
    record = fleet_run.records[0]
    assert record.outcome == "terminated"
    assert "no host had room to restart it" in record.reason
    assert of_kind(events, "restarted") == []


def test_planned_waves_follow_the_controllers_rules():
    from migrationsim.fleet import planned_waves

    rolling = parse_scenario(
        scenario(
            racks=2,
            hosts=4,
            events=[
                {"kind": "kernel_upgrade", "scope": {"zone": True}, "max_hosts_in_maintenance": 3}
            ],
        )
    )
    run = FleetRun(rolling)
    waves = planned_waves(rolling.events[0], run.scope(rolling.events[0]))
    assert [len(w) for w in waves] == [3, 3, 2]
    bios = parse_scenario(
        scenario(racks=3, hosts=2, events=[{"kind": "bios_rollout", "scope": {"zone": True}}])
    )
    run = FleetRun(bios)
    waves = planned_waves(bios.events[0], run.scope(bios.events[0]))
    assert [[h.name for h in w] for w in waves] == [
        ["r1-h1", "r1-h2"],
        ["r2-h1", "r2-h2"],
        ["r3-h1", "r3-h2"],
    ]
