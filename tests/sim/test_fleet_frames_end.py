"""The live fleet page's clock ends where the run ended: its last frame is at the makespan the
results page and the plan show, even when the engine wakes up after the last real activity (a
deadline that finds every host done, and the link samples taken until then)."""

import pytest

from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.text import preset_scenario

HOURS = 3600.0


def _demo_with_a_late_deadline() -> dict:
    """The demo preset (done in minutes) with a deadline hours after its last migration."""
    data = preset_scenario("demo")
    data["events"][0]["deadline"] = "12h"
    return data


@pytest.fixture(scope="module")
def streamed():
    stream = FleetStream(_demo_with_a_late_deadline(), bucket_s=60)
    return stream, list(stream.frames())


def test_the_engine_wakes_up_after_its_last_activity_here(streamed):
    stream, _ = streamed
    assert stream.run.now == 12 * HOURS  # the deadline, with nothing left to do
    assert stream.summary()["makespan_s"] < 3 * HOURS


def test_the_last_frame_is_the_final_one_at_the_makespan_the_results_show(streamed):
    stream, frames = streamed
    makespan_s = stream.summary()["makespan_s"]
    assert frames[-1]["final"] is True
    assert frames[-1]["t_s"] == round(makespan_s, 3)


def test_no_frame_is_after_the_makespan_and_the_clock_only_moves_forward(streamed):
    stream, frames = streamed
    makespan_s = stream.summary()["makespan_s"]
    times = [f["t_s"] for f in frames]
    assert times == sorted(set(times))
    assert all(t < makespan_s for t in times[:-1])
    assert [f for f in frames if f["final"]] == [frames[-1]]


def test_the_compare_series_end_with_the_run_too(streamed):
    stream, frames = streamed
    series = stream.compare_series()
    assert series["t_s"] == [f["t_s"] for f in frames]
    assert series["completed"][-1] == stream.summary()["migrations"]


def test_a_frame_in_a_quiet_stretch_inside_the_run_is_still_sent():
    """A second wave hours after the first is done: the frames of the quiet hours between
    them are sent (only those after the run's last activity are not)."""
    data = preset_scenario("demo")
    second = dict(data["events"][0], name="later", start="6h", scope={"racks": ["rack2"]})
    data["events"].append(second)
    stream = FleetStream(data, bucket_s=300)
    times = [f["t_s"] for f in stream.frames()]
    assert [t for t in times if 3 * HOURS <= t <= 6 * HOURS] == [
        t * 300.0 for t in range(36, 73)
    ]  # every bucket, none held back
    assert times[-1] == round(stream.summary()["makespan_s"], 3) > 6 * HOURS


def test_what_the_frames_after_the_makespan_would_have_carried_is_in_the_final_one(streamed):
    stream, frames = streamed
    summary = stream.summary()
    assert sum(len(f["blackouts"]) for f in frames) == summary["migrations"]
    last = frames[-1]
    assert last["hosts"]["done"] == last["hosts"]["scope"] == 4
    racks: dict = {}
    for frame in frames:
        racks.update(frame["racks"])
    assert racks["rack1"][:2] == [4, 4]  # in scope, done
    assert all(note[0] <= summary["makespan_s"] for f in frames for note in f["notes"])


def test_a_long_quiet_tail_holds_a_bounded_number_of_frames_and_loses_nothing(monkeypatch):
    """Hours of samples after the last migration are hundreds of frames made and held; past
    ``MAX_HELD_FRAMES`` the earliest is carried into the next (memory stays bounded whatever the
    tail), and the final frame still carries everything they did."""
    from migrationsim.fleet import frames as frames_module

    plain = FleetStream(_demo_with_a_late_deadline(), bucket_s=60)
    expected = list(plain.frames())
    monkeypatch.setattr(frames_module, "MAX_HELD_FRAMES", 2)
    made = []
    stream = FleetStream(_demo_with_a_late_deadline(), bucket_s=60)
    original = stream._frame

    def counting(*args, **kwargs):
        frame = original(*args, **kwargs)
        made.append(frame["t_s"])
        return frame

    monkeypatch.setattr(stream, "_frame", counting)
    capped = list(stream.frames())
    assert len(made) > len(capped) + 100  # hundreds made after the last activity, not sent
    # quiet stretches longer than two frames keep only their last two; the clock still ends
    # at the makespan
    assert {f["t_s"] for f in capped} < {f["t_s"] for f in expected}
    assert capped[-1]["t_s"] == expected[-1]["t_s"] and capped[-1]["final"]
    for key in ("segments", "host_segments", "blackouts", "waits", "notes"):
        assert [x for f in capped for x in f[key]] == [x for f in expected for x in f[key]], key
    assert capped[-1]["racks"] == expected[-1]["racks"]
