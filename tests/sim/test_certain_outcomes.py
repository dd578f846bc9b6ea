"""Any input ends quickly with a finite answer (issue 15, section 3): a migration whose outcome
is already certain is decided analytically with a sentence that says why; hostile numbers are
refused naming the parameter; long steady runs are summarised, saying so."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrationsim import InvalidParameter, build_spec, simulate
from migrationsim.precopy import MAX_PRECOPY_S

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "migrationsim", "migrate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_16_tib_at_one_bit_per_second_is_an_instant_certain_abort():
    done = cli(
        "--memory", "16TiB", "--bandwidth", "1bit/s", "--completion-timeout", "1e30s", "--json"
    )
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert r["outcome"] == "aborted" and r["stop_reason"] == "cannot_finish"
    assert "million years" in r["stop_message"] and "1 bit/s" in r["stop_message"]
    assert r["live_rounds"] == 0 and r["bytes_sent"] == 0


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--downtime-limit", "1e308s"], "--downtime-limit"),
        (["--downtime-limit", "2001s"], "--downtime-limit"),
        (["--memory", "2TiB", "--resolution", "pages"], "--resolution"),
        (["--dirty-rate", "1e300B/s"], "--dirty-rate"),
        (["--bandwidth", "1e300B/s"], "--bandwidth"),
        (["--fabric-convergence", "1e300s"], "--fabric-convergence"),
        (["--resume-time", "1e300s"], "--resume-time"),
        (["--device-state", "1e300B"], "--device-state"),
        (["--max-bandwidth", "1e-300B/s"], "--max-bandwidth"),
        (["--bandwidth", "0.1bit/s"], "--bandwidth"),
    ],
)
def test_hostile_numbers_exit_2_naming_the_flag_without_a_traceback(args, flag):
    done = cli(*args, "--json")
    assert done.returncode == 2
    assert flag in done.stderr and "Traceback" not in done.stderr and done.stdout == ""


def test_qemu_accepts_the_longest_downtime_limit_it_allows():
    r = simulate(build_spec(downtime_limit="2000s", memory="1GiB")).to_dict()
    assert r["converged"] and math.isfinite(r["threshold_bytes"])


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"workload": "muncher", "completion_timeout": "1e30s"}, "time_ceiling"),
        ({"workload": "cache", "completion_timeout": "1e30s"}, "time_ceiling"),
        ({"workload": "muncher", "policy": "textbook", "max_rounds": "none"}, "time_ceiling"),
        (
            {"workload": "muncher", "policy": "xen", "max_rounds": "none", "max_volume": "none"},
            "time_ceiling",
        ),
    ],
)
def test_a_migration_that_never_converges_stops_at_the_ceiling_with_its_rounds_summarised(
    params, reason
):
    r = simulate(build_spec(**params)).to_dict()
    assert r["outcome"] == "aborted" and r["stop_reason"] == reason
    assert "year" in r["stop_message"]
    assert r["precopy_time_s"] == pytest.approx(MAX_PRECOPY_S)
    assert r["rounds_summarised"] and len(r["rounds"]) < 2000
    assert sum(x["repeat"] for x in r["rounds"]) == r["live_rounds"] > 100_000
    assert sum(x["duration_s"] * x["repeat"] for x in r["rounds"]) == pytest.approx(MAX_PRECOPY_S)


def test_short_runs_are_not_summarised():
    r = simulate(build_spec(workload="muncher")).to_dict()
    assert not r["rounds_summarised"] and len(r["rounds"]) == r["live_rounds"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "memory",
                "dirty_rate",
                "bandwidth",
                "max_bandwidth",
                "downtime_limit",
                "completion_timeout",
                "device_state",
                "resume_time",
                "working_set",
                "zero_fraction",
                "downtime_ramp_delay",
                "fabric_convergence",
            ]
        ),
        st.one_of(st.floats(min_value=0, max_value=1e308), st.sampled_from([0, 1, 4096, 1e-300])),
        max_size=5,
    )
)
def test_any_number_gives_a_finite_answer_or_names_the_parameter(params):
    try:
        spec = build_spec(**params)
    except InvalidParameter as error:
        assert error.field in params
        return
    r = simulate(spec).to_dict()
    json.dumps(r, allow_nan=False)  # finite all through
