"""The event kernel: a simulated clock and a heap of scheduled actions (SimPy's idea).

An action is a callable and its arguments, scheduled at a simulated time. The heap orders
actions by ``(time_s, priority, sequence)``: the earliest first; at the same time, the lower
priority number first; then the order they were scheduled in, so that a seeded run is the same
in every process. ``step`` moves the clock to the next action's time (never backwards) and runs
it; the action may schedule more. ``run`` and ``events`` step until nothing is left, then call
``finish`` once. What happens is reported as event dicts ``{"t_s": ..., "kind": ..., ...}``
through ``emit`` to every listener; ``events()`` is that stream as a generator.

An action scheduled with ``observer=True`` watches the world without changing it (a periodic
sample): it is not activity, so ``last_activity_s`` stays the time the last real thing happened.
An action that finds nothing to do (a deadline after every host is done) calls ``idle()``: it
is not activity either.
Only the actions due within the current second of simulated time (``BUCKET_S``) are kept in
the heap; a later one waits unsorted in the bucket of its second, and a bucket becomes the heap
when the clock reaches it. The order is exactly one heap's (every action in the heap is due
before every action in a bucket), but the heap holds a few hundred actions instead of one per
migration in flight: at a million VMs, 25,000 of them, each pop walked tuples scattered over
memory and cost 2.2 us instead of 1 us (about a second of the run).
The kernel knows nothing of hosts, VMs or migrations: a model subclasses it and schedules its
own actions.

Python's cyclic garbage collector walks every live object at each full collection: a
million-VM fleet is millions of objects without cycles, walked again and again for nothing (a
fifth of such a run). ``collector_paused`` holds it while a model builds its world and while
``run`` runs (the model makes no cycles worth collecting meanwhile); ``events`` hands control to
its consumer between events, so there what exists when it starts is only moved out of the
collector's way (``gc.freeze``) until it ends, and new objects are collected as usual. After a
build and after a run, what they made and kept is moved to the oldest generation without a walk
(``_promote_survivors``): left young, the next allocation would walk all of it.

A ceiling bounds every run whatever its input: at most ``max_actions`` actions and nothing
after ``max_time_s`` simulated seconds. A run that reaches it stops there, ``finish`` is called
as at any end, and ``stopped`` says why in a sentence (None for a run that ran out of work).
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

YEAR_S = 365.25 * 86400.0
BUCKET_S = 1.0  # simulated seconds of actions a bucket holds
_LAST_BUCKET_S = 1e15  # from here on (infinity included) one last bucket


class Kernel:
    def __init__(self, *, max_actions: int | None = None, max_time_s: float | None = None):
        self.max_actions, self.max_time_s = max_actions, max_time_s
        self.actions = 0  # run so far
        self.stopped: str | None = None  # why the run stopped at its ceiling
        self.now = 0.0  # simulated seconds
        self.last_activity_s = 0.0  # when the last action that was not an observer ran
        self._activity_before_s = 0.0  # last_activity_s before the running action
        self.listeners: list[Callable[[dict], None]] = []
        # (time_s, priority, sequence, action, args, observer) of every action due before
        # ``_horizon_s``; the later ones wait unsorted in buckets of BUCKET_S (see below)
        self._heap: list[tuple] = []
        self._horizon_s = -math.inf
        self._buckets: dict[float, list[tuple]] = {}  # bucket number -> its actions
        self._bucket_numbers: list[float] = []  # a heap of the keys of ``_buckets``
        self._sequence = 0

    def at(
        self, time_s: float, action: Callable, *args, priority: int = 0, observer: bool = False
    ) -> None:
        """Run ``action(*args)`` at ``time_s`` (simulated seconds)."""
        self._sequence += 1
        entry = (time_s, priority, self._sequence, action, args, observer)
        if time_s < self._horizon_s:
            heapq.heappush(self._heap, entry)
            return
        number = time_s // BUCKET_S if time_s < _LAST_BUCKET_S else math.inf
        bucket = self._buckets.get(number)
        if bucket is None:
            self._buckets[number] = [entry]
            heapq.heappush(self._bucket_numbers, number)
        else:
            bucket.append(entry)

    def _due(self) -> list[tuple]:
        """The heap of actions due next (the next bucket's, sorted now), empty when nothing is
        left to happen."""
        heap = self._heap
        if not heap and self._bucket_numbers:
            number = heapq.heappop(self._bucket_numbers)
            heap[:] = self._buckets.pop(number)
            heapq.heapify(heap)
            self._horizon_s = (number + 1) * BUCKET_S
        return heap

    @property
    def next_s(self) -> float | None:
        """When the next action is due, or None when nothing is left to happen."""
        heap = self._due()
        return heap[0][0] if heap else None

    def emit(self, kind: str, **fields) -> None:
        """Report an event at the current time to every listener."""
        if self.listeners:
            event = {"t_s": self.now, "kind": kind, **fields}
            for listener in self.listeners:
                listener(event)

    def step(self) -> bool:
        """Run the next action; False when nothing was left."""
        heap = self._heap or self._due()
        if not heap or self.stopped:
            return False
        if self.max_actions is not None and self.actions >= self.max_actions:
            self.stopped = (
                f"stopped after {self.actions:,} actions at t={self.now:,.0f} s, the ceiling "
                f"for this fleet: what had not happened by then is counted as not done"
            )
            return False
        if self.max_time_s is not None and heap[0][0] > self.max_time_s:
            # something was still to happen: the run lasts at least until the ceiling
            self.now = self.last_activity_s = self.max_time_s
            self.stopped = (
                f"stopped at {self.max_time_s / YEAR_S:g} years of simulated time, the ceiling: "
                f"what had not happened by then is counted as not done"
            )
            return False
        self.actions += 1
        time_s, _, _, action, args, observer = heapq.heappop(heap)
        self.now = max(self.now, time_s)
        self._activity_before_s = self.last_activity_s
        if not observer:
            self.last_activity_s = self.now
        action(*args)
        return True

    def idle(self) -> None:
        """The running action found nothing to do: it does not count as activity."""
        self.last_activity_s = self._activity_before_s

    def run(self):
        """Run to the end (a run makes no reference cycles worth collecting while it runs)."""
        with collector_paused(), _world_frozen():  # (the collector back on last)
            while self.step():
                pass
        self.finish()
        return self

    def events(self) -> Iterator[dict]:
        """Run to the end, yielding every event as it is produced (for streaming)."""
        buffer: list[dict] = []
        self.listeners.append(buffer.append)
        with _world_frozen():
            while self.step():
                if buffer:
                    yield from buffer
                    buffer.clear()
        self.finish()
        yield from buffer
        buffer.clear()

    def finish(self) -> None:
        """Called once when the run is over (nothing left to happen): a model closes its books."""


@contextmanager
def collector_paused():
    """No cyclic garbage collection inside (building a world of objects without cycles). What
    was made inside and lives on leaves as old objects (``_promote_survivors``): left young,
    the first collection after it would walk them all (a quarter of a second for a million-VM
    world, for nothing)."""
    enabled = gc.isenabled()
    nothing_frozen = gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        if nothing_frozen:  # (what another froze stays so)
            _promote_survivors()
        if enabled:
            gc.enable()


@contextmanager
def _world_frozen():
    """What exists now is left out of full collections until the run ends (``gc.freeze``);
    then all of it, what the run made and kept too (its records), is old (``_promote_survivors``)."""
    gc.freeze()
    try:
        yield
    finally:
        _promote_survivors()


def _promote_survivors() -> None:
    """Every object tracked by the collector joins its oldest generation, as a long life would
    have taken it there, without a walk: ``gc.freeze`` and ``gc.unfreeze`` move lists, the
    young generation's walk at the next allocation would visit each object (and again in the
    middle generation). The oldest generation is still collected in full, as usual."""
    gc.freeze()
    gc.unfreeze()
