"""Drawing the hosts placement checks: ``random.Random.sample``, the same draws, fewer steps.

Placement draws 64 hosts from a zone's pool for every VM it places (``placement.py``). The
standard library draws them one by one, each through two Python calls; at a million VMs that is
six million calls. ``sample_positions`` asks the same Mersenne Twister for the same 32-bit words
in one call and applies the library's rules to all of them at once (a word above the pool is
drawn again, a position already drawn is drawn again), so a run gives exactly the run the
library's ``sample`` gives: the same hosts, the same generator state after.
``tests/sim/test_fleet_sampling.py`` holds it to that on many pools and seeds.
"""

from __future__ import annotations

import math
import random
import sys
from array import array

assert array("I").itemsize == 4  # one Mersenne Twister word per item


def _small_pool_limit(k: int) -> int:
    """``random.sample`` draws from a copied list at or below this pool size (and from a set
    of positions above it)."""
    limit = 21
    if k > 5:
        limit += 4 ** math.ceil(math.log(k * 3, 4))
    return limit


def sample_positions(rng: random.Random, n: int, k: int) -> list[int]:
    """The positions ``rng.sample(range(n), k)`` would give, in the order it gives them
    (``0 < k <= n``)."""
    bits = n.bit_length()
    if n <= _small_pool_limit(k) or bits > 32:
        return rng.sample(range(n), k)
    shift = 32 - bits
    drawn: list[int] = []
    seen: set[int] = set()
    while len(drawn) < k:
        # the library needs at least one more 32-bit word for each position still missing
        need = k - len(drawn)
        words = array("I", rng.getrandbits(32 * need).to_bytes(4 * need, "little"))
        if sys.byteorder == "big":
            words.byteswap()
        for word in words:
            position = word >> shift
            if position < n and position not in seen:
                seen.add(position)
                drawn.append(position)
    return drawn
