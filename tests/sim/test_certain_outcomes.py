"""Any input ends quickly with a finite answer (issue 15, section 3): a migration whose outcome
is already certain is decided analytically with a sentence that says why; hostile numbers are
refused naming the parameter; long steady runs are summarised, saying so."""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrationsim import InvalidParameter, build_spec, simulate
from migrationsim import precopy as precopy_module
from migrationsim.precopy import MAX_PRECOPY_S, Precopy

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


# --- proven never to converge (nonconvergence.py) ----------------------------------------------

# the web workload at 10 MB/s with no deadline in a year: each round from ~0.5 GB pending lasts
# ~50 s, in which its two random sets are rewritten as much again; 611,327 rounds one by one
# to the ceiling took 5.8 s (the issue asks 2 s)
WEB_WITHOUT_DEADLINE = dict(
    bandwidth=1e7, max_bandwidth=1e7, completion_timeout=1e7, downtime_ramp_delay=1e7
)


@pytest.mark.parametrize(
    "params",
    [WEB_WITHOUT_DEADLINE, {"workload": "muncher", "completion_timeout": "1e30s"}],
    ids=["web-10MB/s", "muncher"],
)
def test_a_guest_proven_never_to_converge_is_decided_after_its_first_rounds(params):
    r = simulate(build_spec(**params)).to_dict()
    assert r["outcome"] == "aborted" and r["stop_reason"] == "never_converges"
    assert r["live_rounds"] >= Precopy.NEVER_CONVERGES_FIRST_CHECK
    message = r["stop_message"]
    assert "can never converge" in message and "downtime limit" in message
    assert f"decided after {r['live_rounds']:,} live rounds" in message


# oltp behind a cap it saturates, with no deadline within the year: pending hovers 10 % above
# the threshold with no pattern that repeats exactly, in rounds of 0.1 s (a quarter of a
# billion of them one by one, hours and every GB of the host, before the round ceiling)
HOVERING = {
    "link at the cap": dict(memory="1GiB", bandwidth=63443881.1, max_bandwidth=63443881.1),
    "link at twice the cap (QEMU's fresh windows in one loop)": dict(
        memory="4GiB", bandwidth=143834211.6, max_bandwidth=71917105.8, downtime_limit=0.1789
    ),
}


@pytest.mark.parametrize("params", HOVERING.values(), ids=HOVERING.keys())
def test_a_guest_hovering_above_the_threshold_stops_at_the_round_ceiling(params):
    params = {"workload": "oltp", "downtime_limit": 0.985, "completion_timeout": 1e30, **params}
    r = simulate(build_spec(**params)).to_dict()
    assert r["outcome"] == "aborted" and r["stop_reason"] == "round_ceiling"
    assert r["live_rounds"] >= precopy_module.MAX_LIVE_ROUNDS_WITHOUT_DEADLINE
    assert "after 25,000 live rounds followed one by one" in r["stop_message"]
    assert r["precopy_time_s"] < MAX_PRECOPY_S / 100


def test_with_a_deadline_the_round_ceiling_is_higher(monkeypatch):
    """A deadline within the year (here 33 min) is followed up to ``MAX_LIVE_ROUNDS``."""
    monkeypatch.setattr(precopy_module, "MAX_LIVE_ROUNDS_WITHOUT_DEADLINE", 300)
    hovering = dict(workload="oltp", memory="1GiB", bandwidth=63443881.1, max_bandwidth=63443881.1)
    hovering.update(downtime_limit=0.985, completion_timeout=2e3)
    r = simulate(build_spec(**hovering)).to_dict()
    assert r["stop_reason"] == "timeout_abort" and r["live_rounds"] > 300
    monkeypatch.setattr(precopy_module, "MAX_LIVE_ROUNDS", 400)
    r = simulate(build_spec(**hovering)).to_dict()
    assert r["stop_reason"] == "round_ceiling" and r["live_rounds"] >= 400
    assert "after 400 live rounds followed one by one" in r["stop_message"]


