"""Outcomes, everywhere the same (issue #14, section 1): one table gives every outcome and
reason code its words (``migrationsim/outcomes.py``); numbers are humanised by one formatter
(``units.format_duration``, ``humanize.py``)."""

import re
from pathlib import Path

import pytest

from migrationsim import build_spec, humanize, outcomes, simulate
from migrationsim.cli import main
from migrationsim.fleet import reasons
from migrationsim.fleet.engine import VmRecord
from migrationsim.fleet.export import COLUMNS, vm_rows
from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.summary import OUTCOMES as FLEET_OUTCOMES

from .fleet_support import TINY, run

SIM = Path(outcomes.__file__).parent


def _stop_codes() -> set[str]:
    """Every stop reason the single-VM model can give: the first argument of each ``Stop(``."""
    codes = set()
    for name in ("policies.py", "precopy.py"):
        codes |= set(re.findall(r'Stop\(\s*"(\w+)"', (SIM / name).read_text()))
    return codes


def _fleet_reason_codes() -> set[str]:
    return {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)}


# --- every code has words --------------------------------------------------------------------


def test_the_model_has_the_stop_reasons_this_test_reads():
    assert {"threshold_reached", "timeout_abort", "time_ceiling", "cannot_finish"} <= _stop_codes()


@pytest.mark.parametrize("code", sorted(_stop_codes() | _fleet_reason_codes()))
def test_every_reason_code_has_a_label_and_a_sentence(code):
    said = outcomes.words(code)
    assert said is not None, f"{code} has no words in migrationsim/outcomes.py"
    assert said.label and said.sentence and "_" not in said.sentence
    assert outcomes.describe(code) != code


@pytest.mark.parametrize("code", FLEET_OUTCOMES)
def test_every_fleet_outcome_has_words_and_a_definition(code):
    said = outcomes.fleet_vm(code)
    assert said["outcome_label"] and said["outcome_sentence"]
    assert "_" not in said["outcome_sentence"]


def test_the_engines_record_outcomes_are_the_summarys():
    """VmRecord's comment lists the outcomes the engine gives: each is counted and worded."""
    source = Path(VmRecord.__module__.replace(".", "/") + ".py")
    line = next(
        ln for ln in (SIM.parent / source).read_text().splitlines() if 'outcome: str = "' in ln
    )
    listed = set(re.findall(r"\w+", line.split("#", 1)[1]))
    assert listed <= set(FLEET_OUTCOMES) <= set(outcomes.OUTCOMES)


def test_the_fleet_terms_are_defined_once():
    assert set(outcomes.TERMS) == {"aborted", "not_converged", "stuck"}
    assert outcomes.TERMS["aborted"] is outcomes.fleet_outcome("aborted")
    assert "source" in outcomes.TERMS["aborted"].sentence
    assert "aborted" in outcomes.TERMS["not_converged"].sentence  # says who is not counted


def test_a_fleet_reason_with_its_figures_takes_the_engines_sentence():
    assert outcomes.describe(reasons.CAP_RACK, cap=4) == reasons.sentence(reasons.CAP_RACK, cap=4)
    assert outcomes.describe(reasons.CAP_RACK) == outcomes.REASONS[reasons.CAP_RACK].sentence


def test_a_reason_that_is_already_a_sentence_stays_as_it_is():
    row = outcomes.fleet_vm("terminated", "it cannot be live-migrated: it is a Spot VM")
    assert row["reason_code"] == "" and row["reason_words"].endswith("Spot VM")
    row = outcomes.fleet_vm("aborted", "timeout_abort")
    assert row["reason_code"] == "timeout_abort" and "completion timeout" in row["reason_words"]


