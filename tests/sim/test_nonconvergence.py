"""The proof that a guest never converges (``nonconvergence.py``), on hand-computed cases: a
floor of pending that every later sync keeps, or no proof where the writes cannot keep it."""

import math

import pytest

from migrationsim.nonconvergence import most_measured_bps, pending_floor_pages, send_floor_s

PAGE = 4096.0


def sequential(pages_per_s: float, region_pages: float):
    """A sequential writer: the pages it sweeps in t seconds, at most its region."""
    return lambda t: min(pages_per_s * t, region_pages)


def test_a_writer_twice_as_fast_as_the_link_keeps_its_whole_region_pending():
    # 1,000 pages/s over 10,000 pages, sent at 500 pages/s (4096 B each), threshold 0: a round
    # from the region's 10,000 pages lasts at least 20 s, in which the writer sweeps all of it
    floor = pending_floor_pages(
        10_000.0, 0.0, PAGE, lambda wire: wire / (500 * PAGE), sequential(1000, 10_000)
    )
    assert floor == pytest.approx(10_000.0, rel=1e-5) and floor <= 10_000.0


def test_a_writer_slower_than_the_link_proves_nothing():
    # 400 pages/s against 500 sent: each round is shorter than the last, nothing is certain
    assert (
        pending_floor_pages(
            10_000.0, 0.0, PAGE, lambda wire: wire / (500 * PAGE), sequential(400, 10_000)
        )
        is None
    )


def test_the_threshold_is_taken_off_twice():
    # threshold 1,000 pages: a round from P sends at least P - 2,000 written pages. With 2,000
    # pages/s against 1,000 sent, G(P) = 2 (P - 2000): the fixed point is 4,000 pages, below
    # it the writes lose. From 10,000 pending the floor comes down towards 4,000 and stays
    # above it, above the threshold.
    send = lambda wire: wire / (1000 * PAGE)  # noqa: E731
    floor = pending_floor_pages(10_000.0, 1000 * PAGE, PAGE, send, sequential(2000, 10_000))
    assert floor is not None and 4_000.0 <= floor <= 10_000.0
    assert 2 * (floor - 2000) >= floor  # G(F) >= F: the floor holds itself up
    # the same writer against a threshold of 5,000 pages: pending cannot be held above it
    assert pending_floor_pages(10_000.0, 5000 * PAGE, PAGE, send, sequential(2000, 10_000)) is None


def test_a_random_writer_loses_to_its_own_repeats():
    # 10,000 random writes/s over 10,000 pages: in t seconds 10,000 (1 - e^-t) pages are hit.
    # Sent at 5,000 pages/s, G(P) = 10,000 (1 - e^(-P/5000)): its fixed point is 7,968 pages
    random_set = lambda t: 10_000 * -math.expm1(-t)  # noqa: E731
    floor = pending_floor_pages(10_000.0, 0.0, PAGE, lambda w: w / (5000 * PAGE), random_set)
    assert floor == pytest.approx(7968.1, rel=1e-3)
    assert random_set(floor / 5000) >= floor


def test_nothing_written_proves_nothing():
    assert pending_floor_pages(10.0, 0.0, math.inf, lambda w: w, lambda t: 0.0) is None


def test_under_a_cap_a_send_takes_whole_windows_after_the_first():
    # 10 MB at a 1 MB/s cap on a 1 GB/s link: the window under way may carry its 100 KB budget
    # at once, every later one at most 100 KB per 100 ms
    assert send_floor_s(10e6, 1e9, None) == pytest.approx(0.01)
    assert send_floor_s(10e6, 1e9, 1e6) == pytest.approx(9.9, rel=1e-6)


def test_qemu_measures_at_most_the_slower_of_link_and_cap():
    assert most_measured_bps(1e9, 1e6) == pytest.approx(1e6)
    assert most_measured_bps(1e6, 1e9) == pytest.approx(1e6)
    assert most_measured_bps(1e6, None) == pytest.approx(1e6)
