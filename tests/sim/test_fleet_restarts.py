"""A VM that crashed (its host failed, in the middle of its migration or before it could leave)
or was stopped, and was restarted on another host, is told as such: its record, its export row
and the run's notes say it was restarted on another host and where. It never reads as a
migration that succeeded, nor as a VM that simply vanished."""

from migrationsim.fleet.export import vm_rows
from migrationsim.fleet.frames import FleetStream

from .fleet_support import of_kind, run, scenario

# r1-h1 fails (source_failure 1.0) while a's migration is in its first pass; b waits behind it
# (one migration per host): both crash, and both restart elsewhere (automaticRestart)
CRASH = scenario(
    hosts=3,
    vms=[("a", "r1-h1", "8GiB", "web"), ("b", "r1-h1", "8GiB", "web")],
    failures={"source_failure": 1.0},
    caps={"per_source_host": 1},
)


def test_a_crashed_vm_restarted_elsewhere_says_so_and_where_in_its_export_row():
    fleet_run, events = run(CRASH)
    restarted = {e["vm"]: e["host"] for e in of_kind(events, "restarted")}
    assert set(restarted) == {"a", "b"} and all(
        e["host_error"] for e in of_kind(events, "restarted")
    )
    assert not of_kind(events, "migrated")
    for row in vm_rows(fleet_run):
        assert row["outcome"] == "crashed"  # not migrated: the migration failed
        assert row["outcome_words"] == "failed: source crash"
        assert row["reason"].endswith("; restarted on another host"), row["reason"]
        assert row["reason_words"].endswith("; restarted on another host")
        assert row["source"] == "r1-h1"  # where it crashed
        assert row["target"] == restarted[row["vm"]] != "r1-h1"  # where it runs now
        assert fleet_run.fleet.hosts[fleet_run.fleet.vms[0].host].name in restarted.values()


def test_the_run_notes_tell_the_crash_and_then_the_restart_on_another_host():
    notes = [text for f in FleetStream(CRASH, bucket_s=60).frames() for _, text in f["notes"]]
    for vm in ("a", "b"):
        crashed = next(i for i, n in enumerate(notes) if n.startswith(f"{vm}: crashed on r1-h1"))
        back = next(i for i, n in enumerate(notes) if n.startswith(f"{vm}: crashed, then"))
        assert crashed < back
        assert "restarted on another host, r1-h" in notes[back]
        assert not notes[back].endswith("r1-h1")


def test_a_crashed_vm_that_does_not_restart_automatically_is_never_told_as_restarted():
    data = scenario(
        hosts=3,
        vms=[("a", "r1-h1", "8GiB", "web", {"automatic_restart": False})],
        failures={"source_failure": 1.0},
    )
    fleet_run, events = run(data)
    assert of_kind(events, "crashed") and not of_kind(events, "restarted")
    (row,) = vm_rows(fleet_run)
    assert row["outcome"] == "crashed" and row["target"] == ""
    assert "restarted" not in row["reason"]
    notes = [text for f in FleetStream(data, bucket_s=60).frames() for _, text in f["notes"]]
    assert any(n.startswith("a: crashed on r1-h1") for n in notes)
    assert not any("restarted" in n for n in notes)


def test_a_vm_that_cannot_live_migrate_is_restarted_elsewhere_with_its_new_host_in_the_row():
    data = scenario(hosts=3, vms=[("gpu", "r1-h1", "8GiB", "web", {"accelerator": "gpu"})])
    fleet_run, events = run(data)
    (restart,) = of_kind(events, "restarted")
    (row,) = vm_rows(fleet_run)
    assert row["outcome"] == "restarted" and row["migrations"] == 0
    assert row["reason"].startswith("it cannot be live-migrated")
    assert row["reason"].endswith("; restarted on another host")
    assert (row["source"], row["target"]) == ("r1-h1", restart["host"])


def test_why_a_vm_cannot_live_migrate_reads_as_one_sentence_with_one_colon():
    """The "Why" of a GPU, a Spot or a TERMINATE VM says what it is and why that stops a live
    migration, in one sentence: "it cannot be live-migrated: it has a GPU attached
    (accelerators cannot be live-migrated)", never a colon after a colon."""
    kinds = {"gpu": {"accelerator": "gpu"}, "spot": {"spot": True, "automatic_restart": False}}
    kinds["terminate"] = {"on_host_maintenance": "TERMINATE"}
    data = scenario(
        hosts=3, vms=[(name, "r1-h1", "8GiB", "web", options) for name, options in kinds.items()]
    )
    fleet_run, events = run(data)
    rows = {row["vm"]: row for row in vm_rows(fleet_run)}
    assert set(rows) == set(kinds)
    for row in rows.values():
        assert row["reason"].startswith("it cannot be live-migrated: it ")
        assert row["reason"].count(":") == 1, row["reason"]
    assert "GPU attached (accelerators cannot be live-migrated)" in rows["gpu"]["reason"]
    assert "Spot VM (Spot VMs are preempted, not migrated)" in rows["spot"]["reason"]
    assert "onHostMaintenance=TERMINATE" in rows["terminate"]["reason"]
    for event in of_kind(events, "terminated"):
        assert event["detail"].count(":") == 1, event["detail"]


def test_a_restart_is_a_marker_on_the_vms_timeline_after_its_crash_on_its_new_host():
    """The per-VM timeline did not show the restart: after the crash's marker, nothing. Each
    restarted VM now has a "restarted" marker at its restart, on the host it started on."""
    from migrationsim.fleet.frames import PHASES

    stream = FleetStream(CRASH, bucket_s=60)
    for _ in stream.frames():
        pass
    _, events = run(CRASH)
    names = [p["name"] for p in PHASES]
    for e in of_kind(events, "restarted"):
        segments = [(names[phase], start, end) for phase, start, end in stream.vm_segments[e["vm"]]]
        crash = max(start for name, start, _ in segments if name == "failed")
        (restart,) = [(start, end) for name, start, end in segments if name == "restarted"]
        assert crash <= restart[0] == restart[1] == round(e["t_s"], 3)
