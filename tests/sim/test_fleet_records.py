"""A fleet run keeps a record for every VM, made when the engine first touches the VM: the VMs
that never move cost nothing until something reads them, and read alike whichever way."""

from migrationsim.fleet import FleetRun, load_scenario, summarize
from migrationsim.fleet.engine import VmRecord, VmRecords


def test_a_record_is_made_on_first_use_and_kept():
    records = VmRecords(5)
    assert len(records) == 5 and records.untouched == 5
    first = records[3]
    assert first == VmRecord(3) and records[3] is first
    assert records[-2] is first  # a list's negative index, to the same VM
    assert records.untouched == 4
    assert [r.vm for r in records.touched()] == [3]


def test_iterating_gives_every_vms_record_in_id_order_and_keeps_them():
    records = VmRecords(4)
    records[2].outcome = "migrated"
    listed = list(records)
    assert [r.vm for r in listed] == [0, 1, 2, 3]
    assert listed[2].outcome == "migrated" and listed[0] == VmRecord(0)
    assert records.untouched == 0 and listed[0] is records[0]


def test_a_run_touches_only_the_vms_its_maintenance_reaches():
    run = FleetRun(load_scenario("demo")).run()
    touched = {r.vm for r in run.records.touched()}
    assert 0 < len(touched) < len(run.records)
    assert {r.outcome for r in run.records if r.vm not in touched} == {"unaffected"}


def test_the_summary_counting_untouched_vms_is_the_summary_of_every_record():
    scenario = load_scenario("hw-failure")
    counted = summarize(FleetRun(scenario).run())
    walked = FleetRun(scenario).run()
    list(walked.records)  # every record made: nothing left to count without walking
    assert walked.records.untouched == 0
    assert summarize(walked) == counted
