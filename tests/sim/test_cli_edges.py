"""`python -m migrationsim`: the edges of its input and output, said truly."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "migrationsim", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "flag, value, said",
    [
        ("--memory", "-5GiB", "--memory: cannot read '-5GiB' as a quantity"),
        ("--dirty-rate", "-1.5MB/s", "--dirty-rate: cannot read '-1.5MB/s' as a quantity"),
        ("--bandwidth", "-10Gbit/s", "--bandwidth: cannot read '-10Gbit/s' as a quantity"),
        ("--downtime-limit", "-3s", "--downtime-limit: cannot read '-3s' as a duration"),
        ("--zero-fraction", "-10%", "--zero-fraction: "),
    ],
)
def test_a_negative_quantity_after_its_flag_is_refused_as_the_flag_joined_to_it_is(
    flag, value, said
):
    """`--memory -5GiB` is the value -5GiB, refused by the field's own check exactly as
    `--memory=-5GiB` is, not argparse's untrue "argument --memory: expected one argument"."""
    apart = cli("migrate", flag, value)
    joined = cli("migrate", f"{flag}={value}")
    assert (apart.returncode, joined.returncode) == (2, 2)
    assert said in apart.stderr and "expected one argument" not in apart.stderr
    assert apart.stderr == joined.stderr and apart.stdout == ""


def test_a_negative_seed_after_the_fleet_flag_is_refused_by_the_seed_check():
    done = cli("fleet", "--preset", "demo", "--plan", "--seed", "-1e3")
    assert done.returncode == 2
    assert done.stderr == (
        "python -m migrationsim fleet: error: --seed: must be a whole number from 0 to 4294967295\n"
    )
