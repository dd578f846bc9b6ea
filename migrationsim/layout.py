"""Where things lie in guest memory: the address-ordered regions pre-copy sweeps through.

Pages go out in address order, each pass resuming where the last one stopped (QEMU's
``ram_find_and_save_block``), so the order of the hot working sets, the cold data and the zero
pages changes the result. Regions are laid out in ``spec.layout`` order (default hot, cold, zero).
"""

from __future__ import annotations

from typing import NamedTuple

from .units import PAGE_SIZE_BYTES

# Bytes on the wire per page (QEMU's RAM stream: an 8 B header before each page; a zero page is
# the header plus one byte). ``raw`` is the textbook's: every page costs its 4096 B.
WIRE_COST_BYTES = {
    "qemu": {"normal": PAGE_SIZE_BYTES + 8, "zero": 8 + 1},
    "raw": {"normal": PAGE_SIZE_BYTES, "zero": PAGE_SIZE_BYTES},
}


class Region(NamedTuple):
    start_page: int
    pages: int
    kind: str  # "hot" (a working set), "cold" (written long ago, not now) or "zero"
    working_set: int  # index into spec.working_sets for hot regions, else -1
    wire_cost_bytes: int  # per page

    @property
    def end_page(self) -> int:
        return self.start_page + self.pages


def layout_regions(spec) -> list[Region]:
    total = spec.memory_pages
    zero_pages = int(round(total * spec.zero_fraction))
    hot_pages = [min(ws.pages, total - zero_pages) for ws in spec.working_sets]
    overflow = sum(hot_pages) - (total - zero_pages)
    if overflow > 0:  # rounding: trim the last working set so regions tile memory exactly
        hot_pages[-1] -= overflow
    cold_pages = total - zero_pages - sum(hot_pages)
    costs = WIRE_COST_BYTES[spec.wire_format]
    normal, zero = costs["normal"], costs["zero"]

    regions, start = [], 0
    for kind in spec.layout:
        if kind == "hot":
            pieces = [(n, k, normal) for k, n in enumerate(hot_pages)]
        elif kind == "cold":
            pieces = [(cold_pages, -1, normal)]
        else:
            pieces = [(zero_pages, -1, zero)]
        for pages, ws, cost in pieces:
            if pages > 0:
                regions.append(Region(start, pages, kind, ws, cost))
                start += pages
    return regions
