"""The published validation (docs/validation.md) is what the model says on the recorded
measurements (validation/results.json): its tables and its summary line are recomputed here
from QEMU's recorded answers, with the link and time per page solved from the recorded
calibrations, and must be the page's text to the character. A change to the model that moves
a figure fails here until the table is retaken (``python -m validation.run``) or recomputed
(``--from-results``) and the page updated: the page never shows figures the model no longer
gives."""

import json
from pathlib import Path

from validation.run import analyse, sensitivity_table, table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "validation" / "results.json"
PAGE = ROOT / "docs" / "validation.md"


def _published():
    measurements = json.loads(RESULTS.read_text())["measurements"]
    return analyse(measurements)


def test_the_published_table_and_summary_are_the_models_answer_on_the_recorded_runs():
    analysis = _published()
    page = PAGE.read_text()
    for line in table(analysis).splitlines():
        assert line in page, line
    for line in sensitivity_table(analysis).splitlines():
        assert line in page, line


def test_the_published_calibration_is_solved_from_the_recorded_uncapped_runs():
    link = _published()["link"]
    page = PAGE.read_text()
    assert f"**{link['rate_bps'] / 1e6:.0f} MB/s**" in page
    assert f"**{link['page_time_s'] * 1e9:.0f} ns**" in page
    assert f"**{link['device_state_bytes']:,} B**" in page


def test_the_run_to_run_table_is_the_models_answer_on_every_recorded_run():
    from validation.run import run_name, runs_table

    paths = [RESULTS, *sorted((ROOT / "validation" / "runs").glob("*.json"))]
    runs = [(run_name(p), analyse(json.loads(p.read_text())["measurements"])) for p in paths]
    page = PAGE.read_text()
    for line in runs_table(runs).splitlines():
        assert line in page, line
