"""The migration thread's time per page (pacing.py), with hand-computed numbers.

QEMU reads and tests every page for zero before it writes it (ram.c: ``save_zero_page``,
``buffer_is_zero``). A zero page is 9 B on the wire but costs the whole test, so a pass over
zero pages runs at the thread's pace. The model: a page takes the longer of its wire bytes at
the link rate and ``page_time``; the rate-limit budget stays in wire bytes.
"""

import pytest

from migrationsim import InvalidParameter, build_spec, simulate
from migrationsim.memory_fluid import FluidMemory
from migrationsim.memory_pages import PageMemory
from migrationsim.pacing import PagePace
from migrationsim.switchover import stop_and_copy

LINK = 1.25e9  # 10 Gbit/s, the default link
PAGE_TIME = 250e-9
IDLE = dict(dirty_rate=0, working_set=0, device_state=0, resume_time=0)


def run(**params):
    return simulate(build_spec(**params)).to_dict()


def test_the_pace_takes_the_longer_of_wire_time_and_page_time():
    # 100 written pages (4,104 B: 3.2832 us each at 1.25 GB/s, longer than 250 ns), then 1,000
    # zero pages (9 B: 7.2 ns on the wire, so 250 ns each)
    pace = PagePace([(100, 4104), (1000, 9)], LINK, PAGE_TIME)
    written = 100 * 4104
    assert pace.total_wire == written + 9000
    assert pace.total_seconds == pytest.approx(written / LINK + 1000 * PAGE_TIME)
    # half way through the zero pages
    assert pace.seconds_at(written + 4500) == pytest.approx(written / LINK + 500 * PAGE_TIME)
    assert pace.wire_at(written / LINK + 500 * PAGE_TIME) == pytest.approx(written + 4500)
    # what 10 us carry from the start: all 100 written pages (328.32 us)? no: 10 us of them
    assert pace.wire_within(0, 10e-6) == pytest.approx(10e-6 * LINK)
    # past the last pending page the link's rate applies
    assert pace.seconds_at(written + 9000 + 1250) == pytest.approx(pace.total_seconds + 1250 / LINK)


@pytest.mark.parametrize("resolution", ["fluid", "pages"])
def test_an_idle_guest_takes_its_pages_times_the_page_time(resolution):
    # 128 MiB, every page zero: 32,768 pages, 294,912 B on the wire, far under a 32 MiB/s
    # window's budget: one iteration, which runs dry after 32,768 x 250 ns = 8.192 ms (on the
    # wire alone 0.236 ms); the check finds nothing pending and the VM stops.
    r = run(
        memory="128MiB",
        zero_fraction=1,
        max_bandwidth="32MiB/s",
        page_time="250ns",
        resolution=resolution,
        **IDLE,
    )
    assert r["live_rounds"] == 1 and r["stop_reason"] == "threshold_reached"
    assert r["bytes_sent"] == 294_912
    assert r["precopy_time_s"] == pytest.approx(32_768 * PAGE_TIME, rel=1e-9)
    without = run(memory="128MiB", zero_fraction=1, max_bandwidth="32MiB/s", **IDLE)
    assert without["precopy_time_s"] == pytest.approx(294_912 / LINK, rel=1e-9)


def test_a_pass_longer_than_max_wait_runs_on_in_the_next_iteration():
    # 1 GiB idle: 262,144 zero pages x 250 ns = 65.536 ms. The first iteration stops at
    # MAX_WAIT (51 ms, 204,000 pages) with the budget far from spent; the check finds pending
    # above the threshold (still 0: nothing measured yet), and the second iteration sends the
    # rest by 65.536 ms, inside the first window.
    r = run(memory="1GiB", zero_fraction=1, page_time="250ns", **IDLE)
    assert r["live_rounds"] == 1
    assert r["precopy_time_s"] == pytest.approx(262_144 * PAGE_TIME, rel=1e-9)


def test_the_budget_counts_wire_bytes_and_the_clock_counts_the_thread():
    # 128 MiB idle at a 1 MiB/s cap: a window's budget is 104,857.6 B = 11,650.84 zero pages,
    # which the thread tests in 2.913 ms, then sleeps to the window's end. Windows 1 and 2 are
    # full; window 3 sends the other 9,466.31 pages in 2.367 ms and the pass runs dry:
    # 0.2 s + 9,466.31 x 250 ns. Counting the pages' time against the budget instead would
    # spill into more windows; counting only their wire bytes would end at 0.2 s + 68 us.
    r = run(memory="128MiB", zero_fraction=1, max_bandwidth="1MiB/s", page_time="250ns", **IDLE)
    per_window = 104_857.6 / 9
    last = 32_768 - 2 * per_window
    assert r["live_rounds"] == 1
    assert r["precopy_time_s"] == pytest.approx(0.2 + last * PAGE_TIME, rel=1e-9)
    assert r["bytes_sent"] == 294_912


def test_written_pages_are_not_slowed_when_the_link_is_the_slower():
    # every page written: 4,104 B take 3.28 us at 10 Gbit/s, far more than 250 ns
    guest = dict(memory="256MiB", zero_fraction=0, workload="web", max_bandwidth="64MiB/s")
    assert run(page_time="250ns", **guest) == run(**guest)


@pytest.mark.parametrize("memory_class", [FluidMemory, PageMemory])
def test_the_final_copy_tests_its_zero_pages_too(memory_class):
    # a stop-and-copy before any pass: 1,000 written pages and 3,000 zero pages pending
    spec = build_spec(
        memory=4000 * 4096, zero_fraction=0.75, page_time="250ns", resolution="pages", **IDLE
    )
    switch = stop_and_copy(spec, memory_class(spec, spec.regions), LINK)
    assert switch.final_bytes == 1000 * 4104 + 3000 * 9
    assert switch.final_copy_s == pytest.approx(1000 * 4104 / LINK + 3000 * PAGE_TIME)


def test_a_page_time_longer_than_a_written_page_on_the_link_is_refused():
    # 4,104 B at 10 Gbit/s: 3.2832 us
    build_spec(page_time="3us")
    with pytest.raises(InvalidParameter) as refused:
        build_spec(page_time="4us")
    assert refused.value.field == "page_time"
    assert "3283.2 ns" in str(refused.value)


def test_a_huge_idle_guest_paced_by_its_thread_is_crossed_window_by_window_arithmetic():
    # 16 TiB idle at 1 us a page (the longest a written page allows at 1 GB/s is 4.1 us):
    # 4,294,967,296 pages x 1 us = 4,295 s of pre-copy, 42,000 windows of 102 ms, answered
    # at once (the pace is uniform: full windows are crossed by arithmetic)
    r = run(memory="16TiB", zero_fraction=1, bandwidth="1GB/s", page_time="1us", **IDLE)
    assert r["live_rounds"] == 1
    assert r["precopy_time_s"] == pytest.approx(4_294_967_296 * 1e-6, rel=1e-6)
