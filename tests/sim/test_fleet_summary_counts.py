"""The run's summary counts, from the engine's records, the VMs that crashed and were restarted
elsewhere and the VMs that moved more than once, and its text says them in words ("3 VMs moved
twice"). Each count is checked by hand against the event log: a ``restarted`` event with
``host_error`` per crash, a ``migrated`` event per move."""

import json
from collections import Counter

from migrationsim.cli import _fleet_lines, main
from migrationsim.fleet import FleetRun, load_scenario, summarize

from .fleet_support import of_kind, run, two_vms_whose_source_fails


def _moves_by_vm(events) -> Counter:
    """How many VMs moved n times, n >= 2, from the ``migrated`` events."""
    per_vm = Counter(e["vm"] for e in of_kind(events, "migrated"))
    return Counter(n for n in per_vm.values() if n > 1)


def test_the_demo_summary_says_3_vms_moved_twice_as_its_event_log_shows(capsys):
    events = []
    fleet_run = FleetRun(load_scenario("demo"), events.append).run()
    summary = summarize(fleet_run)
    assert _moves_by_vm(events) == Counter({2: 3})  # the event log, read by hand
    assert summary["moved_more_than_once"] == {"2": 3}
    assert summary["crashed_restarted"] == 0
    main(["fleet", "--preset", "demo"])
    out = capsys.readouterr().out
    assert "3 VMs moved twice" in out.splitlines()
    assert "crashed with" not in out  # no crash in the demo: nothing said of one


def test_two_vms_that_crash_with_their_host_and_restart_are_counted_and_said():
    data = two_vms_whose_source_fails()
    fleet_run, events = run(data)
    summary = summarize(fleet_run)
    restarts = [e for e in of_kind(events, "restarted") if e["host_error"]]
    assert len(restarts) == summary["crashed_restarted"] == 2
    assert summary["moved_more_than_once"] == {}
    lines = _fleet_lines(json.loads(json.dumps(summary)))
    assert "2 VMs that crashed with their host were restarted on another host" in lines
    # what the failed migration sent is in the total, and said with its share
    sent = next(line for line in lines if line.startswith("makespan"))
    assert (
        "(migrations that failed or were aborted sent " in sent and " of the total and ran " in sent
    )


def test_one_vm_crashed_and_several_move_counts_read_in_english():
    summary = {"crashed_restarted": 1, "moved_more_than_once": {"3": 1, "2": 12}}
    from migrationsim.fleet.summary import failed_work_sentence, moves_sentence

    assert moves_sentence(summary) == (
        "1 VM that crashed with its host was restarted on another host; "
        "12 VMs moved twice, 1 VM moved 3 times"
    )
    assert moves_sentence({}) == ""  # an older summary without the counts: nothing invented
    assert failed_work_sentence({"failed_bytes_sent": 0.0, "failed_migration_s": 0.0}) == ""
    assert failed_work_sentence({"failed_bytes_sent": 2**30, "failed_migration_s": 90.0}) == (
        "migrations that failed or were aborted sent 1.0 GiB of the total and ran 1 min 30 s in all"
    )


def test_the_gce_preset_counts_its_moves_from_its_records():
    events = []
    fleet_run = FleetRun(load_scenario("gce-calibrated"), events.append).run()
    summary = summarize(fleet_run)
    moved = {str(n): c for n, c in sorted(_moves_by_vm(events).items())}
    assert summary["moved_more_than_once"] == moved
    assert (
        sum(int(n) * c for n, c in moved.items())
        + (summary["outcomes"]["migrated"] - sum(moved.values()))
        == summary["migrations"]
    )
