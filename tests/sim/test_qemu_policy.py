"""The qemu policy behaves like QEMU 8-9 (migration.c, ram.c) and its operator layer."""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.policies import QEMU_RATE_WINDOW_S, AutoConverge
from migrationsim.units import PAGE_SIZE_BYTES

CAP = 128 * 1024**2
LINK = 1.25e9


@pytest.mark.parametrize("resolution", ["fluid", "pages"])
def test_final_pending_sits_just_under_the_threshold(run, resolution):
    r = run(
        policy="qemu",
        memory="2GiB",
        dirty_rate="60MB/s",
        working_set="1GiB",
        zero_fraction=0,
        resolution=resolution,
    )
    final = r["rounds"][-1]
    pending_final = final["pages"] * PAGE_SIZE_BYTES
    one_window_of_pages = CAP * QEMU_RATE_WINDOW_S * PAGE_SIZE_BYTES / (PAGE_SIZE_BYTES + 8)
    assert r["converged"] and r["stop_reason"] == "threshold_reached"
    assert r["threshold_bytes"] - one_window_of_pages <= pending_final < r["threshold_bytes"]


def test_live_rounds_are_capped_but_the_final_copy_runs_at_link_speed(run):
    # QEMU's cap is a budget per 100 ms window, sent at link speed: over pre-copy the live
    # bytes stay within the cap (plus the burst of the window in progress); a round that ends
    # mid-window may average more than the cap, never more than the link
    r = run(policy="qemu", workload="web", bandwidth=LINK, device_state="2MiB", resume_time="20ms")
    live = [x for x in r["rounds"] if x["phase"] == "live"]
    final = r["rounds"][-1]
    live_bytes = sum(x["bytes"] for x in live)
    assert live_bytes <= CAP * (r["precopy_time_s"] + QEMU_RATE_WINDOW_S) * (1 + 1e-9)
    assert live_bytes >= CAP * (r["precopy_time_s"] - QEMU_RATE_WINDOW_S)
    assert all(x["rate_bps"] <= LINK * (1 + 1e-9) for x in live)
    assert final["phase"] == "final" and final["rate_bps"] == LINK
    assert r["blackout_s"] == pytest.approx(final["bytes"] / LINK + 2 * 1024**2 / LINK + 0.020)


def test_pages_are_sent_with_qemu_headers_and_zero_pages_cost_nine_bytes(run):
    r = run(policy="qemu", memory="1GiB", zero_fraction=0.5, dirty_rate=0, max_bandwidth="none")
    pages = 1024**3 // PAGE_SIZE_BYTES
    assert r["bytes_sent"] - r["rounds"][-1]["bytes"] == pytest.approx(
        pages / 2 * (4096 + 8) + pages / 2 * 9 + 2 * 1024**2
    )


def test_auto_converge_throttles_20_percent_then_10_more_after_two_qualifying_periods():
    aids = AutoConverge()
    throttles = [
        aids.on_sync(now_s=1.5 * (i + 1), dirty_bytes=100, wire_bytes=100) for i in range(8)
    ]
    assert throttles == [0.0, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5]


def test_auto_converge_ignores_periods_where_dirtying_is_under_half_the_sent_bytes():
    aids = AutoConverge()
    throttles = [
        aids.on_sync(now_s=1.5 * (i + 1), dirty_bytes=49, wire_bytes=100) for i in range(6)
    ]
    assert throttles == [0.0] * 6


def test_auto_converge_waits_for_a_full_second_between_checks():
    aids = AutoConverge()
    assert [
        aids.on_sync(now_s=0.1 * (i + 1), dirty_bytes=100, wire_bytes=100) for i in range(10)
    ] == [0.0] * 10
    assert (
        aids.on_sync(now_s=1.2, dirty_bytes=100, wire_bytes=100) == 0.0
    )  # first qualifying period
    assert aids.on_sync(now_s=2.3, dirty_bytes=100, wire_bytes=100) == 0.2