def test_restarted_elsewhere_says_it_counts_vms_stopped_not_vms_that_crashed():
    """A VM restarted on another host after its host failed keeps the outcome crashed: the
    outcome "restarted" is named for the VMs it counts, stopped ones, and says where the
    others are; the crashed outcome says it keeps those restarted after the crash."""
    restarted, crashed = outcomes.fleet_outcome("restarted"), outcomes.fleet_outcome("crashed")
    assert restarted.label == "stopped and restarted elsewhere"
    assert "counted as crashed" in restarted.sentence
    assert "then restarted on another host" in crashed.sentence


def test_the_crashed_row_says_how_many_of_them_were_restarted_on_another_host():
    summary = {"outcomes": {"migrated": 10, "crashed": 10, "restarted": 0}, "crashed_restarted": 10}
    rows = {code: (label, n) for code, label, _, n in outcomes.fleet_outcome_rows(summary)}
    assert rows["crashed"] == ("failed: source crash (10 then restarted on another host)", 10)
    assert rows["restarted"] == ("stopped and restarted elsewhere", 0)
    assert rows["migrated"] == ("migrated", 10)
    assert list(rows) == ["migrated", "crashed", "restarted"]  # the summary's order


@pytest.mark.parametrize(
    "summary",
    [
        {"outcomes": {"crashed": 3}},  # stored before the summary counted restarts
        {"outcomes": {"crashed": 3}, "crashed_restarted": 0},
        # more restarted after a crash than crashed: some moved on since (migrated again)
        {"outcomes": {"crashed": 3}, "crashed_restarted": 5},
    ],
)
def test_the_crashed_row_says_nothing_of_restarts_it_cannot_count(summary):
    ((code, label, _, n),) = outcomes.fleet_outcome_rows(summary)
    assert (code, label, n) == ("crashed", "failed: source crash", 3)


def test_an_outcome_the_table_does_not_know_is_shown_as_its_code():
    rows = outcomes.fleet_outcome_rows({"outcomes": {"evicted": 2}})
    assert rows == [("evicted", "evicted", "", 2)]


# --- one VM's outcome ------------------------------------------------------------------------


def _said(**params):
    return simulate(build_spec(**params)).to_dict()["outcome_words"]


def test_an_aborted_migration_says_why_and_that_the_vm_stays_on_the_source():
    r = simulate(
        build_spec(workload="muncher", completion_timeout="30s", timeout_action="abort")
    ).to_dict()
    said = r["outcome_words"]
    assert r["outcome"] == "aborted" and said["code"] == "aborted"
    assert not said["sentence"].startswith("Done")
    assert "target host" not in said["sentence"]
    assert "keeps running on the source" in said["sentence"]
    assert outcomes.REASONS["timeout_abort"].sentence in said["sentence"]  # why
    assert said["stop_reason"] == "timeout_abort"


def test_a_completed_migration_runs_on_the_target():
    said = _said(memory="2GiB", workload="web")
    assert said["code"] == "completed" and said["sentence"].startswith("Done")


def test_post_copy_throttling_and_forcing_each_have_their_words():
    assert _said(workload="muncher", post_copy=True)["code"] == "completed_post_copy"
    forced = _said(workload="muncher", policy="xen")
    assert forced["code"] == "completed_forced" and "never converged" in forced["sentence"]
    r = simulate(build_spec(workload="oltp", memory="8GiB", auto_converge=True)).to_dict()
    if r["throttle_max"] > 0 and r["converged"]:
        said = r["outcome_words"]
        pct = f"{r['throttle_max'] * 100:.0f} %"
        assert said["code"] == "completed_throttled" and said["label"].endswith(pct)


def test_a_throttled_run_is_worded_with_its_throttle():
    said = outcomes.single_vm({"outcome": "migrated", "converged": True, "throttle_max": 0.6})
    assert said["label"] == "completed after throttling to 60 %"


def test_an_old_summary_without_words_gets_them_from_the_table():
    old = {"outcome": "aborted", "stop_reason": "timeout_abort", "converged": False}
    assert outcomes.of_result(old)["code"] == "aborted"
    assert outcomes.of_result({"outcome_words": {"code": "x"}}) == {"code": "x"}


