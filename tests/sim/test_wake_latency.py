"""The migration thread wakes late from its rate-limit sleeps (``--wake-latency``).

QEMU's thread, once a window's budget is spent, sleeps until the window's 100 ms are up
(``qemu_sem_timedwait`` in ``migration_rate_limit``) and measures when it wakes
(``migration_update_counters``): a host that wakes it L late makes every window that ends
asleep 100 ms + L long, and the bandwidth it measures (the threshold's) the window's bytes over
that time. A window that ends without a sleep (iterations that cross the 100 ms mark) is not
affected. Every number below is worked out in the comments.
"""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.spec import InvalidParameter

from .validation_support import AUTOCONVERGE_GUEST

LINK = 1.25e9  # 10 Gbit/s, the default link
LATENCY_S = 0.0004


def run(**params):
    return simulate(build_spec(**params)).to_dict()


def test_each_window_that_ends_asleep_lasts_100_ms_plus_the_latency():
    # 512 MiB, 97 % zero: 17,281,188 wire bytes; windows of 3,355,443.2 B at 32 MiB/s: five
    # full windows (each ends asleep: 0.5 s + 5 x 0.4 ms = 0.502 s), then the last 503,972 B
    # at link speed; the pass runs dry mid-window and the VM stops at once
    idle = dict(memory="512MiB", zero_fraction=0.97, dirty_rate=0, max_bandwidth="32MiB/s")
    r = run(wake_latency=LATENCY_S, **idle)
    assert r["precopy_time_s"] == pytest.approx(5 * (0.1 + LATENCY_S) + 503_972 / LINK, abs=1e-9)
    # the threshold: 3,355,443.2 B measured over 100.4 ms, x 300 ms
    assert r["threshold_bytes"] == pytest.approx(3_355_443.2 / 0.1004 * 0.3, abs=1)
    on_time = run(**idle)
    assert on_time["precopy_time_s"] == pytest.approx(0.5 + 503_972 / LINK, abs=1e-9)


def test_a_pass_that_ends_as_the_budget_runs_out_waits_for_the_late_wake_up():
    # 10,000 pages (4,104 B each), windows of exactly 1,000 pages: the tenth window's budget
    # and the pass end together; the thread sleeps, wakes at 10 x 100.4 ms, then checks
    r = run(
        memory=10_000 * 4096,
        zero_fraction=0,
        dirty_rate=0,
        max_bandwidth=41_040_000,
        downtime_limit="1ms",
        wake_latency=LATENCY_S,
    )
    assert r["precopy_time_s"] == pytest.approx(10 * (0.1 + LATENCY_S), abs=1e-9)


def test_windows_that_end_without_a_sleep_do_not_wait():
    # uncapped: 4 GiB written once at 10 Gbit/s; windows of two 51 ms iterations that cross
    # the 100 ms mark, none with a budget to spend, so none ends asleep. The check after the
    # 62nd iteration (3.162 s: 963,085 pages sent) finds 85,491 pages (350 MB) pending, under
    # the threshold of 1.25 GB/s x 300 ms (after the 61st, 413.8 MB: over it)
    guest = dict(memory="4GiB", zero_fraction=0, dirty_rate=0, max_bandwidth="none")
    on_time = run(**guest)["precopy_time_s"]
    assert on_time == pytest.approx(62 * 0.051, abs=1e-9)
    assert run(wake_latency=LATENCY_S, **guest)["precopy_time_s"] == on_time


def test_a_late_thread_moves_auto_converges_one_second_periods():
    # QEMU's throttle looks at a period only at a sync more than 1 s after the last look, and
    # a late thread's rounds are a little longer: which syncs it looks at, and so when the
    # throttle steps, move
    on_time = run(**AUTOCONVERGE_GUEST)
    late = run(wake_latency=LATENCY_S, **AUTOCONVERGE_GUEST)

    def steps(r):
        out, throttle = [], 0.0
        for x in r["rounds"]:
            if x["throttle"] != throttle:
                out.append((round(x["start_s"], 2), x["throttle"]))
                throttle = x["throttle"]
        return out

    assert steps(on_time) != steps(late)
    assert late["converged"] and on_time["converged"]


@pytest.mark.parametrize("value", ["2s", "-1ms", "soon"])
def test_a_latency_outside_its_range_is_refused_naming_the_parameter(value):
    with pytest.raises(InvalidParameter) as refused:
        build_spec(wake_latency=value)
    assert refused.value.field == "wake_latency"
