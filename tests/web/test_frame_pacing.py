"""A fleet run's frames reach the sink paced (``playground/fleets/runner.py``, issue #16): the
end of a big run is cheap to compute, and unpaced its last hundreds of frames went out in a
second, in messages of 100 frames, to every viewer at once."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from migrationsim.fleet.plan import plan as plan_of
from migrationsim.fleet.text import preset_scenario
from playground.fleets import services as fleet_services
from playground.fleets.runner import FramePacer
from playground.runs import kinds, pipeline
from playground.runs.pipeline import ByteWindow, execute_run
from playground.runs.publisher import RunEventPublisher, events_message

from .support import RecordingPublisher


class FakeClock:
    def __init__(self):
        self.now_s = 0.0
        self.slept_s = 0.0

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now_s += seconds
        self.slept_s += seconds


def _release_times(pacer: FramePacer, clock: FakeClock, frames: int, compute_s: float) -> list:
    """When each of ``frames`` frames went, each computed in ``compute_s``."""
    times = []
    for _ in range(frames):
        clock.now_s += compute_s
        pacer.wait()
        times.append(clock.now_s)
    return times


def test_a_burst_of_frames_is_spread_at_the_pace_after_a_quarter_second_of_them():
    clock = FakeClock()
    pacer = FramePacer(40, burst_s=0.25, clock=clock, sleep=clock.sleep)
    times = _release_times(pacer, clock, 240, compute_s=0.0)  # all computed at once
    assert times[9] == 0.0 and times[10] > 0.0  # the first 10 (a quarter second's worth) at once
    assert times[-1] == pytest.approx((240 - 10) / 40)  # then 40 a second
    for start in range(0, 200):  # never more than the pace plus the bucket in any second
        assert sum(1 for t in times if times[start] <= t < times[start] + 1.0) <= 40 + 10


def test_a_fast_stretch_after_a_slow_one_is_not_let_out_at_once():
    """Most of a big run computes slower than the pace (the bucket fills), then its end is
    cheap: what was computed fast goes at the pace, not in one message."""
    clock = FakeClock()
    pacer = FramePacer(40, burst_s=0.25, clock=clock, sleep=clock.sleep)
    _release_times(pacer, clock, 100, compute_s=0.2)  # 5 a second for 20 s
    fast = _release_times(pacer, clock, 100, compute_s=0.0)
    assert sum(1 for t in fast if t == fast[0]) <= 10
    assert fast[-1] - fast[0] >= (100 - 10) / 40  # the rest at 40 a second


def test_frames_computed_slower_than_the_pace_are_never_held_back():
    clock = FakeClock()
    pacer = FramePacer(40, burst_s=0.25, clock=clock, sleep=clock.sleep)
    _release_times(pacer, clock, 300, compute_s=0.05)  # 20 a second
    assert clock.slept_s == 0.0


def test_a_pace_of_zero_is_no_pacing():
    clock = FakeClock()
    pacer = FramePacer(0, burst_s=0.25, clock=clock, sleep=clock.sleep)
    _release_times(pacer, clock, 1000, compute_s=0.0)
    assert clock.slept_s == 0.0


class Viewer:
    """Each published message, as a viewer's socket gets it: (when, bytes of its text)."""

    def __init__(self, clock):
        self.clock, self.messages = clock, []

    def events(self, events, texts=None):
        self.messages.append((self.clock(), len(events_message(events, texts)["text"].encode())))


def _most_bytes_in_a_second(messages) -> int:
    return max(
        sum(size for t, size in messages if start <= t < start + 1.0) for start, _ in messages
    )


def _frame(seq: int, size: int) -> dict:
    return {"seq": seq, "kind": "frame", "pad": "x" * size}


def _publish(window: ByteWindow, viewer: Viewer, frames: list[dict]) -> None:
    """The window's parts of ``frames``, published as the sink publishes them."""
    texts = [json.dumps(frame) for frame in frames]
    for part in window.parts(texts):
        viewer.events(frames[part], texts[part])


def test_no_second_of_messages_carries_more_than_the_byte_budget():
    # a region's zone starting: frames of 118, 91 and 48 kB made at once, then small ones
    clock = FakeClock()
    viewer = Viewer(clock)
    window = ByteWindow(190_000, clock=clock, sleep=clock.sleep)
    sizes = [118_000, 91_000, 48_000, 47_000] + [20_000] * 30
    frames = [_frame(i + 1, size) for i, size in enumerate(sizes)]
    _publish(window, viewer, frames)
    assert len(viewer.messages) >= 5  # 904 kB in parts of at most 190 kB
    assert _most_bytes_in_a_second(viewer.messages) <= 190_000
    assert sum(size for _, size in viewer.messages) > sum(sizes)  # every frame went
    assert viewer.messages[0][0] == 0.0 and viewer.messages[1][0] == pytest.approx(1.0)
    # without the budget: one message of 904 kB at once
    assert len(events_message(frames)["text"]) > 900_000


def test_a_message_bigger_than_the_budget_goes_alone_and_a_slow_stream_never_waits():
    clock = FakeClock()
    viewer = Viewer(clock)
    window = ByteWindow(100_000, clock=clock, sleep=clock.sleep)
    for size in (10_000, 250_000, 10_000):
        _publish(window, viewer, [_frame(1, size)])
    assert [t for t, _ in viewer.messages] == [0.0, pytest.approx(1.0), pytest.approx(2.0)]
    clock = FakeClock()
    window = ByteWindow(100_000, clock=clock, sleep=clock.sleep)
    for i in range(50):  # 80 kB a second
        clock.now_s += 0.25
        list(window.parts([json.dumps(_frame(i, 20_000))]))
    assert clock.slept_s == 0.0


