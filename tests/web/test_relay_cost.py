"""What relaying one run to many viewers costs a daphne process (issue #16, a classroom of 200
viewers): a batch is encoded once, by the publisher, and every viewer's consumer sends that text
as it is; relaying goes to no thread (Channels' ``dispatch`` would hop to the one shared sync
thread per viewer and message); the resync loop is jittered and idle while the stream flows.
"""

from __future__ import annotations

import asyncio
import json
import statistics

import pytest
from asgiref.sync import SyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from playground.anatomy.models import Run
from playground.asgi import application
from playground.runs import consumers
from playground.runs.models import RunStatus
from playground.runs.publisher import RunEventPublisher, events_message

from .support import ws_headers


def live(test):
    """An async test with the database and Channels' in-memory layer (one process)."""
    return pytest.mark.asyncio(pytest.mark.django_db(transaction=True)(test))


def _event(seq: int) -> dict:
    return {"seq": seq, "kind": "notice", "t_s": float(seq), "value": f"v{seq}"}


@pytest.fixture
def viewer(user):
    return ws_headers(user)


@pytest.fixture
def run(user):
    return Run.objects.create(params={"memory": "4GiB"}, status=RunStatus.RUNNING, owner=user)


async def _viewers(run_id: int, headers, n: int) -> list[WebsocketCommunicator]:
    """``n`` viewers connected and greeted (their first status)."""
    viewers = []
    for _ in range(n):
        communicator = WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from())["status"] == "running"
        viewers.append(communicator)
    return viewers


class Counting:
    """Counts calls of a method patched on a class (and still calls it)."""

    def __init__(self, monkeypatch, owner, name: str):
        self.calls = 0
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def test_the_publisher_encodes_a_batch_once_as_the_browsers_message():
    sent = []

    class Layer:
        async def group_send(self, group, message):
            sent.append((group, message))

    publisher = RunEventPublisher("run.7", layer=Layer())
    publisher.events([_event(3), _event(4)])
    publisher.close()
    ((group, message),) = sent
    assert group == "run.7"
    assert message["type"] == "run.events"
    assert (message["first_seq"], message["last_seq"]) == (3, 4)
    assert json.loads(message["text"]) == {"type": "events", "events": [_event(3), _event(4)]}
    assert "events" not in message  # not the events a second time, in the layer's encoding


@live
async def test_viewers_get_the_publishers_text_and_encode_nothing_again(
    viewer, run, in_memory_layer, monkeypatch, settings
):
    settings.PLAYGROUND_VIEWER_RESYNC_S = 3600  # no resync check in the way
    viewers = await _viewers(run.pk, viewer, 5)
    encodes = Counting(monkeypatch, AsyncJsonWebsocketConsumer, "encode_json")
    messages = [events_message([_event(1), _event(2)]), events_message([_event(3)])]
    for message in messages:
        await get_channel_layer().group_send(f"run.{run.pk}", message)
    for communicator in viewers:
        assert [await communicator.receive_from() for _ in messages] == [
            m["text"] for m in messages
        ]
        await communicator.disconnect()
    assert encodes.calls == 0


@live
async def test_relaying_in_sequence_goes_to_no_thread(
    viewer, run, in_memory_layer, monkeypatch, settings
):
    """No ``sync_to_async`` (``database_sync_to_async``, ``aclose_old_connections``) per viewer
    and message: the one sync thread is where hundreds of viewers would queue. Only a gap reads
    the database."""
    settings.PLAYGROUND_VIEWER_RESYNC_S = 3600
    viewers = await _viewers(run.pk, viewer, 3)
    hops = Counting(monkeypatch, SyncToAsync, "__call__")
    layer = get_channel_layer()
    for seq in range(1, 21):
        await layer.group_send(f"run.{run.pk}", events_message([_event(seq)]))
    await layer.group_send(f"run.{run.pk}", {"type": "run.status", "status": "running"})
    for communicator in viewers:
        seqs = []
        while len(seqs) < 20:
            seqs += [e["seq"] for e in (await communicator.receive_json_from())["events"]]
        assert seqs == list(range(1, 21))
    assert hops.calls == 0

    # a gap (21 lost): the database fills it, through the thread
    await layer.group_send(f"run.{run.pk}", events_message([_event(22)]))
    for communicator in viewers:
        await communicator.receive_json_from()
        await communicator.disconnect()
    assert hops.calls >= 1  # (one read may answer several viewers: shared_reads)


