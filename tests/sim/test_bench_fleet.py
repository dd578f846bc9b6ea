"""``bench/fleet.py``: its JSON keys are a contract; ``--linear-from`` adds the same-run ratio."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fleet.py"


def _bench(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *flags], capture_output=True, text=True, timeout=120
    )


def test_the_ratio_to_a_smaller_fleet_is_timed_before_and_after_the_measured_run():
    done = _bench("--vms", "2048", "--linear-from", "512")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("vms", "migrations", "makespan_s", "wall_s", "peak_rss_mib", "outcomes"):
        assert key in figures  # the keys scripts already read stay
    assert figures["linear_from_vms"] == 512
    before, after = figures["linear_from_wall_s"]
    assert before > 0 and after > 0
    median = (before + after) / 2
    # wall_s is printed to 0.01 s, the ratio from the unrounded time (and then to 0.01)
    assert abs(figures["wall_ratio"] - figures["wall_s"] / median) <= 0.005 / median + 0.005


def test_a_smaller_fleet_larger_than_the_measured_one_is_refused_naming_the_flag():
    done = _bench("--vms", "200", "--linear-from", "2000")
    assert done.returncode == 2
    assert "--linear-from" in done.stderr


def test_repeated_pairs_give_the_median_of_ratios_each_bracketed_by_two_smaller_runs():
    done = _bench("--vms", "1024", "--linear-from", "256", "--repeat", "3")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("vms", "migrations", "makespan_s", "wall_s", "peak_rss_mib", "outcomes"):
        assert key in figures
    smaller, larger = figures["linear_from_wall_s"], figures["wall_s_runs"]
    assert len(smaller) == 4 and len(larger) == 3 and figures["repeat"] == 3
    expected = [round(w / ((smaller[i] + smaller[i + 1]) / 2), 2) for i, w in enumerate(larger)]
    assert figures["wall_ratios"] == expected
    assert figures["wall_ratio"] == sorted(expected)[1]
    assert figures["wall_s"] == sorted(larger)[1]


def test_repeat_without_a_smaller_fleet_is_refused_naming_the_flag():
    done = _bench("--vms", "200", "--repeat", "3")
    assert done.returncode == 2
    assert "--repeat" in done.stderr
