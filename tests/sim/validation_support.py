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


# the validation's auto-converge case (seq-16M-autoconverge) in the model's words: 16 MiB swept
# at 6,000 page writes a second against a 16 MiB/s cap, with auto-converge
AUTOCONVERGE_GUEST = dict(
    memory="128MiB",
    zero_fraction=0.85,
    working_set="16MiB",
    dirty_rate=6000 * 4096,
    write_pattern="sequential",
    max_bandwidth="16MiB/s",
    auto_converge=True,
    policy="qemu",
)
