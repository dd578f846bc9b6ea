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
# Merging costs a pass over the segments; a handful of them cost less to keep than to merge.
MERGE_ABOVE_SEGMENTS = 8


def _cut(segs: list[list], i: int, pos: float) -> None:
    """Split segment ``i`` at address ``pos`` (inside it): its pending pages shared by size."""
    s = segs[i]  # [START, PAGES, PENDING, WS, COST]
    start = s[0]
    end = start + s[1]
    frac = (pos - start) / s[1]
    tail = [pos, end - pos, s[2] * (1.0 - frac), s[3], s[4]]
    s[1] = pos - start
    s[2] *= frac
    segs.insert(i + 1, tail)


class _Layout:
    """What a fluid memory reads from its spec and regions, never changes, and costs time to
    work out: worked out once per spec (``_layout``)."""

    __slots__ = ("segments", "ws_regions", "writers", "dirty_plan", "one_sweeper", "one_writer")

    def __init__(self, spec, regions):
        # the segments before round 0: every page pending
        self.segments = tuple(
            (
                float(r.start_page),
                float(r.pages),
                float(r.pages),
                r.working_set,
                float(r.wire_cost_bytes),
            )
            for r in regions
        )
        self.ws_regions = {r.working_set: r for r in regions if r.working_set >= 0}
        # (working set, page writes/s, region, sequential) of every set that writes
        self.writers = tuple(
            (k, ws.page_writes_per_s, self.ws_regions[k], ws.pattern == "sequential")
            for k, ws in enumerate(spec.working_sets)
            if k in self.ws_regions and ws.page_writes_per_s > 0
        )
        # the same writers for ``dirty``, their regions' figures read once: (working set,
        # page writes/s, sequential, pages, first page, end page), as floats
        self.dirty_plan = tuple(
            (k, rate, sequential, float(r.pages), float(r.start_page), float(r.end_page))
            for k, rate, r, sequential in self.writers
        )
        self.one_sweeper = sum(1 for w in self.writers if w[3]) == 1  # see ``dirty``
        writers = self.writers
        self.one_writer = writers[0] if (len(writers) == 1 and not writers[0][3]) else None


def _layout(spec, regions) -> _Layout:
    """The spec's layout, kept beside its cached properties (``MigrationSpec.regions``) when the
    regions are the spec's own; other regions are worked out anew."""
    if regions is not spec.regions:
        return _Layout(spec, regions)
    layout = spec.__dict__.get("_fluid_layout")
    if layout is None:
        layout = spec.__dict__["_fluid_layout"] = _Layout(spec, regions)
    return layout


