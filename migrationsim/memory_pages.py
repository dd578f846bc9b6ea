"""Guest memory at ``pages`` resolution: a real dirty bitmap, one byte per page, with numpy.

The guest's writes are a Poisson process per working set, drawn from a seeded generator: a
few thousand writes are drawn themselves (page indices, repeats included); more are drawn as
whether each page was hit at least once (probability ``1 - exp(-r t / W)``), which is the same
distribution: when hits are rare, as the gaps between hit pages (geometric), otherwise page by
page, at a cost bounded by the region's size. Sending sweeps the bitmap from the cursor
in address order, a chunk at a time, so a pass costs a few vectorised scans of the bitmap.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidParameter
from .layout import Region

CHUNK_PAGES = 1 << 18  # pages scanned or drawn at a time: bounds scratch memory to a few MB
SPARSE_HIT = 0.2  # below this hit probability, draw the hit pages' positions, not every page

# The work budget, counted in page scans: a run at pages resolution costs the pages its
# vectorised scans visit, DRAW_COST_PAGES per page hit or drawn by a write, and CALL_COST_PAGES
# per call (the Python around them). About 1 s on this machine (2 s when it is busy);
# past it the run stops with an answer naming --resolution, never a run of minutes.
WORK_BUDGET_PAGES = 3_000_000_000  # the command line's: about 1 s
LONG_WORK_BUDGET_PAGES = 60 * WORK_BUDGET_PAGES  # a caller that streams (the web worker): ~1 min
CALL_COST_PAGES = 40_000
DRAW_COST_PAGES = 12  # a random draw costs about as much as scanning this many pages
SPARSE_DRAW_COST_PAGES = 40  # a hit page drawn as a geometric gap


class WorkBudgetExceeded(InvalidParameter):
    def __init__(self, total_pages: int, budget: int):
        seconds = budget / WORK_BUDGET_PAGES
        super().__init__(
            "resolution",
            f"the pages resolution would take too long for this guest: its work budget "
            f"({budget:,} page visits, about {seconds:.0f} s) ran out before the migration "
            f"ended ({total_pages:,} pages, swept again in every round). Choose the fluid "
            f"resolution, which answers it in milliseconds, or a smaller guest.",
        )


class PageMemory:
    def __init__(self, spec, regions: list[Region], work_budget: int = LONG_WORK_BUDGET_PAGES):
        self.total_pages = spec.memory_pages
        self.bitmap = np.ones(self.total_pages, dtype=np.bool_)  # True: dirty, not yet sent
        self.regions = regions
        # a written page's wire cost, and the regions whose pages cost less (zero pages)
        self._page_cost = max(r.wire_cost_bytes for r in regions)
        self._marker_regions = [r for r in regions if r.wire_cost_bytes < self._page_cost]
        self.cursor = 0
        self.pending = self.total_pages
        self.working_sets = spec.working_sets
        self.ws_regions = {r.working_set: r for r in regions if r.working_set >= 0}
        self.linear = spec.dirty_model == "linear"
        self.sweep_pos = list(spec.sweep_start_pages)
        self.linear_carry = [0.0] * len(spec.working_sets)
        self.rng = np.random.default_rng(spec.seed)
        self._wire_credit = 0.0
        self.work_pages = 0
        self.work_budget = work_budget

    def _spend(self, pages: int) -> None:
        self.work_pages += pages + CALL_COST_PAGES
        if self.work_pages > self.work_budget:
            raise WorkBudgetExceeded(self.total_pages, self.work_budget)

    def _chunks(self):
        """(start, end, wire cost per page) pieces in address order from the cursor: one lap."""
        regions, cursor = self.regions, self.cursor % self.total_pages
        i0 = next(i for i, r in enumerate(regions) if r.start_page <= cursor < r.end_page)
        here = regions[i0]
        lap = [(cursor, here.end_page, here.wire_cost_bytes)]
        lap += [
            (r.start_page, r.end_page, r.wire_cost_bytes) for r in regions[i0 + 1 :] + regions[:i0]
        ]
        lap.append((here.start_page, cursor, here.wire_cost_bytes))
        for lo, hi, cost in lap:
            for a in range(lo, hi, CHUNK_PAGES):
                yield a, min(hi, a + CHUNK_PAGES), cost

    def wire_bytes_for(self, pages: float) -> float:
        need = math.ceil(pages)
        wire = 0.0
        for a, b, cost in self._chunks():
            if need <= 0:
                break
            self._spend(b - a)
            n = int(np.count_nonzero(self.bitmap[a:b]))
            take = min(n, need)
            wire += take * cost
            need -= take
        return wire

    def send(self, wire_budget_bytes: float) -> tuple[float, float]:
        """Send pending pages in address order from the cursor, within a wire budget (plus what
        an earlier call left, less than a page). Returns (pages sent, wire bytes used)."""
        budget = wire_budget_bytes + self._wire_credit
        sent = 0
        used = 0.0
        cursor = self.cursor
        for a, b, cost in self._chunks():
            if self.pending - sent <= 0:
                break
            afford = int(budget // cost)
            if afford <= 0:
                break
            chunk = self.bitmap[a:b]
            self._spend(b - a)
            n = int(np.count_nonzero(chunk))
            if n <= afford:
                if n:
                    # the cursor ends just after the last page sent (QEMU's last_page), not
                    # at the chunk's end: the next pass starts there
                    cursor = b - int(np.argmax(chunk[::-1]))
                    chunk[:] = False
                    sent += n
                    budget -= n * cost
                    used += n * cost
                continue
            last = int(np.flatnonzero(chunk)[afford - 1])
            chunk[: last + 1] = False
            sent += afford
            budget -= afford * cost
            used += afford * cost
            cursor = a + last + 1
            break
        self.cursor = cursor % self.total_pages
        self.pending -= sent
        self._wire_credit = (
            min(budget, max(r.wire_cost_bytes for r in self.regions)) if self.pending > 0 else 0.0
        )
        return float(sent), used

    def send_all(self) -> tuple[float, float]:
        self._spend(self.total_pages)
        wire = 0.0
        for r in self.regions:
            wire += (
                int(np.count_nonzero(self.bitmap[r.start_page : r.end_page])) * r.wire_cost_bytes
            )
        pages = self.pending
        self.bitmap[:] = False
        self.pending = 0
        self._wire_credit = 0.0
        return float(pages), wire

    def dirty(self, interval_s: float, write_scale: float = 1.0) -> float:
        if interval_s <= 0.0 or write_scale <= 0.0:
            return 0.0
        newly = 0
        for k, ws in enumerate(self.working_sets):
            region = self.ws_regions.get(k)
            rate = ws.page_writes_per_s * write_scale
            if region is None or rate <= 0.0:
                continue
            view = self.bitmap[region.start_page : region.end_page]
            writes = rate * interval_s
            if ws.pattern == "sequential":
                self._spend(int(min(region.pages, writes)))
                newly += self._sweep(k, view, writes)
                continue
            hits = min(region.pages, writes)
            if self.linear or writes < min(region.pages / 64, 4096):  # each write drawn
                self._spend(int(DRAW_COST_PAGES * hits))
            elif -math.expm1(-writes / region.pages) < SPARSE_HIT:  # each hit page drawn
                self._spend(int(region.pages + SPARSE_DRAW_COST_PAGES * hits))
            else:  # a draw for every page
                self._spend(int(DRAW_COST_PAGES * region.pages))
            if self.linear:
                # whole writes now, the fraction carried to the next interval; writes beyond
                # the region's pages rewrite pages this interval already wrote (not carried)
                self.linear_carry[k] += writes
                whole = int(self.linear_carry[k])
                self.linear_carry[k] -= whole
                count = min(region.pages, whole)
                idx = self.rng.choice(region.pages, size=count, replace=False)
                newly += self._set(view, idx)
            elif writes < min(region.pages / 64, 4096):  # few writes: draw them, repeats and all
                idx = self.rng.integers(0, region.pages, size=self.rng.poisson(writes))
                newly += self._set(view, idx)
            elif -math.expm1(-writes / region.pages) < SPARSE_HIT:
                newly += self._hit_sparse(view, -math.expm1(-writes / region.pages))
            else:  # each page hit at least once with probability 1 - exp(-writes / pages)
                p_hit = -math.expm1(-writes / region.pages)
                for a in range(0, region.pages, CHUNK_PAGES):  # chunks bound the scratch memory
                    part = view[a : a + CHUNK_PAGES]
                    hit = self.rng.random(part.size, dtype=np.float32) < p_hit
                    newly += int(np.count_nonzero(hit & ~part))
                    part |= hit
        self.pending += newly
        return float(newly)

    def _hit_sparse(self, view: np.ndarray, p_hit: float) -> int:
        """Each page hit at least once with probability ``p_hit``, drawn as the gaps between
        hit pages (geometric, the same Bernoulli process page by page): a few draws per hit
        page instead of one per page when hits are rare."""
        rng, newly = self.rng, 0
        for a in range(0, view.size, CHUNK_PAGES):
            part = view[a : a + CHUNK_PAGES]
            n = part.size
            pos, pieces = -1, []
            while True:
                expected = (n - 1 - pos) * p_hit
                gaps = rng.geometric(p_hit, size=int(expected + 4 * math.sqrt(expected) + 16))
                hits = pos + np.cumsum(gaps)
                if hits[-1] >= n:
                    pieces.append(hits[hits < n])
                    break
                pieces.append(hits)
                pos = int(hits[-1])
            idx = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            newly += int(np.count_nonzero(~part[idx]))  # distinct and sorted already
            part[idx] = True
        return newly

    @staticmethod
    def _set(view: np.ndarray, idx: np.ndarray) -> int:
        if idx.size == 0:
            return 0
        if idx.size * 16 < view.size:  # few: the distinct fresh ones by sorting them
            fresh = np.unique(idx[~view[idx]])
            view[fresh] = True
            return int(fresh.size)
        before = int(np.count_nonzero(view))  # many: count the bitmap instead of sorting
        view[idx] = True
        return int(np.count_nonzero(view)) - before

    def _sweep(self, k: int, view: np.ndarray, advance_pages: float) -> int:
        pages = view.size
        if advance_pages >= pages:  # a whole lap (or more): every page of the region
            self.sweep_pos[k] = (self.sweep_pos[k] + advance_pages) % pages
            newly = pages - int(np.count_nonzero(view))
            view[:] = True
            return newly
        a = int(self.sweep_pos[k])
        self.sweep_pos[k] = (self.sweep_pos[k] + advance_pages) % pages
        b = int(self.sweep_pos[k])
        parts = [view[a:b]] if a <= b else [view[a:], view[:b]]
        newly = 0
        for part in parts:
            newly += part.size - int(np.count_nonzero(part))
            part[:] = True
        return newly

    def saturated(self) -> bool:
        """Never: random writes make every round of the pages resolution its own (the fluid
        resolution's exact steady state has no counterpart here)."""
        return False

    def pending_wire_bytes(self) -> float:
        """What the pending pages cost on the wire (a zero page is a marker): what a
        stop-and-copy now would send, to the byte. Every pending page is counted at a written
        page's cost, less what the zero pages still pending save; those are counted on the
        bitmap until none is left (no guest writes them, so a zero region once sent stays
        sent and is not counted again)."""
        page_cost = self._page_cost
        wire = self.pending * page_cost
        left = []
        for r in self._marker_regions:
            n = int(np.count_nonzero(self.bitmap[r.start_page : r.end_page]))
            if n:
                wire -= n * (page_cost - r.wire_cost_bytes)
                left.append(r)
        self._marker_regions = left
        return float(wire)

    def pending_runs(self) -> list[tuple[float, float]]:
        """(pending pages, wire cost a page) of each region from the cursor, in the order a
        pass sends them (``pacing.PagePace``): the cursor's region in two parts."""
        self._spend(self.total_pages)
        cursor, runs = self.cursor % self.total_pages, []
        regions = self.regions
        i0 = next(i for i, r in enumerate(regions) if r.start_page <= cursor < r.end_page)
        here = regions[i0]
        pieces = [(cursor, here.end_page, here.wire_cost_bytes)]
        pieces += [
            (r.start_page, r.end_page, r.wire_cost_bytes) for r in regions[i0 + 1 :] + regions[:i0]
        ]
        pieces.append((here.start_page, cursor, here.wire_cost_bytes))
        for a, b, cost in pieces:
            n = int(np.count_nonzero(self.bitmap[a:b])) if b > a else 0
            if n:
                runs.append((float(n), float(cost)))
        return runs

    def pending_by_working_set(self) -> list[float]:
        self._spend(self.total_pages)
        out = [0.0] * len(self.working_sets)
        for k, r in self.ws_regions.items():
            out[k] = float(np.count_nonzero(self.bitmap[r.start_page : r.end_page]))
        return out

    def memory_map(self, cells: int) -> list[float]:
        edges = np.linspace(0, self.total_pages, cells + 1).astype(np.int64)
        counts = np.add.reduceat(self.bitmap, edges[:-1], dtype=np.int64).astype(np.float64)
        sizes = np.maximum(np.diff(edges), 1)
        return (counts / sizes).clip(0, 1).tolist()
