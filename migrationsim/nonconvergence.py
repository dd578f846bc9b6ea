"""A guest that can never converge under QEMU's check, proven from bounds (issue 15, section 3).

QEMU syncs the dirty bitmap once the pending estimate falls below the threshold, and converges
when the exact pending it then finds is below it (or nothing is pending). Three bounds hold for
every round after the first, whatever the rate-limit window, the cap, the thread's time per page
or a downtime ramp do (each of those only lengthens a round or lowers the threshold):

- **The threshold** is at most the downtime limit times the most QEMU can measure: the bytes
  written in a window over its length, so never more than the fastest link rate ``R`` (the
  bytes go out at most that fast) nor, under a cap, the cap (a window of at least 100 ms
  carries at most the cap's 100 ms of bytes). A ramp only rises to the limit. In pages: ``T``.
- **A round's length.** A round that starts from ``P`` pending pages sends at least ``P - T``
  before the estimate is below the threshold. A round leaves fewer than ``T`` pages unsent, so
  after the first round at most ``T`` pending pages lie outside the regions the guest writes:
  at least ``P - 2T`` of the pages sent are written pages, each at least ``c`` bytes on the
  wire (the cheapest written page). Sending ``S = (P - 2T) c`` bytes takes at least ``S / R``,
  and under a cap at least ``(S - B) / cap`` (every window but the one under way carries at
  most its budget ``B``, the cap's 100 ms): the round lasts at least ``t(P)``, the larger.
- **The next sync** finds pending at least every page written in that time, ``W(t)``
  (``FluidMemory.written_within``: each random set's pages times the chance a page was hit,
  each sequential writer's pages swept; the fluid model adds to these, never less).

So with ``G(P) = W(t(P))``, which grows with ``P``: if a sync leaves ``P_k >= F`` pending and
``G(F) >= F > T``, the next sync leaves at least ``G(P_k) >= G(F) >= F``, and so on for ever:
pending never falls below the threshold. ``pending_floor_pages`` looks for such an ``F`` at or
below ``P_k`` by iterating ``G`` down to its fixed point. It proves, it does not estimate: where
it finds no floor the run is simulated as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .ratelimit import QEMU_RATE_WINDOW_S
from .units import PAGE_SIZE_BYTES

_ITERATIONS = 200  # G's fixed point is approached geometrically; this far is plenty
_BELOW = 1e-6  # each step lands this much below G's value, so the fixed point is crossed
_MARGIN = 1e-9  # float noise in the model's own sums must not make a floor of a near miss


def send_floor_s(wire_bytes: float, link_bps: float, cap_bps: float | None) -> float:
    """The least time QEMU's thread takes to send ``wire_bytes`` (``S``): at the fastest link
    rate, and under a cap window by window (the budget left in the window under way at once,
    then at most the cap's rate; a window lasts 100 ms to a picosecond)."""
    seconds = wire_bytes / link_bps
    if cap_bps is not None:
        windows_s = (wire_bytes - cap_bps * QEMU_RATE_WINDOW_S) / cap_bps * (1.0 - 1e-9)
        if windows_s > seconds:
            seconds = windows_s
    return seconds


def most_measured_bps(link_bps: float, cap_bps: float | None) -> float:
    """The most bandwidth QEMU can measure over a window (its threshold's factor)."""
    most = link_bps if cap_bps is None or link_bps < cap_bps else cap_bps
    return most * (1.0 + 1e-9)


def pending_floor_pages(
    pending_pages: float,
    threshold_bytes: float,
    wire_per_page: float,
    send_s: Callable[[float], float],
    written_within: Callable[[float], float],
) -> float | None:
    """A floor ``F <= pending_pages`` that every later sync is proven to stay at or above
    (``G(F) >= F``), with ``F`` above the threshold; None where the bounds prove nothing.

    ``threshold_bytes`` is the most the threshold can be, ``wire_per_page`` the cheapest
    written page on the wire, ``send_s(S)`` the least time ``S`` wire bytes take to send,
    ``written_within(t)`` the pages a sync after ``t`` seconds of writes finds written at
    least."""
    threshold_pages = threshold_bytes / PAGE_SIZE_BYTES
    if not (0.0 < wire_per_page < math.inf):
        return None  # nothing is written
    floor = pending_pages
    for _ in range(_ITERATIONS):
        if floor <= threshold_pages * (1.0 + 1e-6) or floor <= 2.0 * threshold_pages:
            return None  # the guest's writes do not keep pending above the threshold
        round_s = send_s((floor - 2.0 * threshold_pages) * wire_per_page)
        written = written_within(round_s)
        if written >= floor * (1.0 + _MARGIN):
            return floor
        floor = written * (1.0 - _BELOW)
    return None
