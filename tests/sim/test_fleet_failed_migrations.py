"""A migration that fails or is aborted did work on the network before it ended: the bytes it
sent and the time it ran are in its VM's record and in the run's totals, never dropped.

Every expectation is read off the event log by hand: a migration runs from its
``migration_start`` to its failure, and in pre-copy it sends at its ``precopy_start`` rate
(QEMU's 128 MiB/s cap here: far below the NIC's share, so the rate never changes)."""

import pytest

from migrationsim.fleet import summarize

from .fleet_support import (
    of_kind,
    run,
    scenario,
    six_vms_with_flaky_targets,
    two_vms_whose_source_fails,
)

CAP = 128 * 2**20  # QEMU's default max_bandwidth, bytes a second
WINDOW_S = 0.1  # QEMU sends in 100 ms rate-limit windows: a window's bytes is the slack


def test_three_attempts_that_fail_on_their_target_count_every_byte_and_second_they_ran():
    """target_failure 1.0: each of the three attempts loses its target during pre-copy; the VM
    gives up (aborted) and keeps running on its source. Before, it read 0 bytes sent."""
    data = scenario(hosts=3, vms=[("a", "r1-h1", "8GiB", "web")], failures={"target_failure": 1.0})
    fleet_run, events = run(data)
    rec = fleet_run.records[0]
    starts = of_kind(events, "migration_start")
    precopies = of_kind(events, "precopy_start")
    failures = of_kind(events, "target_failed")
    assert rec.outcome == "aborted" and len(starts) == len(precopies) == len(failures) == 3
    assert all(p["rate_bps"] == CAP for p in precopies)

    ran_s = sum(f["t_s"] - s["t_s"] for s, f in zip(starts, failures, strict=True))
    copying_s = sum(f["t_s"] - p["t_s"] for p, f in zip(precopies, failures, strict=True))
    assert rec.failed_s == pytest.approx(ran_s, rel=1e-12)  # setup (2 s each) included
    assert rec.failed_s == pytest.approx(copying_s + 3 * 2.0, rel=1e-12)
    assert rec.bytes_sent == rec.failed_bytes
    assert abs(rec.bytes_sent - copying_s * CAP) <= 3 * WINDOW_S * CAP
    assert rec.bytes_sent > 1e9  # tens of seconds at 128 MiB/s: gigabytes, not 0

    summary = summarize(fleet_run)
    assert summary["bytes_sent"] == summary["failed_bytes_sent"] == rec.bytes_sent
    assert summary["failed_migration_s"] == rec.failed_s


def test_a_retried_migration_that_succeeds_counts_its_failed_attempts_too():
    data = six_vms_with_flaky_targets()
    fleet_run, events = run(data)
    retried = [r for r in fleet_run.records if r.attempts > 1 and r.outcome == "migrated"]
    assert retried
    for rec in retried:
        name = fleet_run.fleet.vms[rec.vm].name
        failed = [e for e in of_kind(events, "target_failed") if e["vm"] == name]
        starts = [e for e in of_kind(events, "migration_start") if e["vm"] == name]
        assert len(failed) == rec.attempts - 1 == len(starts) - 1
        ran_s = sum(f["t_s"] - s["t_s"] for s, f in zip(starts, failed, strict=False))
        assert rec.failed_s == pytest.approx(ran_s, rel=1e-12)
        assert 0 < rec.failed_bytes < rec.bytes_sent  # the last attempt's bytes are the rest
    summary = summarize(fleet_run)
    assert summary["bytes_sent"] == sum(r.bytes_sent for r in fleet_run.records)
    assert summary["failed_bytes_sent"] == sum(r.failed_bytes for r in fleet_run.records) > 0


def test_migrations_cut_short_by_their_source_failing_count_what_they_sent():
    """source_failure 1.0: the source fails during the first migration's first pass, the VMs
    crash (and restart elsewhere). The one migrating had sent data: it is counted."""
    data = two_vms_whose_source_fails()
    fleet_run, events = run(data)
    (start,) = of_kind(events, "migration_start")
    (precopy,) = of_kind(events, "precopy_start")
    (failed,) = of_kind(events, "host_failed")
    rec = next(r for r in fleet_run.records if r.attempts)
    assert rec.outcome == "crashed"
    assert rec.failed_s == pytest.approx(failed["t_s"] - start["t_s"], rel=1e-12)
    copying_s = failed["t_s"] - precopy["t_s"]
    assert rec.bytes_sent == rec.failed_bytes
    assert abs(rec.bytes_sent - copying_s * CAP) <= WINDOW_S * CAP
    assert summarize(fleet_run)["bytes_sent"] == rec.bytes_sent


def test_a_migration_aborted_at_its_completion_timeout_counts_as_failed_work():
    data = scenario(
        vms=[("hog", "r1-h1", "2GiB", "muncher")],
        policy={"name": "qemu", "completion_timeout": "10s"},
    )
    fleet_run, events = run(data)
    (start,) = of_kind(events, "migration_start")
    (aborted,) = of_kind(events, "aborted")
    rec = fleet_run.records[0]
    assert rec.outcome == "aborted" and aborted["reason"] == "timeout_abort"
    assert rec.failed_s == pytest.approx(aborted["t_s"] - start["t_s"], rel=1e-12)
    assert rec.failed_bytes == rec.bytes_sent > 0
    summary = summarize(fleet_run)
    assert summary["failed_bytes_sent"] == summary["bytes_sent"] == rec.bytes_sent


def test_a_run_without_failures_has_no_failed_work():
    data = scenario(hosts=3, vms=[("a", "r1-h1", "2GiB", "idle")])
    fleet_run, _ = run(data)
    summary = summarize(fleet_run)
    assert fleet_run.records[0].outcome == "migrated"
    assert summary["failed_bytes_sent"] == summary["failed_migration_s"] == 0.0
    assert summary["bytes_sent"] > 0