def test_the_resync_checks_of_viewers_who_connected_together_are_spread_out():
    delays = [consumers.resync_delay_s(3.0) for _ in range(200)]
    assert all(1.5 <= d <= 4.5 for d in delays)
    assert statistics.pstdev(delays) > 0.5  # not in step
    assert statistics.mean(delays) == pytest.approx(3.0, abs=0.3)  # still about every 3 s


@live
async def test_the_resync_is_idle_while_the_stream_flows_and_checks_when_it_stops(
    viewer, run, in_memory_layer, monkeypatch, settings
):
    settings.PLAYGROUND_VIEWER_RESYNC_S = 0.4
    checks = []
    status = consumers._status

    async def counted_status(*args):
        checks.append(asyncio.get_running_loop().time())
        return await status(*args)

    monkeypatch.setattr(consumers, "_status", counted_status)
    (communicator,) = await _viewers(run.pk, viewer, 1)
    assert len(checks) == 1  # the one on connect
    layer = get_channel_layer()
    for seq in range(1, 31):  # a message every 0.05 s for 1.5 s
        await layer.group_send(f"run.{run.pk}", events_message([_event(seq)]))
        await asyncio.sleep(0.05)
    assert len(checks) == 1, "a resync check while the stream flowed"
    await asyncio.sleep(1.5)  # quiet: the viewer checks again (a lost message, a lost group)
    assert len(checks) >= 2
    await communicator.disconnect()


@live
async def test_the_end_needs_no_database_for_a_viewer_who_has_every_event(
    viewer, run, in_memory_layer, monkeypatch, settings
):
    """The done status says the last event published: a viewer who has it goes to no thread (at
    the end of a run, hundreds of viewers at once); one who missed it replays the database."""
    settings.PLAYGROUND_VIEWER_RESYNC_S = 3600
    (up_to_date,) = await _viewers(run.pk, viewer, 1)
    layer = get_channel_layer()
    await layer.group_send(f"run.{run.pk}", events_message([_event(1)]))
    assert (await up_to_date.receive_json_from())["events"] == [_event(1)]
    hops = Counting(monkeypatch, SyncToAsync, "__call__")
    done = {"type": "run.status", "status": "done", "error": "", "last_seq": 1}
    await layer.group_send(f"run.{run.pk}", done)
    assert await up_to_date.receive_json_from() == {"type": "status", "status": "done", "error": ""}
    assert hops.calls == 0
    await up_to_date.disconnect()


@live
async def test_a_viewer_who_missed_the_last_events_replays_them_before_the_end(
    viewer, run, in_memory_layer, settings
):
    from asgiref.sync import sync_to_async

    from playground.anatomy.models import RunEvent

    settings.PLAYGROUND_VIEWER_RESYNC_S = 3600
    (behind,) = await _viewers(run.pk, viewer, 1)
    for seq in (1, 2):  # stored and published, but this viewer's message was lost
        payload = {k: v for k, v in _event(seq).items() if k != "seq"}
        await sync_to_async(RunEvent.objects.create)(
            run=run, seq=seq, kind="notice", payload=payload
        )
    done = {"type": "run.status", "status": "done", "error": "", "last_seq": 2}
    await get_channel_layer().group_send(f"run.{run.pk}", done)
    assert [e["seq"] for e in (await behind.receive_json_from())["events"]] == [1, 2]
    assert (await behind.receive_json_from())["status"] == "done"
    await behind.disconnect()
