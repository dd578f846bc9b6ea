"""The event kernel: actions run in (time, priority, scheduling order); the event stream."""

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
