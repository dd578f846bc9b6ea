"""The pages resolution's write draws: the sparse (gaps between hit pages) and dense (page by
page) ways of drawing 'hit at least once' give the same Bernoulli process."""

import math

import numpy as np
import pytest

from migrationsim import build_spec
from migrationsim.migration import new_memory


@pytest.mark.parametrize("p_hit", [0.001, 0.05, 0.19])
def test_sparse_draws_hit_each_page_with_the_right_probability(p_hit):
    memory, _ = new_memory(build_spec(memory="4GiB", dirty_rate=0, resolution="pages", seed=3))
    view = np.zeros(1 << 20, dtype=np.bool_)
    newly = memory._hit_sparse(view, p_hit)
    n = view.size
    sigma = math.sqrt(n * p_hit * (1 - p_hit))
    assert newly == int(np.count_nonzero(view))
    assert abs(newly - n * p_hit) < 5 * sigma
    halves = view.reshape(2, -1).sum(axis=1)  # spread evenly over the region
    assert abs(halves[0] - halves[1]) < 5 * math.sqrt(2 * n / 2 * p_hit)


def test_sparse_draws_only_count_pages_that_were_clean():
    memory, _ = new_memory(build_spec(memory="4GiB", dirty_rate=0, resolution="pages", seed=3))
    view = np.zeros(1 << 19, dtype=np.bool_)
    view[::2] = True
    newly = memory._hit_sparse(view, 0.1)
    assert newly == int(np.count_nonzero(view)) - (1 << 18)
