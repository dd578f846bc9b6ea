"""QEMU's switch-over to the millisecond (issue 15, section 1), with hand-computed numbers.

The thread's schedule (ratelimit.py; QEMU 7.x migration.c and ram.c): a window carries
max_bandwidth x 100 ms at link speed, then the thread sleeps until the window's 100 ms are up
and measures the bandwidth; an iteration also ends after 51 ms or when no page is left; after
every iteration the pending estimate (pages x 4096 B) is compared with the threshold, and only
below it is the bitmap synced. Every number below is worked out in the comments.
"""

import math

import pytest

from migrationsim import build_spec, simulate
from migrationsim.ratelimit import QEMU_MAX_WAIT_S, RateWindow

LINK = 1.25e9  # 10 Gbit/s, the default link
DEVICE_S = 2 * 1024**2 / LINK  # 2 MiB of device state at link speed
RESUME_S = 0.020


def run(**params):
    return simulate(build_spec(**params)).to_dict()


def live(r):
    return [x for x in r["rounds"] if x["phase"] == "live"]


def test_an_idle_guest_stops_as_its_pass_runs_out_mid_window_without_waiting():
    # 512 MiB = 131,072 pages; 97 % zero: 127,140 zero pages (9 B), 3,932 others (4,104 B):
    # 17,281,188 B. Windows of 32 MiB/s x 100 ms = 3,355,443.2 B: five full windows by 0.5 s,
    # then the last 503,972 B at link speed (0.4031776 ms), the pass runs dry, the check syncs
    # (nothing was written) and the VM stops at once: no wait for the window's end.
    r = run(memory="512MiB", zero_fraction=0.97, dirty_rate=0, max_bandwidth="32MiB/s")
    assert r["live_rounds"] == 1 and r["stop_reason"] == "threshold_reached"
    assert r["rounds"][0]["bytes"] == pytest.approx(17_281_188)
    assert r["precopy_time_s"] == pytest.approx(0.5 + 503_972 / LINK, abs=1e-9)
    assert r["final_bytes"] == 0
    assert r["blackout_s"] == pytest.approx(DEVICE_S + RESUME_S)
    assert r["total_time_s"] == pytest.approx(0.5004031776 + DEVICE_S + RESUME_S, abs=1e-9)
    # the threshold measured over the full windows: 32 MiB/s x 300 ms
    assert r["threshold_bytes"] == 10_066_329


def test_a_pass_that_ends_as_the_budget_runs_out_waits_for_the_window_to_end():
    # 10,000 pages (4,104 B each on the wire), windows of exactly 1,000 pages (41.04 MB/s x
    # 100 ms), a 1 ms downtime limit (threshold 41,040 B: ten pages). The tenth window's
    # budget and the pass end together at 0.9 s + 4,104,000 B / 1.25e9 B/s; the thread is
    # rate-limited, so it sleeps until 1.0 s, measures, and only then checks, finds nothing
    # pending and stops.
    guest = dict(zero_fraction=0, dirty_rate=0, max_bandwidth=41_040_000, downtime_limit="1ms")
    r = run(memory=10_000 * 4096, **guest)
    assert r["live_rounds"] == 1
    assert r["precopy_time_s"] == pytest.approx(1.0, abs=1e-9)
    assert r["threshold_bytes"] == 41_040  # 41.04 MB/s x 1 ms
    # one page less: the pass runs dry before the budget is spent; the check that follows
    # the iteration stops the VM at once
    r = run(memory=9_999 * 4096, **guest)
    assert r["precopy_time_s"] == pytest.approx(0.9 + 999 * 4104 / LINK, abs=1e-9)
    # one page more: the check at 1.0 s finds one page (4,096 B < 41,040 B): stop, and the
    # final copy carries it
    r = run(memory=10_001 * 4096, **guest)
    assert r["precopy_time_s"] == pytest.approx(1.0, abs=1e-9)
    assert r["final_bytes"] == pytest.approx(4104)


