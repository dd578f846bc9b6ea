"""MODEL.md section 8: the published reference numbers, to their stated precision."""

import pytest

from migrationsim import build_spec, cloudsim_migration_time_s, qemu_threshold_bytes, simulate
from migrationsim.forwarding import announcement_times_s
from migrationsim.notice import MIGRATE, TERMINATE, guest_notice

from .conftest import CLOSED_FORM

GIB = 1024**3


def test_rc7_qemu_threshold_is_measured_bandwidth_times_downtime_limit():
    assert qemu_threshold_bytes(128 * 1024**2, 0.300) == 40_265_318
    assert qemu_threshold_bytes(1.25e9, 0.300) == 375_000_000


def test_rc7_the_simulated_qemu_run_uses_that_threshold(run):
    capped = run(policy="qemu", workload="web")
    uncapped = run(policy="qemu", workload="web", max_bandwidth="none", bandwidth=1.25e9)
    assert capped["threshold_bytes"] == 40_265_318
    assert uncapped["threshold_bytes"] == 375_000_000


def textbook(memory, bandwidth, dirty_rate, resolution="fluid"):
    return simulate(
        build_spec(
            policy="textbook",
            dirty_model="linear",
            memory=memory,
            bandwidth=bandwidth,
            dirty_rate=dirty_rate,
            downtime_limit="300ms",
            resolution=resolution,
            **CLOSED_FORM,
        )
    ).to_dict()


def test_rc8_textbook_8gib_on_10gbe():
    r = textbook(8 * GIB, 1.25e9, 200e6)
    assert r["live_rounds"] == 2
    live = [x["bytes"] for x in r["rounds"] if x["phase"] == "live"]
    assert live == [pytest.approx(8_589_934_592, rel=1e-3), pytest.approx(1_374_389_535, rel=1e-3)]
    assert r["final_bytes"] == pytest.approx(219.9e6, rel=1e-3)
    assert r["bytes_sent"] == pytest.approx(10.184e9, rel=1e-3)
    assert r["total_time_s"] == pytest.approx(8.147, rel=1e-3)
    assert r["blackout_s"] == pytest.approx(0.1759, rel=1e-3)
    assert r["converged"] and r["stop_reason"] == "threshold_reached"


def closed_form(memory, bandwidth, dirty_rate, downtime_limit=0.3):
    """Liu/Akoush: V_i = M lambda^i, stop at the first V_n <= R t_dl."""
    lam = dirty_rate / bandwidth
    n = next(i for i in range(1000) if memory * lam**i <= bandwidth * downtime_limit)
    v_mig = memory * (1 - lam ** (n + 1)) / (1 - lam)
    return {"n": n, "v_mig": v_mig, "t_mig": v_mig / bandwidth, "final": memory * lam**n}


@pytest.mark.parametrize(
    "dirty_rate, table",
    [
        (20e6, {"n": 3, "v_mig": 5.04e9, "t_mig": 37.6, "final": 14.2e6}),  # RC9a
        (100e6, {"n": 16, "v_mig": 16.7e9, "t_mig": 124.7, "final": 38.7e6}),  # RC9b
    ],
)
def test_rc9_textbook_4gib_at_128mibps_matches_the_closed_form(dirty_rate, table):
    expected = closed_form(4 * GIB, 128 * 1024**2, dirty_rate)
    r = textbook(4 * GIB, 128 * 1024**2, dirty_rate)
    assert r["live_rounds"] == expected["n"] == table["n"]
    assert r["bytes_sent"] == pytest.approx(expected["v_mig"], rel=1e-3)
    assert r["total_time_s"] == pytest.approx(expected["t_mig"], rel=1e-3)
    assert r["final_bytes"] == pytest.approx(expected["final"], rel=1e-3)
    # and MODEL.md's table, to the three digits it prints
    for key, result_key in (
        ("v_mig", "bytes_sent"),
        ("t_mig", "total_time_s"),
        ("final", "final_bytes"),
    ):
        assert r[result_key] == pytest.approx(table[key], rel=5e-3)


def test_rc8_holds_at_pages_resolution_too():
    r = textbook(8 * GIB, 1.25e9, 200e6, resolution="pages")
    assert r["live_rounds"] == 2
    assert r["total_time_s"] == pytest.approx(8.147, rel=1e-3)


def test_rc11_xen_stops_at_three_times_memory_with_a_hot_set_rewritten_every_round(run):
    r = run(
        policy="xen",
        adaptive_rate=False,
        bandwidth=117e6,
        memory=GIB,
        working_set="256MiB",
        dirty_rate=1e15,
        **CLOSED_FORM,
    )
    live = [x["bytes"] for x in r["rounds"] if x["phase"] == "live"]
    assert live[0] == pytest.approx(GIB)
    assert live[1:] == [pytest.approx(256 * 1024**2)] * 9
    assert r["stop_reason"] == "max_volume" and not r["converged"]
    assert r["final_bytes"] == pytest.approx(256 * 1024**2)
    assert r["bytes_sent"] == pytest.approx(3.758e9, rel=1e-3)
    assert r["total_time_s"] == pytest.approx(32.1, abs=0.05)
    assert r["blackout_s"] == pytest.approx(2.29, abs=0.005)


def test_rc12_cloudsim_baseline_is_ram_over_half_the_bandwidth():
    assert cloudsim_migration_time_s(1024e6, 1e9 / 8) == pytest.approx(16.384)


def test_rc15_qemu_announces_at_0_50_200_450_800_ms():
    assert announcement_times_s() == [0.0, 0.05, 0.2, 0.45, 0.8]


def test_rc15_announcements_appear_in_the_result(run):
    assert run()["announcements_s"] == [0.0, 0.05, 0.2, 0.45, 0.8]


def test_rc2_a_watching_guest_gets_60_s_notice_and_others_none():
    assert guest_notice(guest_watches=True) == (MIGRATE, 60.0)
    assert guest_notice(guest_watches=False) == (MIGRATE, 0.0)


def test_rc2_accelerator_vms_are_terminated_with_an_hour_of_notice():
    assert guest_notice(guest_watches=False, accelerator=True) == (TERMINATE, 3600.0)


def test_rc2_notice_shapes_the_phase_timeline(run):
    watched = {p["name"]: p for p in run(guest_watches=True)["phases"]}
    unwatched = {p["name"]: p for p in run(guest_watches=False)["phases"]}
    assert watched["guest_notice"]["duration_s"] == 60.0
    assert unwatched["guest_notice"]["duration_s"] == 0.0
    assert watched["target_setup"]["start_s"] == 60.0