def proven_floor(spec) -> tuple[tuple[int, float] | None, dict]:
    """(the round, the floor in bytes) where the proof decided ``spec`` (or None), and the
    run."""
    said = []
    real = precopy_module.never_converges_stop

    def keeping(spec, floor_bytes, threshold_bytes, link_bps, rounds, waited_s):
        said.append((rounds, floor_bytes))
        return real(spec, floor_bytes, threshold_bytes, link_bps, rounds, waited_s)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(precopy_module, "never_converges_stop", keeping)
        run = simulate(spec).to_dict()
    return (said[0] if said else None), run


@st.composite
def writers_faster_than_the_link(draw):
    """Guests whose writes may or may not outpace a capped link, with no deadline in a year."""
    cap = draw(st.floats(min_value=1e6, max_value=1e8))
    return build_spec(
        memory=draw(st.sampled_from(["256MiB", "1GiB", "4GiB"])),
        workload=draw(st.sampled_from(["web", "oltp", "cache", "muncher", "analytics"])),
        bandwidth=cap * draw(st.sampled_from([1.0, 2.0])),
        max_bandwidth=cap,
        downtime_limit=draw(st.floats(min_value=0.01, max_value=1.0)),
        completion_timeout=1e30,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writers_faster_than_the_link())
def test_where_the_proof_decides_every_later_sync_stays_above_its_floor(spec):
    """The proof, checked against the model itself: the same guest simulated on, without the
    proof, for a deadline 300 rounds later, never converges and never syncs below the floor."""
    proven, decided = proven_floor(spec)
    if proven is None:
        return
    rounds, floor_bytes = proven
    until_s = decided["precopy_time_s"] + 300 * decided["rounds"][-1]["duration_s"]
    gib = spec.memory_bytes / 1024**3
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Precopy, "PROVE_NEVER_CONVERGES", False)
        on = simulate(dataclasses.replace(spec, completion_timeout_s_per_gib=until_s / gib))
    on = on.to_dict()
    assert not on["converged"]  # (at the deadline, or at the ceiling where that comes first)
    assert on["stop_reason"] in ("timeout_abort", "timeout_force_complete", "time_ceiling")
    # the syncs from the proof's on (the last round is the deadline's cut, not a sync of QEMU's)
    later = [x for x in on["rounds"][:-1] if x["index"] >= rounds - 1]
    assert later  # (300 rounds, or fewer where the proof came just before the ceiling)
    assert all(x["pending_after_bytes"] >= floor_bytes * (1 - 1e-9) for x in later)


def test_past_the_rounds_kept_one_by_one_rounds_are_kept_in_blocks_with_the_same_sums(
    monkeypatch,
):
    """A million rounds of 0.1 s kept one by one were 900 MB; past ``KeptRounds.ONE_BY_ONE``
    each block of ``BLOCK`` rounds is one round with ``repeat``, the sums unchanged."""
    hovering = dict(workload="oltp", memory="1GiB", bandwidth=63443881.1, max_bandwidth=63443881.1)
    spec = build_spec(downtime_limit=0.985, completion_timeout=300, **hovering)
    whole = simulate(spec).to_dict()
    assert not whole["rounds_summarised"] and whole["live_rounds"] > 100
    monkeypatch.setattr(precopy_module.KeptRounds, "ONE_BY_ONE", 10)
    monkeypatch.setattr(precopy_module.KeptRounds, "BLOCK", 7)
    kept = simulate(spec).to_dict()
    assert kept["rounds_summarised"] and len(kept["rounds"]) < 10 + whole["live_rounds"] / 7 + 2
    assert kept["rounds"][:10] == whole["rounds"][:10]
    live = [r for r in kept["rounds"] if r["phase"] == "live"]
    whole_live = [r for r in whole["rounds"] if r["phase"] == "live"]
    assert sum(r["repeat"] for r in live) == whole["live_rounds"] == kept["live_rounds"]
    for key in ("duration_s", "bytes", "pages", "dirty_bytes"):
        assert sum(r[key] * r["repeat"] for r in live) == pytest.approx(
            sum(r[key] for r in whole_live), rel=1e-12
        )
    assert live[-1]["pending_after_bytes"] == whole_live[-1]["pending_after_bytes"]
    for key in ("total_time_s", "bytes_sent", "final_bytes", "blackout_s"):
        assert kept[key] == whole[key]


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