# A working set of 3,005 or 3,006 pages rewritten whole (sequentially, at 1 GB/s, a lap every
# 12 ms) between any two checks, in 10,000 pages, windows of 1,000 pages: the threshold is
# 12,312,000 B = 3,005.86 pages. The hot pages lie first (pages 0-3,005).
def hot_guest(pages):
    return dict(
        memory=10_000 * 4096,
        zero_fraction=0,
        working_set=pages * 4096,
        write_pattern="sequential",
        dirty_rate="1GB/s",
        max_bandwidth=41_040_000,
    )


def test_a_working_set_just_under_the_threshold_converges():
    # Round 0: checks at 0.1, 0.2, ... s; the estimate (10,000 - 1,000 k pages) is first below
    # 3,005.86 pages at 0.7 s: sync; pending = 3,000 unsent + 3,005 rewritten = 6,005 pages.
    # Round 1: 5,005 at 0.8 s, 4,005 at 0.9 s, 3,005 at 1.0 s: sync; only the set is pending:
    # 3,005 x 4,096 = 12,308,480 B < 12,312,000 B: stop. The final copy carries 3,005 pages
    # uncapped.
    r = run(**hot_guest(3005))
    assert [x["duration_s"] for x in live(r)] == [pytest.approx(0.7), pytest.approx(0.3)]
    assert [x["pending_after_bytes"] for x in live(r)] == [6005 * 4096, 3005 * 4096]
    assert r["converged"] and r["precopy_time_s"] == pytest.approx(1.0)
    assert r["final_bytes"] == pytest.approx(3005 * 4104)
    assert r["blackout_s"] == pytest.approx(3005 * 4104 / LINK + DEVICE_S + RESUME_S)


def test_a_working_set_one_page_above_the_threshold_never_converges():
    # 3,006 pages = 12,312,576 B >= 12,312,000 B: at 1.0 s the estimate is 3,006 pages, not
    # below the threshold, so no sync; the eleventh window sends hot pages 0-999, the check at
    # 1.1 s syncs (2,006 < 3,005.86) and finds 3,006 pending again. From then on every window
    # is a round: one page is all it takes to get under the threshold, the check comes at the
    # window's end, the sync brings the whole set back. The operator's timeout ends it
    # (150 s/GiB x 10,000 pages = 5.72 s).
    r = run(**hot_guest(3006))
    rounds = live(r)
    assert [x["duration_s"] for x in rounds[:2]] == [pytest.approx(0.7), pytest.approx(0.4)]
    assert all(
        x["duration_s"] == pytest.approx(0.1) and x["bytes"] == pytest.approx(4_104_000)
        for x in rounds[2:-1]
    )
    assert all(x["pending_after_bytes"] == 3006 * 4096 for x in rounds[1:])
    assert r["stop_reason"] == "timeout_abort" and not r["converged"]
    timeout_s = 150 * 10_000 * 4096 / 1024**3
    assert r["precopy_time_s"] == pytest.approx(timeout_s)
    assert r["live_rounds"] == 2 + math.ceil((timeout_s - 1.1) / 0.1)


def test_a_pass_that_runs_dry_mid_window_leaves_the_next_round_the_rest_of_the_budget():
    # 1 GiB, half zero pages at the end: 131,072 x 4,104 + 131,072 x 9 = 539,099,136 B.
    # Windows of 10 MB (100 MB/s): 53 full windows by 5.3 s, when the estimate still counts
    # every zero page at 4,096 B; the 54th window sends the last 9,099,136 B and the pass runs
    # dry at 5.3 s + 7.2793088 ms. The 64 MiB set (16,384 pages, rewritten whole between
    # checks) is pending again: 67.1 MB, above the threshold (30 MB). Round 1 spends the
    # window's remaining 900,864 B (219.5 pages), sleeps, and is checked at 5.4, 5.5, ... s:
    # the estimate is below 30 MB (7,324.2 pages) once more than 9,059.8 pages are sent:
    # 219.5 + 2,436.6 k pages, k = 4: at 5.8 s. Round 2 starts fresh: 4 windows, to 6.2 s.
    r = run(
        memory="1GiB",
        zero_fraction=0.5,
        working_set="64MiB",
        write_pattern="sequential",
        dirty_rate="4GB/s",
        max_bandwidth=100e6,
        completion_timeout=12,
    )
    rounds = live(r)
    dry_s = 5.3 + 9_099_136 / LINK
    assert rounds[0]["duration_s"] == pytest.approx(dry_s, abs=1e-9)
    assert rounds[0]["pending_after_bytes"] == 16_384 * 4096
    assert rounds[1]["start_s"] == pytest.approx(dry_s, abs=1e-9)
    assert rounds[1]["duration_s"] == pytest.approx(5.8 - dry_s, abs=1e-9)
    assert rounds[1]["bytes"] == pytest.approx(10e6 - 9_099_136 + 4 * 10e6)
    assert rounds[2]["duration_s"] == pytest.approx(0.4) and rounds[2]["bytes"] == pytest.approx(
        40e6
    )
    assert rounds[2]["threshold_bytes"] == 30_000_000