def test_the_cli_prints_the_outcome_in_words_with_its_code(capsys):
    main(["migrate", "--workload", "muncher", "--completion-timeout", "30s"])
    out = capsys.readouterr().out
    assert "aborted [aborted]: Aborted:" in out and "keeps running on the source" in out
    assert "Done: the VM runs on the target host" not in out


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.0523, "52.3 ms"),
        (12.34, "12.3 s"),
        (250, "4 min 10 s"),
        (725.0 * 60, "12 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (0.0, "0 ms"),
        (5e-7, "0.5 µs"),
        (3.28e-6, "3.28 µs"),  # a 4 KiB guest's pre-copy read '0.00328 ms'
        (3.5e-4, "0.35 ms"),
        (1e-320, "1e-314 µs"),  # a typed downtime limit: it printed 320 digits of ms
    ],
)
def test_durations_read_in_the_unit_that_fits(seconds, text):
    assert humanize.duration(seconds) == text


def test_a_summary_value_reads_its_unit_from_its_key():
    assert humanize.value("bytes_sent", 4294967296.0) == "4.0 GiB"
    assert humanize.value("final_bytes", 40265318) == "38.4 MiB"
    assert humanize.value("total_time_s", 43500.0) == "12 h 5 min"
    assert "e+" not in humanize.value("forwarded_packets", 10640949.3)


def test_a_column_of_durations_takes_one_unit():
    assert humanize.common_duration_unit([30.0, 8000.0, None]) == ("h", 3600.0)
    assert humanize.common_duration_unit([0.05, 0.3]) == ("ms", 1e-3)


# --- the fleet's exports and progress --------------------------------------------------------


def test_the_vm_rows_carry_the_words_beside_the_codes():
    assert {"outcome_words", "reason_words"} <= set(COLUMNS)
    fleet_run, _ = run(TINY)
    for row in vm_rows(fleet_run):
        assert row["outcome_words"] == outcomes.fleet_vm(row["outcome"])["outcome_label"]


def test_progress_counts_hosts_not_host_events():
    """Two events over the same hosts: the progress counts each host once."""
    first = TINY["events"][0]
    second = {**first, "name": "again", "start": "3h"}
    stream = FleetStream({**TINY, "events": [first, second]}, bucket_s=600)
    frames = list(stream.frames())
    named = {h.name for c in stream.run.controllers.values() for h in c.hosts}
    scope = frames[-1]["hosts"]["scope"]
    assert scope == len(named) == 2  # not 4 host-events
    assert max(f["hosts"]["scope"] for f in frames) == scope
    assert frames[-1]["hosts"]["done"] == scope  # every host through both events, once


def test_the_fleet_notes_word_an_abort_with_its_code():
    stream = FleetStream({**TINY, "failures": {"target_failure": 1.0}}, bucket_s=600)
    notes = [text for f in stream.frames() for _, text in f["notes"]]
    aborted = [n for n in notes if ": aborted" in n]
    assert aborted and all("keeps running on its source" in n for n in aborted)
    assert all("[target_failed]" in n for n in notes if "backed out" in n)


def test_without_its_figures_a_code_still_reads_as_words():
    assert outcomes.label("completed_throttled") == "completed after throttling"
    assert outcomes.describe("aborted") == "aborted"
    assert "{" not in outcomes.describe("completed_post_copy")


def test_a_vm_that_gave_up_after_its_targets_failed_is_counted_under_that_reason():
    from migrationsim.fleet import summarize

    fleet_run, _ = run({**TINY, "failures": {"target_failure": 1.0}})
    unfinished = summarize(fleet_run)["unfinished_reasons"]
    assert unfinished and "unknown" not in unfinished
    assert set(unfinished) <= {reasons.TARGET_FAILED, reasons.AUTH_FAILED}