class FluidMemory:
    def __init__(self, spec, regions: list[Region]):
        layout = _layout(spec, regions)
        self.total_pages = float(spec.memory_pages)
        # Segments in address order starting at the cursor (the list is rotated as the cursor
        # moves, so the next page to send is always in segs[0]); START stays the address.
        self._segs = [list(s) for s in layout.segments]
        self.pending = float(spec.memory_pages)
        self.working_sets = spec.working_sets
        self.ws_regions = layout.ws_regions
        self.linear = spec.dirty_model == "linear"
        self.sweep_pos = list(spec.sweep_start_pages)  # sequential writers' pointers
        self._writers = layout.writers
        self._dirty_plan = layout.dirty_plan
        self._one_sweeper = layout.one_sweeper
        self._hit = [0.0] * len(spec.working_sets)
        # whether the last sync found every page of every working set written (a sequential
        # writer lapped its region, a random one's hit probability rounded to 1)
        self.last_sync_saturating = False
        # One random writer holding every pending page (see ``_collapse``): its region's pages
        # and wire cost, and the sends and syncs not yet applied to the segments.
        self._one_writer = layout.one_writer
        self._collapsed = False
        # the writer's region, page writes/s and wire cost, once collapsed
        self._region_pages = self._writes_per_s = self._cost = 0.0
        self._deferred: list[tuple] = []

    # --- one random writer: the totals no longer depend on where pages are ---------------
    # When every pending page belongs to the one working set being written at random, and
    # its pages all cost the same on the wire, a send of B bytes takes B / cost pending pages
    # wherever the cursor is, and a sync dirties (region - pending) x hit pages wherever they
    # are. The totals then follow from two numbers; the segments (which pages, for the memory
    # map) are brought up to date only when someone looks at them, by replaying the same
    # sends and syncs in order, so they end exactly where sending them one by one would have.

    def _collapse(self) -> None:
        k, _, region, _ = self._one_writer
        cost = None
        for s in self._segs:
            if s[PENDING] > 0.0:
                if s[WS] != k or (cost is not None and s[COST] != cost):
                    return
                cost = s[COST]
        if cost is not None:
            self._collapsed = True
            self._region_pages = float(region.pages)
            self._writes_per_s = self._one_writer[1]
            self._cost = cost

    @property
    def segs(self) -> list[list]:
        """The segments, with every deferred send and sync applied."""
        if self._deferred:
            deferred, self._deferred = self._deferred, []
            for op in deferred:  # ("send", wire budget), ("sync", hit), both, or ("all",)
                kind = op[0]
                if kind == "send" or kind == "send+sync":
                    self._send_segments(op[1])
                if kind == "sync" or kind == "send+sync":
                    self._hit[self._one_writer[0]] = op[-1]
                    if (
                        self._dirty_random_segments() > 0.0
                        and len(self._segs) > MERGE_ABOVE_SEGMENTS
                    ):
                        self._merge()
                elif kind == "all":
                    self._clear_segments()
        return self._segs

    @property
    def cursor(self) -> float:
        return self.segs[0][START]

    # --- sending ---------------------------------------------------------------------------

    def _boundary(self, pos: float) -> int:
        """Index of the segment that starts at address ``pos``, splitting one if needed
        (the segments must be up to date: see ``segs``)."""
        segs = self._segs
        if pos >= self.total_pages - _EPS:
            pos = 0.0
        for i, s in enumerate(segs):  # s: [START, PAGES, PENDING, WS, COST]
            start = s[0]
            if start - _EPS <= pos < start + s[1] - _EPS:
                if pos <= start + _EPS:
                    return i
                _cut(segs, i, pos)
                return i + 1
        return 0

    def wire_bytes_for(self, pages: float) -> float:
        """Wire bytes needed to send the next ``pages`` pending pages from the cursor."""
        if self._collapsed:
            return (pages if pages < self.pending else self.pending) * self._cost
        wire, need = 0.0, pages
        for s in self._segs:
            p = s[PENDING]
            if p >= need:
                return wire + need * s[COST]
            wire += p * s[COST]
            need -= p
        return wire

    def wire_bytes_for_both(self, pages: float, more_pages: float) -> tuple[float, float]:
        """``(wire_bytes_for(pages), wire_bytes_for(more_pages))`` in one walk over the
        segments (the same sums: both add the same terms in the same order until each ends)."""
        if self._collapsed or pages > more_pages:
            return self.wire_bytes_for(pages), self.wire_bytes_for(more_pages)
        wire, need, more = 0.0, pages, more_pages
        segs = self._segs
        n = len(segs)
        i = 0
        while i < n:  # both counted, until ``pages`` are found (they are no more than the other)
            s = segs[i]  # [START, PAGES, PENDING, WS, COST]
            p = s[2]
            if p >= need:
                first = wire + need * s[4]
                break
            wire += p * s[4]
            need -= p
            more -= p
            i += 1
        else:
            return wire, wire
        while True:  # then ``more_pages`` alone, from the same segment
            if p >= more:
                return first, wire + more * s[4]
            wire += p * s[4]
            more -= p
            i += 1
            if i == n:
                return first, wire
            s = segs[i]
            p = s[2]

    def send(self, wire_budget_bytes: float) -> tuple[float, float]:
        """Send pending pages in address order from the cursor, within a wire budget.
        Returns (pages sent, wire bytes used): less than the budget once nothing is pending."""
        if self._collapsed:
            pages = wire_budget_bytes / self._cost
            if pages >= self.pending:
                pages = self.pending
                wire = pages * self._cost
            else:
                wire = wire_budget_bytes
            self._deferred.append(("send", wire_budget_bytes))
        else:
            pages, wire = self._send_segments(wire_budget_bytes)
        self.pending -= pages
        if self.pending <= _EPS:
            self.pending = 0.0
        return pages, wire

    def collapsed_send_and_sync(
        self, wire_budget_bytes: float, interval_s: float, write_scale: float
    ) -> tuple[float, float, float, float]:
        """For a collapsed writer (see ``_collapse``): ``send`` then ``dirty``, the same
        operations in one call (``Precopy.run_fresh_window_rounds``), deferred as one.
        Returns (pages sent, wire bytes, pending pages after the send, pages newly pending at
        the sync)."""
        cost, pending = self._cost, self.pending
        pages = wire_budget_bytes / cost
        if pages >= pending:
            pages = pending
            wire = pages * cost
        else:
            wire = wire_budget_bytes
        pending -= pages
        if pending <= _EPS:
            pending = 0.0
        self.pending = sent = pending
        if interval_s <= 0.0 or write_scale <= 0.0:
            self._deferred.append(("send", wire_budget_bytes))
            return pages, wire, sent, 0.0
        writes = self._writes_per_s * write_scale * interval_s
        region = self._region_pages
        hit = min(1.0, writes / region) if self.linear else -math.expm1(-writes / region)
        newly = (region - pending) * hit
        if newly < 0.0:
            newly = 0.0
        self._deferred.append(("send+sync", wire_budget_bytes, hit))
        self.last_sync_saturating = hit >= 1.0
        self.pending = pending + newly
        return pages, wire, sent, newly

    def _send_segments(self, wire_budget_bytes: float) -> tuple[float, float]:
        segs = self._segs
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
            self._segs = segs[after:] + segs[:after]
        return sent, wire_budget_bytes - budget

    def send_all(self) -> tuple[float, float]:
        """The stop-and-copy: every pending page. Returns (pages, wire bytes)."""
        pages = self.pending
        if self._collapsed:
            wire = pages * self._cost
            self._deferred.append(("all",))
        else:
            wire = sum(s[PENDING] * s[COST] for s in self._segs)
            self._clear_segments()
        self.pending = 0.0
        return pages, wire

    def _clear_segments(self) -> None:
        for s in self._segs:
            s[PENDING] = 0.0
        self._merge()

    # --- dirtying --------------------------------------------------------------------------

    def dirty(self, interval_s: float, write_scale: float = 1.0) -> float:
        """The bitmap sync after ``interval_s`` of guest writes; returns pages newly pending."""
        if interval_s <= 0.0 or write_scale <= 0.0:
            return 0.0
        if self._collapsed:
            _, page_writes_per_s, _, _ = self._one_writer
            writes = page_writes_per_s * write_scale * interval_s
            region = self._region_pages
            hit = min(1.0, writes / region) if self.linear else -math.expm1(-writes / region)
            newly = (region - self.pending) * hit
            if newly < 0.0:
                newly = 0.0
            self._deferred.append(("sync", hit))
            self.last_sync_saturating = hit >= 1.0
            self.pending += newly
            return newly
        newly = 0.0
        hit = self._hit
        any_random = False
        saturating = True
        linear = self.linear
        swept = None  # the one sequential writer's single range, marked with the random sets
        for k, page_writes_per_s, sequential, pages, start, end in self._dirty_plan:
            writes = page_writes_per_s * write_scale * interval_s
            if sequential:
                ranges = self._sweep(k, pages, start, end, writes)
                if len(ranges) == 1 and self._one_sweeper:
                    swept = ranges[0]
                else:
                    for a, b in ranges:
                        newly = self._dirty_range(a, b, newly)
                hit[k] = 0.0
                if not writes >= pages:
                    saturating = False
            else:
                if linear:
                    h = writes / pages
                    if not h < 1.0:  # min(1.0, h)
                        h = 1.0
                else:
                    h = -math.expm1(-writes / pages)
                hit[k] = h
                if not h >= 1.0:
                    saturating = False
                any_random = True
        self.last_sync_saturating = saturating
        if swept is not None:
            newly = self._dirty_swept_and_random(swept[0], swept[1], any_random)
        elif any_random:
            newly += self._dirty_random_segments()
        if newly > 0.0:
            self.pending += newly
            if len(self._segs) > MERGE_ABOVE_SEGMENTS:
                self._merge()
        if self._one_writer is not None:
            self._collapse()
        return newly

    def _dirty_random_segments(self) -> float:
        """Each segment of a randomly written set: its clean pages go pending with the hit
        probability in ``_hit``. Returns the pages that went pending."""
        hit, newly = self._hit, 0.0
        for s in self._segs:  # s: [START, PAGES, PENDING, WS, COST]
            k = s[3]
            if k >= 0:
                inc = (s[1] - s[2]) * hit[k]
                if inc > 0.0:
                    s[2] += inc
                    newly += inc
        return newly

    def _sweep(
        self, k: int, pages: float, first: float, end: float, advance_pages: float
    ) -> tuple[tuple[float, float], ...]:
        """A sequential writer moves ``advance_pages`` through its region (``pages`` pages from
        ``first`` to ``end``): the address ranges it wrote, in order (two when it wrapped)."""
        pos = self.sweep_pos[k]
        self.sweep_pos[k] = (pos + advance_pages) % pages
        if advance_pages >= pages:  # a whole lap (or more): every page of the region
            return ((first, end),)
        a = first + pos
        b = a + advance_pages
        if b <= end:
            return ((a, b),)
        return ((a, end), (first, first + b - end))

    def _dirty_range(self, a: float, b: float, newly: float) -> float:
        """Pages ``a`` to ``b`` all pending; returns ``newly`` plus those that were clean."""
        self._boundary(a)
        self._boundary(b)
        a -= _EPS
        b += _EPS
        for s in self._segs:  # s: [START, PAGES, PENDING, WS, COST]
            start = s[0]
            if start >= a:
                pages = s[1]
                if start + pages <= b:
                    clean = pages - s[2]
                    if clean > 0.0:
                        newly += clean
                    s[2] = pages
        return newly

    def _dirty_swept_and_random(self, a: float, b: float, any_random: bool) -> float:
        """``_dirty_range(a, b, 0.0)`` then, if ``any_random``, ``_dirty_random_segments``, in
        one pass after the cut at ``a``; the pass makes the cut at ``b`` where it meets it (the
        first segment in order that holds it, as ``_boundary`` finds it; a cut only changes the
        segment it cuts). A swept segment is wholly pending, so the random pass adds nothing
        to it; the two sums are kept apart and added as they were."""
        self._boundary(a)
        segs = self._segs
        cut_b = 0.0 if b >= self.total_pages - _EPS else b
        find_b = True
        a -= _EPS
        b += _EPS
        hit, swept, randomly = self._hit, 0.0, 0.0
        i = 0
        while i < len(segs):
            s = segs[i]  # [START, PAGES, PENDING, WS, COST]
            start = s[0]
            if find_b and start - _EPS <= cut_b < start + s[1] - _EPS:
                find_b = False
                if not cut_b <= start + _EPS:
                    _cut(segs, i, cut_b)
            i += 1
            if start >= a and start + s[1] <= b:
                pages = s[1]
                clean = pages - s[2]
                if clean > 0.0:
                    swept += clean
                s[2] = pages
            elif any_random:
                k = s[3]
                if k >= 0:
                    inc = (s[1] - s[2]) * hit[k]
                    if inc > 0.0:
                        s[2] += inc
                        randomly += inc
        return swept + randomly if any_random else swept

    def _merge(self) -> None:
        """Join address neighbours of the same working set, wire cost and pending density."""
        segs = self._segs
        last = segs[0]
        merged = [last]
        for i in range(1, len(segs)):
            s = segs[i]  # [START, PAGES, PENDING, WS, COST]
            pages = s[1]
            if pages <= _EPS:
                continue
            if (
                s[3] == last[3]
                and s[4] == last[4]
                and abs(last[0] + last[1] - s[0]) <= _EPS
                and abs(s[2] * last[1] - last[2] * pages) <= 1e-12 * last[1] * pages
            ):
                last[1] += pages
                last[2] += s[2]
            else:
                merged.append(s)
                last = s
        self._segs = merged

    # --- steady state ----------------------------------------------------------------------

    def saturated(self) -> bool:
        """Whether the last sync left memory in a state that no longer depends on history:
        every working set wholly pending (its writers cover it between syncs), everything
        else sent, and one wire cost for all that is pending. From such a state, rounds of
        equal length repeat exactly, wherever the cursor is. The same holds for one random
        writer once collapsed (see ``_collapse``): its totals follow from the pending count
        alone, so a round that leaves the count where it found it repeats exactly."""
        if self._collapsed:
            return True
        if not self.last_sync_saturating:
            return False
        cost = None
        for s in self.segs:
            if s[WS] >= 0:
                if abs(s[PENDING] - s[PAGES]) > 1e-12 * s[PAGES]:
                    return False
                if cost is None:
                    cost = s[COST]
                elif s[COST] != cost:
                    return False
            elif s[PENDING] != 0.0:
                return False
        return True

    def written_within(self, interval_s: float) -> float:
        """The fewest pages a sync ``interval_s`` after the last finds pending, from the
        guest's writes alone (unthrottled): every page a sequential writer swept, and each
        random set's pages times the chance a page of it was written (``dirty`` adds these to
        what was pending already, never less). ``nonconvergence.py`` bounds with it."""
        if interval_s <= 0.0:
            return 0.0
        pages_written = 0.0
        for _, page_writes_per_s, sequential, pages, _, _ in self._dirty_plan:
            writes = page_writes_per_s * interval_s
            if sequential or self.linear:
                pages_written += writes if writes < pages else pages
            else:
                pages_written += pages * -math.expm1(-writes / pages)
        return pages_written

    def rewritten_within(
        self, interval_s: float, write_scale: float = 1.0
    ) -> tuple[float, float, float]:
        """(pages, wire bytes) of the working sets that are certainly rewritten whole within any
        ``interval_s`` (a sequential writer that laps its region, a random one whose hit
        probability is 1 to float precision): every sync at least that far from the last finds
        them all pending again; and the most pages the other writers can make newly pending
        in ``interval_s`` (their writes, at most their regions)."""
        pages = wire = others = 0.0
        for _, page_writes_per_s, region, sequential in self._writers:
            writes = page_writes_per_s * write_scale * interval_s
            if sequential or self.linear:
                whole = writes >= region.pages
            else:
                whole = -math.expm1(-writes / region.pages) >= 1.0
            if whole:
                pages += region.pages
                wire += region.pages * region.wire_cost_bytes
            else:
                others += min(writes, float(region.pages))
        return pages, wire, others

    def repeat_saturated_rounds(
        self, rounds: int, pages_per_round: float, interval_s: float, write_scale: float = 1.0
    ) -> None:
        """Move the cursor and the sequential writers as ``rounds`` more identical rounds from a
        saturated state would (each sends ``pages_per_round`` pending pages, then every page
        sent is pending again): the pending pages themselves do not change.

        A collapsed random writer at its fixed point keeps its pending count; which pages are
        pending is not replayed round by round (that is what would cost time): the segments
        stay as the repetition found them, so only the memory map's cursor lags."""
        if self._collapsed:
            _ = self.segs  # apply what was deferred so far; the count is already right
            return
        lap = self.pending
        advance = math.fmod(rounds * pages_per_round, lap) if lap > 0 else 0.0
        if advance > _EPS:
            segs, passed = self.segs, 0.0
            for i, s in enumerate(segs):
                if passed + s[PENDING] >= advance - _EPS:
                    # the cursor stops just after the last page sent, inside this segment
                    cut = s[START] + (advance - passed) / s[PENDING] * s[PAGES]
                    at = (
                        self._boundary(cut)
                        if cut < s[START] + s[PAGES] - _EPS
                        else (i + 1) % len(segs)
                    )
                    self._segs = self._segs[at:] + self._segs[:at]
                    break
                passed += s[PENDING]
        for k, page_writes_per_s, region, sequential in self._writers:
            if sequential:
                writes = page_writes_per_s * write_scale * interval_s
                self.sweep_pos[k] = math.fmod(self.sweep_pos[k] + rounds * writes, region.pages)

    # --- views -----------------------------------------------------------------------------

    def pending_wire_bytes(self) -> float:
        """What the pending pages cost on the wire (a zero page is a marker): what a
        stop-and-copy now would send (``send_all`` sums the same)."""
        if self._collapsed:
            return self.pending * self._cost
        return sum(s[PENDING] * s[COST] for s in self._segs)

    def pending_runs(self) -> list[tuple[float, float]]:
        """(pending pages, wire cost a page) of each segment from the cursor, in the order
        a pass sends them (``pacing.PagePace``)."""
        if self._collapsed:
            return [(self.pending, self._cost)]
        return [(s[PENDING], s[COST]) for s in self._segs if s[PENDING] > 0.0]

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
            if s[PENDING] <= 0.0 or s[PAGES] <= 0.0:  # an empty segment's float crumb
                continue
            density = s[PENDING] / s[PAGES]
            a, b = s[START], s[START] + s[PAGES]
            for c in range(int(a // size), min(cells - 1, int((b - _EPS) // size)) + 1):
                out[c] += density * (min(b, (c + 1) * size) - max(a, c * size))
        return [min(1.0, v / size) for v in out]
