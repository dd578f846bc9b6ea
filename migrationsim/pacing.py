"""The migration thread's own time per page: when sending is paced by the CPU, not the link.

QEMU reads every page it sends and tests it for zero before it writes anything to the stream
(``ram_save_host_page`` -> ``save_zero_page`` -> ``buffer_is_zero`` in ``migration/ram.c``).
A zero page then costs 9 B on the wire (an 8 B header and one byte) but the whole test, so a
pass over zero pages runs at the thread's speed, not the link's. The model gives that work a
time per page (``page_time_s``, the ``--page-time`` parameter, measured on a host like its link
rate): a page takes the longer of its wire bytes at the link rate and that time. Pages whose
wire bytes take longer than ``page_time_s`` (a 4 KiB page at any link under 16 GB/s for
``page_time_s`` = 250 ns) are unchanged; what changes is mostly a pass over zero pages.

``PagePace`` is that clock for the pages about to be sent, in the order they will go
(``memory.pending_runs()``: runs of pages of one wire cost from the cursor). It converts wire
bytes from the cursor into seconds and back; the rate-limit budget stays in wire bytes, as in
QEMU (``qemu_file_rate_limit`` counts what was written to the stream).
"""

from __future__ import annotations

import math
from bisect import bisect_right


def binds(page_time_s: float, rate_bps: float, wire_cost_bytes: float) -> bool:
    """Whether a page of this wire cost is paced by the thread rather than by ``rate_bps``."""
    return page_time_s * rate_bps > wire_cost_bytes


class PagePace:
    """Seconds to send the next wire bytes from the cursor, at ``rate_bps`` and
    ``page_time_s`` a page. Past the last pending page the link's rate applies."""

    __slots__ = ("rate_bps", "_wire", "_seconds", "_slope")

    def __init__(self, runs, rate_bps: float, page_time_s: float):
        self.rate_bps = rate_bps
        wire_at, seconds_at, slope = [0.0], [0.0], []  # at each run's start; s per wire byte
        wire = seconds = 0.0
        for pages, cost in runs:
            if pages <= 0.0:
                continue
            page_s = cost / rate_bps
            if page_s < page_time_s:
                page_s = page_time_s
            wire += pages * cost
            seconds += pages * page_s
            slope.append(page_s / cost)
            wire_at.append(wire)
            seconds_at.append(seconds)
        slope.append(1.0 / rate_bps)  # after the last pending page
        self._wire, self._seconds, self._slope = wire_at, seconds_at, slope

    def seconds_at(self, wire: float) -> float:
        """Seconds from the cursor until ``wire`` bytes have gone out."""
        i = bisect_right(self._wire, wire) - 1
        if i < 0:
            return 0.0
        return self._seconds[i] + (wire - self._wire[i]) * self._slope[i]

    def wire_at(self, seconds: float) -> float:
        """Wire bytes out ``seconds`` after the cursor's first page began."""
        if seconds == math.inf:
            return math.inf
        i = bisect_right(self._seconds, seconds) - 1
        if i < 0:
            return 0.0
        return self._wire[i] + (seconds - self._seconds[i]) / self._slope[i]

    def seconds(self, from_wire: float, to_wire: float) -> float:
        return self.seconds_at(to_wire) - self.seconds_at(from_wire)

    def wire_within(self, from_wire: float, seconds: float) -> float:
        """Wire bytes sent in ``seconds`` from ``from_wire`` on."""
        return self.wire_at(self.seconds_at(from_wire) + seconds) - from_wire

    def run_end(self, wire: float) -> tuple[float, float]:
        """(where the run of pages containing ``wire`` ends, its wire rate in bytes/s): the
        pace is constant up to there."""
        i = bisect_right(self._wire, wire) - 1
        if i < 0:
            i = 0
        end = self._wire[i + 1] if i + 1 < len(self._wire) else math.inf
        return end, 1.0 / self._slope[i]

    @property
    def total_seconds(self) -> float:
        """Every pending page, from the cursor."""
        return self._seconds[-1]

    @property
    def total_wire(self) -> float:
        return self._wire[-1]


def pace_for(memory, rate_bps: float, page_time_s: float) -> PagePace | None:
    """The pace of ``memory``'s pending pages at ``rate_bps``, or None when the thread's time
    never binds for them (then wire bytes / rate is the time)."""
    if page_time_s <= 0.0:
        return None
    runs = memory.pending_runs()
    for pages, cost in runs:
        if pages > 0.0 and binds(page_time_s, rate_bps, cost):
            return PagePace(runs, rate_bps, page_time_s)
    return None
