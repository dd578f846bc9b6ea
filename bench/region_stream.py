"""What one viewer of a region run receives: messages a second and kilobytes a second. Prints
one JSON object.

    python bench/region_stream.py [--racks-per-zone 250] [--frames-per-s 40]

The worker's side as it runs (the runner's ``FleetStream`` with its event log, the
``FramePacer``, the pipeline's ``EventSink`` batching by count and by wall time), the database
write left out; each published batch is the message every viewer's socket gets, the
publisher's text as the consumer relays it. Measured in wall time, per second: the busiest
second and the mean over the stream (from the first message to the last).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import sys
import time
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from migrationsim.fleet import load_scenario  # noqa: E402
from migrationsim.fleet.frames import FleetStream, bucket_for  # noqa: E402
from migrationsim.fleet.plan import plan  # noqa: E402
from playground.fleets.runner import EventLog, FramePacer  # noqa: E402
from playground.runs import kinds, pipeline  # noqa: E402
from playground.runs.publisher import events_message  # noqa: E402


class _Row:
    def __init__(self, seq, payload, **_):
        self.seq, self.payload = seq, payload

    def as_message(self):
        return {"seq": self.seq, **self.payload}


class _Rows:
    """Stands in for the stored event model: nothing written."""

    objects = mock.Mock()

    def __new__(cls, *, run_id, seq, kind, payload):
        return _Row(seq, payload)


class _Viewer:
    """Each published batch, as the viewer's socket gets it: (wall time, bytes)."""

    def __init__(self):
        self.messages: list[tuple[float, int]] = []

    def events(self, events, texts=None):
        text = events_message(events, texts)["text"]
        self.messages.append((time.monotonic(), len(text.encode())))


def _per_second(messages: list[tuple[float, int]]) -> dict:
    start = messages[0][0]
    seconds: dict[int, list[int]] = {}
    for t, size in messages:
        seconds.setdefault(int(t - start), []).append(size)
    span_s = max(messages[-1][0] - start, 1.0)
    return {
        "messages": len(messages),
        "stream_s": round(span_s, 1),
        "bytes": sum(s for _, s in messages),
        "max_messages_per_s": max(len(v) for v in seconds.values()),
        "max_kb_per_s": round(max(sum(v) for v in seconds.values()) / 1000, 1),
        "mean_messages_per_s": round(len(messages) / span_s, 1),
        "mean_kb_per_s": round(sum(s for _, s in messages) / span_s / 1000, 1),
        "max_message_kb": round(max(s for _, s in messages) / 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--racks-per-zone", type=int, default=250)
    parser.add_argument(
        "--frames-per-s", type=float, default=settings.PLAYGROUND_FLEET_FRAMES_PER_S
    )
    args = parser.parse_args()
    data = copy.deepcopy(load_scenario("region").raw)
    for group in data["fleet"]["racks"]:
        group["count"] = args.racks_per_zone
    started = time.monotonic()
    bucket_s = bucket_for(plan(data)["eta_s"])  # as a run started from its plan
    plan_s = time.monotonic() - started
    viewer = _Viewer()
    kind = kinds.get("fleet")  # the fleet run's batching, as the pipeline reads it
    interval_s = getattr(settings, kind.interval_setting)
    sink = pipeline.EventSink(
        _Rows,
        1,
        viewer,
        batch_size=getattr(settings, kind.batch_size_setting),
        interval_s=interval_s,
        bytes_per_s=getattr(settings, kind.bytes_per_s_setting),  # as the pipeline's sink
    )
    log = EventLog()
    stream = FleetStream(data, bucket_s=bucket_s, on_event=log.write)
    pacer = FramePacer(args.frames_per_s, burst_s=interval_s)  # as fleets/runner.py paces
    frames = 0
    started = time.monotonic()
    with mock.patch.object(pipeline.transaction, "atomic", contextlib.nullcontext):
        for frame in stream.frames():
            pacer.wait()
            sink.add(frame)
            frames += 1
        sink.flush()
    result = {
        "racks_per_zone": args.racks_per_zone,
        "vms": len(stream.run.fleet.vms),
        "bucket_s": bucket_s,
        "frames": frames,
        "plan_s": round(plan_s, 1),
        "run_s": round(time.monotonic() - started, 1),
        "frames_per_s_setting": args.frames_per_s,
        **_per_second(viewer.messages),
        "targets": {"messages_per_s": 50, "kb_per_s": 200},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
