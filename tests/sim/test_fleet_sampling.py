"""Placement's draw of hosts is the standard library's ``random.sample``: the same positions in
the same order, and the generator left in the same state, for any pool and seed."""

import random

import pytest

from migrationsim.fleet.sampling import sample_positions

POOL_SIZES = [
    1,
    5,
    64,
    65,
    276,
    277,
    278,
    300,
    1000,
    1023,
    1024,
    1025,
    4096,
    12_500,
    131_072,
    2**31 + 1,
]


@pytest.mark.parametrize("n", POOL_SIZES)
def test_the_same_positions_and_the_same_generator_state_as_random_sample(n):
    for seed in range(30):
        for k in sorted({1, 2, 6, 64, min(n, 200)}):
            if k > n:
                continue
            ours, theirs = random.Random(seed), random.Random(seed)
            assert sample_positions(ours, n, k) == theirs.sample(range(n), k), (n, k)
            assert ours.getstate() == theirs.getstate()


def test_a_long_run_of_draws_stays_in_step():
    """Thousands of draws in a row (repeats and redraws included) leave both generators equal."""
    ours, theirs = random.Random(7), random.Random(7)
    for i in range(3000):
        n = 300 + (i * 7919) % 20_000
        assert sample_positions(ours, n, 64) == theirs.sample(range(n), 64)
    assert ours.random() == theirs.random()
