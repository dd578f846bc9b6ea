"""Recorded QMP answers and guest reports from real runs of validation/ (one repetition per case),
for the tests of its parsing and comparison."""

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "validation_fixtures"


def recorded(case_name: str) -> dict:
    """One recorded run of a case (harness.run_migration's record)."""
    return json.loads((FIXTURES / f"{case_name}.json").read_text())


def recorded_calibration() -> dict:
    return json.loads((FIXTURES / "calibration.json").read_text())
