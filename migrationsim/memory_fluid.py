"""Guest memory at ``fluid`` resolution: expected values, fast enough for whole fleets.

Memory is a list of address-ordered *segments*; each knows its pages, its expected number of
pending (dirty, not yet sent) pages, spread evenly inside it, its working set and its wire cost.
Sending sweeps segments from the cursor in address order; dirtying raises each segment's pending
share by the probability that a page of its working set was written since the last bitmap sync.
Segments split where a pass stops or a sequential writer's range ends, and merge back when their
densities agree, so a migration keeps a handful of them.
"""

from __future__ import annotations

import math

from .layout import Region

_EPS = 1e-9

# segment fields, kept in plain lists for speed
START, PAGES, PENDING, WS, COST = range(5)


class FluidMemory:
    def __init__(self, spec, regions: list[Region]):
        self.total_pages = float(spec.memory_pages)
        # Segments in address order starting at the cursor (the list is rotated as the cursor
        # moves, so the next page to send is always in segs[0]); START stays the address.
        self.segs = [[float(r.start_page), float(r.pages), float(r.pages), r.working_set,
                      float(r.wire_cost_bytes)] for r in regions]
        self.pending = float(spec.memory_pages)
        self.working_sets = spec.working_sets
        self.ws_regions = {r.working_set: r for r in regions if r.working_set >= 0}
        self.linear = spec.dirty_model == "linear"
        self.sweep_pos = [0.0] * len(spec.working_sets)  # sequential writers' pointers
        self._writers = [(k, ws.page_writes_per_s, self.ws_regions[k], ws.pattern == "sequential")
                         for k, ws in enumerate(spec.working_sets) if k in self.ws_regions]
        self._hit = [0.0] * len(spec.working_sets)

    @property
    def cursor(self) -> float:
        return self.segs[0][START]

    # --- sending ---------------------------------------------------------------------------

    def _boundary(self, pos: float) -> int:
        """Index of the segment that starts at address ``pos``, splitting one if needed."""
        segs = self.segs
        if pos >= self.total_pages - _EPS:
            pos = 0.0
        for i, s in enumerate(segs):
            if s[START] - _EPS <= pos < s[START] + s[PAGES] - _EPS:
                if pos <= s[START] + _EPS:
                    return i
                frac = (pos - s[START]) / s[PAGES]
                tail = [pos, s[START] + s[PAGES] - pos, s[PENDING] * (1.0 - frac), s[WS], s[COST]]
                s[PAGES] = pos - s[START]
                s[PENDING] *= frac
                segs.insert(i + 1, tail)
                return i + 1
        return 0

    def wire_bytes_for(self, pages: float) -> float:
        """Wire bytes needed to send the next ``pages`` pending pages from the cursor."""
        wire, need = 0.0, pages
        for s in self.segs:
            p = s[PENDING]
            if p >= need:
                return wire + need * s[COST]
            wire += p * s[COST]
            need -= p
        return wire

    def send(self, wire_budget_bytes: float) -> tuple[float, float]:
        """Send pending pages in address order from the cursor, within a wire budget.
        Returns (pages sent, wire bytes used): less than the budget once nothing is pending."""
        segs = self.segs
        budget, sent = wire_budget_bytes, 0.0
        after = 0  # the cursor ends just after the last page sent
        i, n = 0, len(segs)
        while i < n:
            s = segs[i]
            wire = s[PENDING] * s[COST]
            if wire <= budget:
                if wire > 0.0:
                    budget -= wire
                    sent += s[PENDING]
                    s[PENDING] = 0.0
                    after = i + 1
                i += 1
                continue
            if budget > 0.0:  # part of this segment: split it where the budget runs out
                frac = budget / wire
                cut = s[START] + s[PAGES] * frac
                head = [s[START], cut - s[START], 0.0, s[WS], s[COST]]
                sent += s[PENDING] * frac
                budget = 0.0
                s[PAGES] -= head[PAGES]
                s[START] = cut
                s[PENDING] *= 1.0 - frac
                segs.insert(i, head)
                after = i + 1
            break
        after %= len(segs)
        if after:
            self.segs = segs[after:] + segs[:after]
        self.pending -= sent
        if self.pending <= _EPS:
            self.pending = 0.0
        return sent, wire_budget_bytes - budget

    def send_all(self) -> tuple[float, float]:
        """The stop-and-copy: every pending page. Returns (pages, wire bytes)."""
        wire = sum(s[PENDING] * s[COST] for s in self.segs)
        pages = self.pending
        for s in self.segs:
            s[PENDING] = 0.0
        self.pending = 0.0
        self._merge()
        return pages, wire

    # --- dirtying --------------------------------------------------------------------------

    def dirty(self, interval_s: float, write_scale: float = 1.0) -> float:
        """The bitmap sync after ``interval_s`` of guest writes; returns pages newly pending."""
        if interval_s <= 0.0 or write_scale <= 0.0:
            return 0.0
        newly = 0.0
        hit = self._hit
        any_random = False
        for k, page_writes_per_s, region, sequential in self._writers:
            writes = page_writes_per_s * write_scale * interval_s
            if writes <= 0.0:
                hit[k] = 0.0
            elif sequential:
                newly += self._sweep(k, region, writes)
                hit[k] = 0.0
            else:
                hit[k] = min(1.0, writes / region.pages) if self.linear else \
                    -math.expm1(-writes / region.pages)
                any_random = True
        if any_random:
            for s in self.segs:
                k = s[WS]
                if k >= 0:
                    inc = (s[PAGES] - s[PENDING]) * hit[k]
                    if inc > 0.0:
                        s[PENDING] += inc
                        newly += inc
        if newly > 0.0:
            self.pending += newly
            self._merge()
        return newly

    def _sweep(self, k: int, region: Region, advance_pages: float) -> float:
        """A sequential writer moves ``advance_pages`` through its region; those pages go dirty."""
        if advance_pages >= region.pages:
            ranges = [(float(region.start_page), float(region.end_page))]
        else:
            a = region.start_page + self.sweep_pos[k]
            b = a + advance_pages
            if b <= region.end_page:
                ranges = [(a, b)]
            else:
                ranges = [(a, float(region.end_page)),
                          (float(region.start_page), region.start_page + b - region.end_page)]
            self.sweep_pos[k] = (self.sweep_pos[k] + advance_pages) % region.pages
        newly = 0.0
        for a, b in ranges:
            self._boundary(a)
            self._boundary(b)
            for s in self.segs:
                if s[START] >= a - _EPS and s[START] + s[PAGES] <= b + _EPS:
                    newly += max(0.0, s[PAGES] - s[PENDING])
                    s[PENDING] = s[PAGES]
        return newly

    def _merge(self) -> None:
        """Join address neighbours of the same working set, wire cost and pending density."""
        segs = self.segs
        last = segs[0]
        merged = [last]
        for s in segs[1:]:
            if s[PAGES] <= _EPS:
                continue
            if s[WS] == last[WS] and s[COST] == last[COST] and \
                    abs(last[START] + last[PAGES] - s[START]) <= _EPS and \
                    abs(s[PENDING] * last[PAGES] - last[PENDING] * s[PAGES]) <= 1e-12 * last[PAGES] * s[PAGES]:
                last[PAGES] += s[PAGES]
                last[PENDING] += s[PENDING]
            else:
                merged.append(s)
                last = s
        self.segs = merged

    # --- views -----------------------------------------------------------------------------

    def pending_by_working_set(self) -> list[float]:
        out = [0.0] * len(self.working_sets)
        for s in self.segs:
            if s[WS] >= 0:
                out[s[WS]] += s[PENDING]
        return out

    def memory_map(self, cells: int) -> list[float]:
        """Share of pending pages in each of ``cells`` equal address ranges."""
        size = self.total_pages / cells
        out = [0.0] * cells
        for s in self.segs:
            if s[PENDING] <= 0.0:
                continue
            density = s[PENDING] / s[PAGES]
            a, b = s[START], s[START] + s[PAGES]
            for c in range(int(a // size), min(cells - 1, int((b - _EPS) // size)) + 1):
                out[c] += density * (min(b, (c + 1) * size) - max(a, c * size))
        return [min(1.0, v / size) for v in out]
