"""The event kernel: actions run in (time, priority, scheduling order); the event stream."""

import heapq
import math
import random

from migrationsim.fleet.kernel import Kernel


def test_actions_run_by_time_then_priority_then_the_order_they_were_scheduled_in():
    kernel, ran = Kernel(), []
    for name, time_s, priority in (
        ("late", 2.0, 0),
        ("b", 1.0, 0),
        ("c", 1.0, 0),
        ("urgent", 1.0, -1),
    ):
        kernel.at(time_s, ran.append, name, priority=priority)
    kernel.run()
    assert ran == ["urgent", "b", "c", "late"] and kernel.now == 2.0


def test_an_action_may_schedule_more_and_the_clock_never_goes_back():
    kernel, seen = Kernel(), []

    def tick(n):
        seen.append((kernel.now, n))
        if n < 3:
            kernel.at(kernel.now - 5.0 if n == 1 else kernel.now + 1.0, tick, n + 1)

    kernel.at(10.0, tick, 0)
    kernel.run()
    assert seen == [(10.0, 0), (11.0, 1), (11.0, 2), (12.0, 3)]


def test_observers_are_not_activity():
    kernel = Kernel()
    kernel.at(3.0, lambda: None)
    kernel.at(9.0, lambda: None, observer=True)
    kernel.run()
    assert (kernel.now, kernel.last_activity_s, kernel.next_s) == (9.0, 3.0, None)


def test_events_streams_what_the_actions_emit_then_finishes_once():
    class Counting(Kernel):
        finished = 0

        def finish(self):
            self.finished += 1
            self.emit("done")

    kernel = Counting()
    kernel.at(1.0, kernel.emit, "ping")
    kernel.at(2.0, kernel.emit, "pong")
    assert list(kernel.events()) == [
        {"t_s": 1.0, "kind": "ping"},
        {"t_s": 2.0, "kind": "pong"},
        {"t_s": 2.0, "kind": "done"},
    ]
    assert kernel.finished == 1


class OneHeap:
    """The reference: every action in one heap of (time, priority, scheduling order)."""

    def __init__(self):
        self.now, self._heap, self._sequence = 0.0, [], 0

    def at(self, time_s, action, *args, priority=0):
        self._sequence += 1
        heapq.heappush(self._heap, (time_s, priority, self._sequence, action, args))

    def run(self):
        while self._heap:
            time_s, _, _, action, args = heapq.heappop(self._heap)
            self.now = max(self.now, time_s)
            action(*args)


def _script(kernel) -> list:
    """Actions that schedule more at random: in the past, on a bucket's edge, a moment later,
    years away, at infinity; returns (time, priority, label) in the order they ran."""
    rng, ran = random.Random(7), []
    labels = iter(range(10**6))

    def act(time_s, priority, label):
        ran.append((time_s, priority, label))
        if len(ran) > 3000:
            return
        for _ in range(rng.randint(1, 2)):
            pick = rng.random()
            if pick < 0.1:
                later = kernel.now - rng.random()
            elif pick < 0.2:
                later = math.floor(kernel.now) + 1.0 if kernel.now < 1e15 else kernel.now
            elif pick < 0.25:
                later = kernel.now + 1e9 * rng.random()
            elif pick < 0.26:
                later = math.inf
            else:
                later = kernel.now + rng.expovariate(2.0)
            priority = rng.choice((-1, 0, 0, 1))
            kernel.at(later, act, later, priority, next(labels), priority=priority)

    for _ in range(50):
        time_s, priority = rng.uniform(0.0, 20.0), rng.choice((-1, 0, 1))
        kernel.at(time_s, act, time_s, priority, next(labels), priority=priority)
    kernel.run()
    return ran


def test_actions_waiting_in_buckets_run_in_exactly_the_order_of_one_heap():
    """Later actions wait unsorted in buckets of simulated time (``BUCKET_S``: a small heap is
    much faster at a million VMs); the order is still exactly one heap's."""
    ran = _script(Kernel())
    assert len(ran) > 3000
    assert any(t == math.inf for t, _, _ in ran) and any(t > 1e8 for t, _, _ in ran)
    assert ran == _script(OneHeap())


def test_many_actions_at_one_instant_run_by_priority_then_in_the_order_scheduled():
    """An evacuation schedules thousands of notices for one instant: they run by priority, then
    in the order they were scheduled, with those scheduled meanwhile for that instant among
    them, exactly as one heap runs them."""

    def script(kernel):
        ran = []

        def act(label, priority):
            ran.append(label)
            if label % 97 == 0 and label < 1000:  # more for the same instant, as it runs
                kernel.at(5.0, act, label + 1000, 0, priority=-1)
                kernel.at(5.0, act, label + 2000, 1, priority=1)

        for label in range(1000):
            priority = (-1, 0, 1)[label % 3]
            kernel.at(5.0, act, label, priority, priority=priority)
        kernel.run()
        return ran

    ran = script(Kernel())
    assert len(ran) == 1000 + 2 * 11 and ran == script(OneHeap())


class _Node:  # an object the cyclic collector tracks
    pass


def test_what_a_paused_build_makes_leaves_it_old_and_a_run_leaves_nothing_young():
    """A million-VM world is millions of objects without cycles: after the build and after the
    run they are in the collector's oldest generation, not a young one the next allocation
    would walk in full (a quarter of a second at a million VMs)."""
    import gc

    from migrationsim.fleet.kernel import collector_paused

    gc.collect()
    with collector_paused():
        world = [_Node() for _ in range(5_000)]
    assert len(gc.get_objects(generation=0)) < 100
    assert len(gc.get_objects(generation=1)) < 100
    assert gc.isenabled()

    kernel, kept = Kernel(), []
    for i in range(1_000):
        kernel.at(float(i), lambda: kept.append(_Node()))
    kernel.run()
    assert len(kept) == 1_000 and gc.isenabled() and gc.get_freeze_count() == 0
    assert len(gc.get_objects(generation=0)) < 100
    assert len(gc.get_objects(generation=1)) < 100
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(n) in oldest for n in kept[:10] + world[:10])