def test_without_a_cap_the_thread_checks_after_every_51_ms_iteration():
    # Uncapped on 10 GbE: each ram_save_iterate stops after MAX_WAIT (51 ms on QEMU's ms
    # clock), two of them make a 102 ms window; the threshold is the link rate x 300 ms.
    r = run(
        memory="1GiB",
        zero_fraction=0,
        working_set="800MiB",
        dirty_rate="100MB/s",
        max_bandwidth="none",
    )
    assert r["threshold_bytes"] == 375_000_000
    for x in live(r)[1:]:
        iterations = x["duration_s"] / QEMU_MAX_WAIT_S
        assert iterations == pytest.approx(round(iterations), abs=1e-6)


def test_before_the_first_measurement_the_threshold_is_zero():
    # 4 MiB uncapped at 10 GbE: the whole pass (4,202,496 B, 3.36 ms) fits in the first
    # window, before any measurement: the threshold is still 0 (migrate_init). The estimate is
    # 0 once the pass is done, so QEMU completes, and the final sync carries what the guest
    # wrote meanwhile: 1,024 x (1 - exp(-writes / 1,024)) pages.
    r = run(memory="4MiB", zero_fraction=0, dirty_rate="100MB/s", max_bandwidth="none")
    pass_s = 1024 * 4104 / LINK
    writes = 100e6 / 4096 * pass_s
    dirtied = 1024 * -math.expm1(-writes / 1024)
    assert r["live_rounds"] == 1 and r["converged"]
    assert r["threshold_bytes"] == 0
    assert r["precopy_time_s"] == pytest.approx(pass_s)
    assert r["final_bytes"] == pytest.approx(dirtied * 4104)


def test_the_window_measures_bytes_over_elapsed_time():
    window = RateWindow(None, lambda bandwidth, now: bandwidth * 0.3, lambda now: math.inf)
    # uncapped at 1e9 B/s: two 51 ms iterations, then the measurement over 102 ms
    seconds, sent, ended = window.run(0.0, 1e9, lambda threshold: math.inf, 1e12, 0.15)
    assert not ended and seconds == pytest.approx(0.15) and sent == pytest.approx(0.15e9)
    assert window.threshold == pytest.approx(0.3e9)
    assert window.elapsed_s == pytest.approx(0.15 - 0.102)
    # capped at 100 MB/s on the same link: 10 MB in 10 ms, a sleep, 100 MB/s measured
    window = RateWindow(100e6, lambda bandwidth, now: bandwidth * 0.3, lambda now: math.inf)
    seconds, sent, ended = window.run(0.0, 1e9, lambda threshold: math.inf, 1e12, 0.15)
    assert window.threshold == pytest.approx(30e6)
    assert sent == pytest.approx(20e6)  # the second window's budget went out by 0.11 s
    assert window.sleeping


def test_at_a_link_slower_than_the_cap_the_threshold_follows_the_link():
    # 1 Gbit/s under QEMU's default 128 MiB/s: the budget is never spent, the iterations end
    # after 51 ms, the windows after 102 ms, and the measured bandwidth is the link's.
    r = run(workload="web", bandwidth="1Gbit/s")
    assert r["threshold_bytes"] == 37_500_000
