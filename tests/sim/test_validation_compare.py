"""validation/compare.py and run.py: the model's prediction for a recorded real migration and the
error figures of docs/validation.md, from recorded QMP answers (no QEMU needed)."""

import json
from pathlib import Path

import pytest

from validation.cases import CASES_BY_NAME
from validation.compare import (
    Link,
    blackout_ok,
    compare_case,
    measured_from_record,
    model_parameters,
    predict,
    predicted_syncs,
    relative_error,
    summary,
    write_start,
)
from validation.run import (
    link_from_calibration,
    sender_link_from_calibration,
    sensitivity_table,
    solve_link_and_page_time,
    table,
)

from .validation_support import FIXTURES, recorded, recorded_calibration

LINK = Link(rate_bps=80e6, device_state_bytes=112_585)


def test_the_guest_is_given_to_the_model_as_measured():
    record = recorded("random-8M")
    measured = measured_from_record(record)
    answer = record["query_migrate"]
    first, last = record["serial_before"][0], record["serial_before"][-1]
    assert measured.page_writes_per_s == pytest.approx(
        (last[1] - first[1]) / ((last[0] - first[0]) / 3_579_545)
    )
    params = model_parameters(CASES_BY_NAME["random-8M"], measured, LINK)
    assert params["memory"] == answer["ram"]["total"]
    assert params["zero_fraction"] == pytest.approx(
        answer["ram"]["duplicate"] / (answer["ram"]["total"] // 4096)
    )
    assert params["dirty_rate"] == pytest.approx(measured.page_writes_per_s * 4096)
    assert params["working_set"] == 8 * 1024 * 1024
    assert params["write_pattern"] == "random"
    assert params["max_bandwidth"] == 32 * 1024 * 1024
    assert params["downtime_limit"] == 0.3
    assert params["bandwidth"] == LINK.rate_bps
    assert params["resume_time"] == 0


def test_a_guest_that_writes_nothing_has_no_working_set_and_sequential_maps_to_sequential():
    idle = model_parameters(CASES_BY_NAME["idle"], measured_from_record(recorded("idle")), LINK)
    assert idle["dirty_rate"] == 0 and idle["working_set"] == 0
    seq = model_parameters(CASES_BY_NAME["seq-8M"], measured_from_record(recorded("seq-8M")), LINK)
    assert seq["write_pattern"] == "sequential"


def test_the_time_limit_becomes_the_operators_timeout_per_gib():
    case = CASES_BY_NAME["seq-16M-never"]
    measured = measured_from_record(recorded("seq-16M-never"))
    params = model_parameters(case, measured, LINK)
    assert params["completion_timeout"] * params["memory"] / 2**30 == pytest.approx(
        case.time_limit_s
    )
    assert params["timeout_action"] == "abort"


def _round(phase, threshold=1.0, repeat=1):
    return {"phase": phase, "threshold_bytes": threshold, "repeat": repeat}


def test_syncs_count_setup_every_live_round_and_completion():
    migrated = {"outcome": "migrated", "rounds": [_round("live"), _round("live"), _round("final")]}
    assert predicted_syncs(migrated) == 1 + 2 + 1
    summarised = {"outcome": "migrated", "rounds": [_round("live", repeat=5), _round("final")]}
    assert predicted_syncs(summarised) == 1 + 5 + 1


def test_a_pass_that_runs_dry_before_the_first_measurement_syncs_only_at_completion():
    # ram_save_pending syncs only when pending < threshold, and the threshold is 0 then
    dry = {"outcome": "migrated", "rounds": [_round("live", threshold=0.0), _round("final")]}
    assert predicted_syncs(dry) == 2


def test_an_aborted_run_has_no_completion_sync_and_its_last_round_was_cut():
    aborted = {"outcome": "aborted", "rounds": [_round("live"), _round("live"), _round("live")]}
    assert predicted_syncs(aborted) == 1 + 2


def test_errors_and_the_blackout_target():
    assert relative_error(102, 100) == pytest.approx(0.02)
    assert relative_error(1, 0) == 0.0
    assert blackout_ok(0.0035, 0.002)  # within 2 ms
    assert not blackout_ok(0.0045, 0.002)
    assert blackout_ok(0.115, 0.1) and not blackout_ok(0.125, 0.1)  # within 20 %


def test_the_never_converging_case_is_predicted_as_such():
    case = CASES_BY_NAME["seq-16M-never"]
    row = compare_case(case, [recorded("seq-16M-never")], LINK)
    assert row["measured"]["converged"] == [False]
    assert row["predicted"]["converged"] == [False]
    assert row["predicted"]["stop_reason"] == "timeout_abort"
    assert row["errors"]["outcome_agrees"]
    assert row["errors"]["blackout_ok"] is None  # nothing to compare: no blackout


def test_a_row_compares_the_median_of_repetitions_with_the_model():
    case = CASES_BY_NAME["write-once-64M"]
    records = [recorded("write-once-64M")] * 3
    row = compare_case(case, records, LINK)
    measured = measured_from_record(records[0])
    assert row["measured"]["time_s"] == (measured.time_s,) * 3
    assert row["errors"]["time"] == pytest.approx(row["predicted"]["time_s"] / measured.time_s - 1)
    assert row["errors"]["bytes"] == pytest.approx(
        row["predicted"]["ram_bytes"] / measured.ram_bytes - 1
    )
    # nothing written during the migration: the model sends what QEMU sent, to a page header
    assert row["errors"]["bytes"] == pytest.approx(0, abs=1e-3)


def test_the_summary_takes_mean_and_worst_of_absolute_errors():
    rows = [
        {"errors": {"time": 0.01, "bytes": -0.03, "blackout_ok": True, "outcome_agrees": True}},
        {"errors": {"time": -0.05, "bytes": 0.01, "blackout_ok": None, "outcome_agrees": False}},
    ]
    s = summary(rows)
    assert s["mean_time_error"] == pytest.approx(0.03)
    assert s["worst_time_error"] == pytest.approx(0.05)
    assert s["mean_bytes_error"] == pytest.approx(0.02)
    assert s["worst_bytes_error"] == pytest.approx(0.03)
    assert (s["blackouts_on_target"], s["blackouts"]) == (1, 1)
    assert (s["outcomes_agree"], s["cases"]) == (1, 2)


def _uncapped(zero_pages, other_bytes, link_bps, page_time_s, setup_ms=7, downtime_ms=2):
    """A query-migrate answer whose pre-copy took zero pages x page time + other bytes / link."""
    precopy_ms = (zero_pages * page_time_s + other_bytes / link_bps) * 1000
    return {
        "total-time": setup_ms + precopy_ms + downtime_ms,
        "setup-time": setup_ms,
        "downtime": downtime_ms,
        "ram": {
            "duplicate": zero_pages,
            "precopy-bytes": other_bytes + 9 * zero_pages,
            "transferred": other_bytes + 9 * zero_pages,
        },
    }


def test_the_link_and_the_page_time_are_solved_from_two_kinds_of_uncapped_migration():
    # the big idle guest: 131,000 zero pages (31.44 ms at 240 ns) and 500,000 B of others
    # (0.83 ms at 600 MB/s); the write-once guest: 16,000 zero pages (3.84 ms) and 67.8 MB
    # (113 ms). Neither alone gives either figure: RAM bytes over time would say 1.75 MB/s
    # and 584 MB/s.
    idle = [_uncapped(131_000, 500_000, 600e6, 240e-9, setup_ms=s) for s in (5, 7, 9)]
    once = [_uncapped(16_000, 67_800_000, 600e6, 240e-9, downtime_ms=d) for d in (1, 2, 3)]
    link_bps, page_time_s = solve_link_and_page_time(once, idle)
    assert link_bps == pytest.approx(600e6, rel=1e-9)
    assert page_time_s == pytest.approx(240e-9, rel=1e-9)
    calibration = {
        "link_runs": [{"query_migrate": a} for a in once],
        "page_time_runs": [{"query_migrate": a} for a in idle],
        "device_state_bytes": 112_585,
    }
    link = link_from_calibration(calibration)
    assert (link.rate_bps, link.page_time_s) == pytest.approx((600e6, 240e-9), rel=1e-9)
    assert model_parameters(CASES_BY_NAME["idle"], measured_from_record(recorded("idle")), link)[
        "page_time"
    ] == pytest.approx(240e-9)


def test_the_guests_pause_is_read_from_the_recorded_events_when_there_are_any():
    record = recorded("seq-8M")
    assert measured_from_record({k: v for k, v in record.items() if k != "events"}).pause_s is None
    stamp = {"seconds": 1_700_000_000, "microseconds": 0}
    record["events"] = {
        "source": [{"event": "STOP", "timestamp": stamp}],
        "destination": [{"event": "RESUME", "timestamp": {**stamp, "microseconds": 13_000}}],
    }
    assert measured_from_record(record).pause_s == pytest.approx(0.013)
    row = compare_case(CASES_BY_NAME["seq-8M"], [record], LINK)
    assert row["measured"]["pause_s"] == pytest.approx((0.013, 0.013, 0.013))


def test_a_calibration_whose_pages_went_partly_in_the_downtime_is_refused():
    # the zero pages' share of pre-copy is then unknown: a 300 ms limit let an uncapped
    # migration stop after its first window with 16 MB still to send
    idle = [_uncapped(131_000, 500_000, 600e6, 240e-9)]
    once = [_uncapped(16_000, 67_800_000, 600e6, 240e-9)]
    once[0]["ram"]["transferred"] += 16_000_000
    with pytest.raises(ValueError, match="downtime"):
        solve_link_and_page_time(once, idle)


def test_calibrations_that_imply_a_negative_time_per_page_are_refused():
    idle = [_uncapped(131_000, 500_000, 600e6, 240e-9)]
    once = [_uncapped(16_000, 67_800_000, 600e6, 240e-9)]
    idle[0]["total-time"] -= 40  # the idle pass took less time than its other bytes' link time
    with pytest.raises(ValueError, match="quiet host"):
        solve_link_and_page_time(once, idle)


def test_the_link_is_the_median_uncapped_rate_and_the_table_shows_every_case():
    # a recording made before the page time was measured: the link alone, page time 0
    calibration = recorded_calibration()
    calibration.pop("page_time_runs", None)
    link = link_from_calibration(calibration)
    rates = sorted(
        r["query_migrate"]["ram"]["precopy-bytes"]
        / (
            (
                r["query_migrate"]["total-time"]
                - r["query_migrate"]["setup-time"]
                - r["query_migrate"]["downtime"]
            )
            / 1000
        )
        for r in calibration["link_runs"]
    )
    assert link.rate_bps == pytest.approx(rates[len(rates) // 2])
    assert link.device_state_bytes == calibration["device_state_bytes"]
    assert link.page_time_s == 0
    rows = [compare_case(CASES_BY_NAME[n], [recorded(n)], link) for n in ("idle", "seq-8M")]
    analysis = {
        "link": {"rate_bps": link.rate_bps, "device_state_bytes": link.device_state_bytes},
        "rows": rows,
        "summary": summary(rows),
    }
    text = table(analysis)
    assert "| idle |" in text and "| seq-8M |" in text and "Mean |error|" in text


@pytest.mark.parametrize(
    "case_name", ["write-once-64M", "seq-8M", "random-8M", "seq-32M-64", "random-16M-dl300"]
)
def test_the_model_stops_pre_copy_at_the_byte_qemu_stopped_at(case_name):
    # the switch-over rule (docs/model.md, section 2) against recorded QEMU 7.2 runs whose
    # windows were not disturbed by the host: pre-copy ends after QEMU's precopy-bytes (the
    # model lacks only QEMU's end-of-section markers, a few hundred bytes) and the same syncs
    link = link_from_calibration(recorded_calibration())
    row = compare_case(CASES_BY_NAME[case_name], [recorded(case_name)], link)
    assert row["errors"]["precopy_bytes"] == pytest.approx(0, abs=1e-4)
    assert row["predicted"]["syncs"] == row["measured"]["syncs"][0]


def test_the_sensitivity_row_runs_the_model_again_with_the_senders_speed():
    record = recorded("random-8M")
    fast = Link(rate_bps=1.4e9, device_state_bytes=LINK.device_state_bytes)
    row = compare_case(CASES_BY_NAME["random-8M"], [record], LINK, fast)
    at_sender = row["predicted_at_sender_speed"]
    assert at_sender["blackout_s"] < row["predicted"]["blackout_s"]
    assert at_sender["time_s"] < row["predicted"]["time_s"]
    assert "predicted_at_sender_speed" not in compare_case(
        CASES_BY_NAME["random-8M"], [record], LINK
    )


def test_without_sender_runs_there_is_no_sensitivity_table():
    calibration = recorded_calibration()
    without = {k: v for k, v in calibration.items() if k != "sender_runs"}
    assert sender_link_from_calibration(without) is None
    assert sensitivity_table({"sender_rate_bps": None, "rows": []}) == ""


def test_the_senders_speed_is_the_median_of_migrations_into_a_reader_that_keeps_up():
    calibration = recorded_calibration()
    sender = sender_link_from_calibration(calibration)
    rates = sorted(
        a["ram"]["precopy-bytes"] / ((a["total-time"] - a["setup-time"] - a["downtime"]) / 1000)
        for a in calibration["sender_runs"]
    )
    assert sender.rate_bps == pytest.approx(rates[1])
    assert sender.rate_bps > link_from_calibration(calibration).rate_bps


def test_qemu_runs_under_tcg_unless_kvm_is_asked_for(tmp_path):
    from validation.harness import qemu_command

    case = CASES_BY_NAME["idle"]
    args = (case, tmp_path / "guest.elf", tmp_path / "qmp.sock", tmp_path / "serial.txt")
    default = qemu_command(*args)
    assert default[default.index("-accel") + 1] == "tcg"
    kvm = qemu_command(*args, accel="kvm")
    assert kvm[kvm.index("-accel") + 1] == "kvm"


def test_an_unknown_accelerator_is_refused_before_anything_runs(capsys):
    import pytest

    from validation.run import main

    with pytest.raises(SystemExit) as exit_:
        main(["--accel", "hvf"])
    assert exit_.value.code == 2
    assert "--accel" in capsys.readouterr().err


def test_the_sequential_writer_starts_where_the_guest_had_it_when_pre_copy_began():
    case = CASES_BY_NAME["seq-16M-autoconverge"]  # 4,096 pages swept
    record = dict(recorded("seq-16M-autoconverge"))
    rate = measured_from_record(record).page_writes_per_s
    setup_s = record["query_migrate"]["setup-time"] / 1000
    # read 0.5 ms before `migrate` at page 4,000: the writer moves on through QEMU's setup
    record["guest_pointer"] = {"edi": 4000, "read_before_migrate_s": 0.0005}
    measured = measured_from_record(record)
    moved = rate * (0.0005 + setup_s)
    assert measured.writer_pointer_pages == pytest.approx(4000 + moved)
    assert write_start(case, measured) == pytest.approx(((4000 + moved) % 4096) / 4096)
    assert model_parameters(case, measured, LINK)["write_start"] == write_start(case, measured)


def test_random_writers_and_recordings_without_the_pointer_start_at_zero():
    old = measured_from_record(recorded("seq-16M-autoconverge"))  # recorded before the pointer
    assert old.writer_pointer_pages is None
    assert write_start(CASES_BY_NAME["seq-16M-autoconverge"], old) == 0.0
    record = {**recorded("random-8M"), "guest_pointer": {"edi": 9, "read_before_migrate_s": 0}}
    assert write_start(CASES_BY_NAME["random-8M"], measured_from_record(record)) == 0.0


def test_the_time_comes_from_the_migration_events_when_the_recording_has_them():
    record = recorded("seq-8M")
    counters = measured_from_record(record)
    assert not counters.time_from_events  # recorded before the harness turned the events on
    answer = record["query_migrate"]
    assert counters.time_s == pytest.approx((answer["total-time"] - answer["setup-time"]) / 1000)

    def status(name, microseconds):
        stamp = {"seconds": 1_700_000_000, "microseconds": microseconds}
        return {"event": "MIGRATION", "data": {"status": name}, "timestamp": stamp}

    events = {"source": [status("active", 1_000), status("completed", 219_370)], "destination": []}
    measured = measured_from_record({**record, "events": events})
    assert measured.time_from_events
    assert measured.time_s == pytest.approx(0.21837)


def test_the_wake_up_latency_is_the_time_beyond_an_on_time_thread_over_the_windows_asleep():
    from dataclasses import replace

    from validation.run import solve_wake_latency, wake_latency_case

    recording = json.loads((FIXTURES / "calibration-wake-latency.json").read_text())
    link = Link(**recording["link"])
    runs = recording["wake_latency_runs"]
    case = wake_latency_case()
    # 1.65 MB on the wire in windows of 52,428.8 B: 31 windows end asleep, then half a window
    assert case.max_bandwidth_bps * 0.1 == pytest.approx(52_428.8)
    on_time = [predict(case, measured_from_record(r), link) for r in runs]
    for r, p in zip(runs, on_time, strict=True):  # QEMU's bytes, to its section markers
        assert p.ram_bytes == pytest.approx(r["query_migrate"]["ram"]["transferred"], rel=1e-3)
        assert p.ram_bytes // 52_428.8 == 31
    beyond = sorted(
        (measured_from_record(r).time_s - p.time_s) / 31 for r, p in zip(runs, on_time, strict=True)
    )
    latency_s = solve_wake_latency(runs, link)
    assert latency_s == pytest.approx(beyond[1], rel=1e-6)  # the median of three
    assert 0 < latency_s < 0.001  # this host: a fraction of a millisecond
    # a calibration that says the thread woke early (here: a model whose pages take 40 times
    # longer than measured) is refused with a sentence
    with pytest.raises(ValueError, match="faster than its windows allow"):
        solve_wake_latency(runs, replace(link, page_time_s=link.page_time_s * 40))


def test_the_stop_time_is_the_stop_beyond_the_device_states_bytes_on_the_calibrations():
    from dataclasses import replace

    from validation.qmp import stop_span_s
    from validation.run import calibration_case, page_time_case, solve_stop_time, wake_latency_case

    # the published run's calibrations (validation/results.json: recorded with QMP's events)
    results = Path(__file__).resolve().parents[2] / "validation" / "results.json"
    calibration = json.loads(results.read_text())["measurements"]["calibration"]
    link = replace(link_from_calibration(calibration), stop_time_s=0.0)
    beyond = []
    for case, key in (
        (calibration_case(), "link_runs"),
        (page_time_case(), "page_time_runs"),
        (wake_latency_case(), "wake_latency_runs"),
    ):
        for record in calibration[key]:
            # each sends nothing after the stop but the device state
            assert record["query_migrate"]["ram"]["downtime-bytes"] == 0
            predicted = predict(case, measured_from_record(record), link)
            # 112,585 B into a buffer of megabytes at the source's 2.26 GB/s: 0.05 ms
            assert predicted.blackout_s == pytest.approx(
                link.device_state_bytes / link.sender_bps, rel=1e-9
            )
            beyond.append(stop_span_s(record["events"]["source"]) - predicted.blackout_s)
    assert len(beyond) == 9
    stop_s = solve_stop_time(calibration, link)
    assert stop_s == pytest.approx(sorted(beyond)[4], rel=1e-12)  # the median of nine
    assert 0.0005 < stop_s < 0.002  # this host: about a millisecond
    # recordings made without QMP events have no stop time
    bare = {
        key: [{k: v for k, v in r.items() if k != "events"} for r in calibration[key]]
        for key in ("link_runs", "page_time_runs", "wake_latency_runs")
    }
    assert solve_stop_time(bare, link) is None
