"""A viewer never sees a run's status go backwards (issue #14, section 4: "done, running,
done"): the consumer reads the status for its catch-up under the same lock as it relays a
status message, and a finished run is never said to be running again."""

import asyncio

import pytest

from playground.runs import consumers, kinds
from playground.runs.consumers import RunConsumer

pytestmark = pytest.mark.asyncio


class Watched(RunConsumer):
    """The consumer without a socket: what it would send, in order."""

    def __init__(self):
        super().__init__(kind="run")
        self.spec, self.run_id, self.last_seq = kinds.get("run"), 1, 0
        self.lock, self.sent = asyncio.Lock(), []

    async def send_json(self, content, close=False):
        self.sent.append(content)

    async def _replay(self):
        await asyncio.sleep(0)

    @property
    def statuses(self):
        return [m["status"] for m in self.sent if m["type"] == "status"]


async def test_a_done_relayed_while_the_catch_up_reads_running_is_not_followed_by_running(
    monkeypatch,
):
    viewer = Watched()
    reading, proceed = asyncio.Event(), asyncio.Event()

    async def status_read_just_before_the_run_finished(model, run_id):
        reading.set()
        await proceed.wait()  # the worker marks it done and publishes "done" meanwhile
        return ("running", "")

    monkeypatch.setattr(consumers, "_status", status_read_just_before_the_run_finished)
    catch_up = asyncio.create_task(viewer._catch_up())  # the resync loop's
    await reading.wait()
    relay = asyncio.create_task(viewer.run_status({"status": "done", "error": ""}))
    for _ in range(5):
        await asyncio.sleep(0)
    proceed.set()
    await asyncio.gather(catch_up, relay)
    assert viewer.statuses == ["running", "done"]


async def test_a_late_running_message_after_done_is_dropped(monkeypatch):
    viewer = Watched()

    async def done(model, run_id):
        return ("done", "")

    monkeypatch.setattr(consumers, "_status", done)
    await viewer._catch_up()
    await viewer.run_status({"status": "running", "error": ""})  # published before, delivered late
    await viewer.run_status({"status": "done", "error": ""})
    assert viewer.statuses == ["done"]


async def test_a_queued_run_is_seen_queued_running_done(monkeypatch):
    viewer = Watched()

    async def queued(model, run_id):
        return ("queued", "")

    monkeypatch.setattr(consumers, "_status", queued)
    await viewer._catch_up()
    for status in ("running", "running", "done"):
        await viewer.run_status({"status": status, "error": ""})
    assert viewer.statuses == ["queued", "running", "done"]  # each once