def test_the_window_counts_the_bytes_of_the_text_the_viewers_get():
    frames = [_frame(1, 1_000), _frame(2, 2_000)]
    clock = FakeClock()
    window = ByteWindow(1_000_000, clock=clock, sleep=clock.sleep)
    (part,) = list(window.parts([json.dumps(frame) for frame in frames]))
    assert window.sent_bytes == len(events_message(frames[part])["text"].encode())


@pytest.mark.django_db
def test_a_fleet_run_publishes_its_frames_paced(alice, settings):
    """The demo's 200 frames are computed in a fraction of a second; at 50 a second, after a
    first quarter second's worth, the rest go out over 3.5 s."""
    pace = 50
    settings.PLAYGROUND_FLEET_FRAMES_PER_S = pace
    settings.PLAYGROUND_FLEET_PUBLISH_INTERVAL_S = 0.25
    scenario = preset_scenario("demo")
    run = fleet_services.start_run(
        scenario=scenario, plan=plan_of(scenario), queue=False, visitor=alice
    )
    published = []

    class Timed(RecordingPublisher):
        def events(self, events, texts=None):
            published.append((time.monotonic(), len(events)))
            super().events(events, texts)

    assert execute_run(kind="fleet", run_id=run.pk, publisher=Timed(), interval_s=0.0) is True
    frames = sum(n for _, n in published)
    burst = pace * 0.25
    assert frames > burst + 50  # a run long enough to be paced
    spread_s = published[-1][0] - published[0][0]
    assert spread_s >= (frames - burst) / pace * 0.9


class _Row:
    """Stands in for the stored event model: nothing written."""

    objects = type("Objects", (), {"bulk_create": staticmethod(lambda rows: rows)})

    def __init__(self, *, run_id, seq, kind, payload):
        self.seq, self.payload = seq, payload

    def as_message(self):
        return {"seq": self.seq, **self.payload}


def _fleet_sink(publisher, clock: FakeClock, settings, monkeypatch) -> pipeline.EventSink:
    """The fleet run's sink, as the pipeline makes it, with no database."""
    monkeypatch.setattr(pipeline.transaction, "atomic", contextlib.nullcontext)
    return pipeline.EventSink(
        _Row,
        1,
        publisher,
        batch_size=100,
        interval_s=10.0,
        bytes_per_s=getattr(settings, kinds.get("fleet").bytes_per_s_setting),
        clock=clock,
        sleep=clock.sleep,
    )


def test_the_fleet_runs_sink_publishes_within_the_byte_budget(settings, monkeypatch):
    budget = getattr(settings, kinds.get("fleet").bytes_per_s_setting)
    assert 0 < budget < 200_000  # a viewer's 200 kB/s (#16)
    clock = FakeClock()
    viewer = Viewer(clock)
    sink = _fleet_sink(viewer, clock, settings, monkeypatch)
    for size in [118_000, 91_000, 48_000, 47_000]:
        sink.add({"kind": "frame", "pad": "x" * size})
    sink.flush()
    # the first frame at once (118 kB), the other three (186 kB) a second later
    assert [t for t, _ in viewer.messages] == [0.0, pytest.approx(1.0)]
    assert _most_bytes_in_a_second(viewer.messages) <= budget


def test_the_fleet_runs_sink_encodes_each_frame_once_and_publishes_the_text_it_measured(
    settings, monkeypatch
):
    """A region's frames are up to ~100 kB each: the sink encodes each one once, the window
    measures those texts, and the publisher sends them joined as they are, the same message as
    encoding the whole batch (encoding again cost the worker tens of milliseconds a run)."""

    class Layer:
        def __init__(self):
            self.sent = []

        async def group_send(self, group, message):
            self.sent.append(message)

    encode = json.dumps
    encoded: list[tuple[dict, str]] = []

    def spy(obj, *args, **kwargs):
        text = encode(obj, *args, **kwargs)
        encoded.append((obj, text))
        return text

    clock, layer = FakeClock(), Layer()
    publisher = RunEventPublisher("fleet.1", layer=layer)
    sink = _fleet_sink(publisher, clock, settings, monkeypatch)
    frames = [{"kind": "frame", "pad": "x" * size} for size in [118_000, 91_000, 48_000, 47_000]]
    monkeypatch.setattr(json, "dumps", spy)
    for frame in frames:
        sink.add(frame)
    sink.flush()
    publisher.close()
    monkeypatch.undo()

    messages = [{"seq": seq, **frame} for seq, frame in enumerate(frames, start=1)]
    assert [obj for obj, _ in encoded] == messages  # each frame once, and nothing else
    texts = [text for _, text in encoded]
    assert [message["text"] for message in layer.sent] == [
        '{"type": "events", "events": [' + texts[0] + "]}",
        '{"type": "events", "events": [' + ", ".join(texts[1:]) + "]}",
    ]
    for message, events in zip(layer.sent, [messages[:1], messages[1:]], strict=True):
        assert message == events_message(events)  # the same message on the wire as before
    # the window counted the texts published (its second holds the last part)
    assert [size for _, size in sink.window.sent] == [len(layer.sent[-1]["text"].encode())]