def test_auto_converge_ramps_until_a_hopeless_guest_converges(run):
    # 16 GB/s of writes against 10 Gbit/s: only a 99 % throttle brings them under the link
    plain = run(policy="qemu", workload="muncher", memory="2GiB", max_bandwidth="none")
    aided = run(
        policy="qemu", workload="muncher", memory="2GiB", max_bandwidth="none", auto_converge=True
    )
    assert not plain["converged"]
    assert aided["converged"] and aided["throttle_max"] >= 0.9
    throttles = [x["throttle"] for x in aided["rounds"]]
    assert throttles == sorted(throttles)  # never backs off
    steps = sorted(set(throttles) - {0.0})
    assert steps[0] == pytest.approx(0.2)
    assert all(
        b - a == pytest.approx(0.1) for a, b in zip(steps, steps[1:], strict=False) if b < 0.99
    )


@pytest.mark.parametrize("resolution", ["fluid", "pages"])
def test_dirtying_faster_than_the_link_never_converges_and_the_timeout_aborts(run, resolution):
    r = run(
        policy="qemu",
        workload="muncher",
        memory="1GiB",
        completion_timeout="150s",
        resolution=resolution,
    )
    assert not r["converged"]
    assert r["stop_reason"] == "timeout_abort" and r["outcome"] == "aborted"
    assert r["precopy_time_s"] == pytest.approx(150.0)  # 150 s per GiB x 1 GiB
    assert r["blackout_s"] == 0 and r["final_bytes"] == 0
    assert [p["name"] for p in r["phases"]] == [
        "guest_notice",
        "target_setup",
        "pre_migration_brownout",
        "cleanup",
    ]


def test_force_complete_pauses_the_guest_for_everything_still_dirty(run):
    r = run(policy="qemu", workload="muncher", memory="1GiB", timeout_action="force-complete")
    assert r["stop_reason"] == "timeout_force_complete" and r["outcome"] == "migrated"
    assert r["final_bytes"] > 500 * 1024**2
    assert r["blackout_s"] > 0.4  # hundreds of MiB at 10 Gbit/s: a long, visible pause


def test_timeout_can_switch_to_post_copy(run):
    r = run(policy="qemu", workload="muncher", memory="1GiB", timeout_action="post-copy")
    assert r["stop_reason"] == "timeout_post_copy"
    assert r["blackout_s"] < 0.05  # only the device state moves during the pause
    assert r["postcopy"]["bytes"] > 500 * 1024**2
    assert r["postcopy"]["faults"] > 0 and r["postcopy"]["fault_stall_s"] > 0


def test_post_copy_switches_after_the_first_pass(run):
    r = run(policy="qemu", workload="cache", post_copy=True)
    assert r["live_rounds"] == 1 and r["stop_reason"] == "post_copy"
    assert r["total_time_s"] == pytest.approx(
        r["precopy_time_s"] + r["blackout_s"] + r["postcopy"]["duration_s"]
    )


def test_the_downtime_ramp_starts_low_and_reaches_the_limit(run):
    spec = build_spec(
        policy="qemu",
        downtime_ramp_steps=10,
        downtime_ramp_delay="1s",
        downtime_limit="500ms",
        memory="1GiB",
    )
    from migrationsim.policies import Qemu

    policy = Qemu(spec)
    assert policy.downtime_limit_s(0.0) == pytest.approx(0.05)
    assert policy.downtime_limit_s(5.0) == pytest.approx(0.05 + 0.045 * 5)
    assert policy.downtime_limit_s(100.0) == pytest.approx(0.5)
    ramped = simulate(spec).to_dict()
    assert ramped["converged"]


def test_a_longer_downtime_limit_allows_a_bigger_final_copy(run):
    short = run(policy="qemu", workload="oltp", downtime_limit="100ms")
    long = run(policy="qemu", workload="oltp", downtime_limit="1s")
    assert long["final_bytes"] > short["final_bytes"]
    assert long["live_rounds"] < short["live_rounds"]
