import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from playground.anatomy.models import Run, RunEvent
from playground.asgi import application
from playground.runs.consumers import CLOSE_BAD_REQUEST, CLOSE_RUN_NOT_FOUND
from playground.runs.models import RunStatus
from playground.runs.publisher import events_message

from .support import close_code, ws_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def _event(seq):
    return {"seq": seq, "kind": "notice", "t_s": float(seq), "value": f"v{seq}"}


def _make_run(stored=0, status=RunStatus.RUNNING, owner=None):
    run = Run.objects.create(params={"memory": "4GiB"}, status=status, owner=owner)
    for seq in range(1, stored + 1):
        payload = {k: v for k, v in _event(seq).items() if k != "seq"}
        RunEvent.objects.create(run=run, seq=seq, kind="notice", payload=payload)
    return run


async def _connect(run_id, after=None, headers=ORIGIN):
    path = f"/ws/runs/{run_id}/" + (f"?after={after}" if after is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _received_events(communicator, *, until_seq, timeout=2):
    seqs = []
    while not seqs or seqs[-1] < until_seq:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == "events":
            seqs += [e["seq"] for e in message["events"]]
    return seqs


async def _publish(run_id, seqs):
    await get_channel_layer().group_send(f"run.{run_id}", events_message([_event(s) for s in seqs]))


@pytest.fixture
def viewer(user):
    """The handshake of ``user``'s browser: the runs ``make_run`` makes are hers."""
    return ws_headers(user)


@pytest.fixture
def make_run(db, user):
    from asgiref.sync import sync_to_async

    return sync_to_async(lambda **kwargs: _make_run(owner=user, **kwargs))


async def test_an_unknown_run_is_refused_with_4404(in_memory_layer):
    communicator = WebsocketCommunicator(application, "/ws/runs/12345/", headers=ORIGIN)
    assert await close_code(communicator) == CLOSE_RUN_NOT_FOUND


async def test_a_malformed_after_is_refused_with_4400(viewer, in_memory_layer, make_run):
    run = await make_run()
    communicator = WebsocketCommunicator(
        application, f"/ws/runs/{run.pk}/?after=soon", headers=viewer
    )
    assert await close_code(communicator) == CLOSE_BAD_REQUEST


async def test_a_foreign_origin_is_refused(in_memory_layer, make_run):
    run = await make_run()
    communicator = WebsocketCommunicator(
        application, f"/ws/runs/{run.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_it_replays_the_stored_events_then_the_status(viewer, in_memory_layer, make_run):
    run = await make_run(stored=7, status=RunStatus.DONE)
    communicator, connected, _ = await _connect(run.pk, headers=viewer)
    assert connected
    assert await _received_events(communicator, until_seq=7) == list(range(1, 8))
    assert await communicator.receive_json_from() == {
        "type": "status",
        "status": "done",
        "error": "",
    }
    await communicator.disconnect()


async def test_it_resumes_after_the_given_sequence_number(viewer, in_memory_layer, make_run):
    run = await make_run(stored=7)
    communicator, _, _ = await _connect(run.pk, after=4, headers=viewer)
    assert await _received_events(communicator, until_seq=7) == [5, 6, 7]
    await communicator.disconnect()


async def test_it_relays_the_live_tail_after_the_replay(viewer, in_memory_layer, make_run):
    run = await make_run(stored=3)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert await _received_events(communicator, until_seq=3) == [1, 2, 3]
    await communicator.receive_json_from()  # status
    await _publish(run.pk, [4, 5])
    await _publish(run.pk, [6])
    assert await _received_events(communicator, until_seq=6) == [4, 5, 6]
    await communicator.disconnect()


@pytest.mark.parametrize(
    "sent",
    [
        {"text_data": "not json"},
        {"bytes_data": b"\x00\x01"},
        {"text_data": '{"a":' * 5000 + "1" + "}" * 5000},  # deeper than json's recursion
        {"text_data": '{"type": "events"}'},
    ],
    ids=["not-json", "binary", "nested-json", "json"],
)
async def test_whatever_the_client_sends_is_ignored_and_the_stream_goes_on(
    viewer, in_memory_layer, make_run, sent
):
    """The browser only listens: a message from the client (hand-made, binary, not JSON, a
    JSON bomb) is not decoded and neither ends the socket with an internal error (1011) nor
    logs a traceback; the viewer keeps getting the run."""
    run = await make_run(stored=3)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert await _received_events(communicator, until_seq=3) == [1, 2, 3]
    await communicator.receive_json_from()  # status
    await communicator.send_to(**sent)
    await _publish(run.pk, [4])
    assert await _received_events(communicator, until_seq=4) == [4]
    await communicator.disconnect()


async def test_live_events_it_already_replayed_are_not_sent_twice(
    viewer, in_memory_layer, make_run
):
    run = await make_run(stored=5)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert await _received_events(communicator, until_seq=5) == [1, 2, 3, 4, 5]
    await _publish(run.pk, [3, 4, 5, 6])  # published while we were replaying
    await _publish(run.pk, [6, 7])  # a duplicate delivery
    assert await _received_events(communicator, until_seq=7) == [6, 7]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_gap_in_the_live_tail_is_filled_from_the_database(
    viewer, in_memory_layer, make_run
):
    from asgiref.sync import sync_to_async

    run = await make_run(stored=2)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert await _received_events(communicator, until_seq=2) == [1, 2]
    await communicator.receive_json_from()  # status
    # events 3 and 4 were stored but their message was lost; 5 arrives live
    for seq in (3, 4, 5):
        await sync_to_async(RunEvent.objects.create)(
            run=run, seq=seq, kind="notice", payload={"kind": "notice", "t_s": float(seq)}
        )
    await _publish(run.pk, [5])
    assert await _received_events(communicator, until_seq=5) == [3, 4, 5]
    await communicator.disconnect()


async def test_status_changes_are_relayed(viewer, in_memory_layer, make_run):
    run = await make_run()
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert (await communicator.receive_json_from())["status"] == "running"
    await get_channel_layer().group_send(
        f"run.{run.pk}", {"type": "run.status", "status": "failed", "error": "The model failed"}
    )
    assert await communicator.receive_json_from() == {
        "type": "status",
        "status": "failed",
        "error": "The model failed",
    }
    await communicator.disconnect()


async def test_a_whole_run_streams_through_the_publisher_to_the_socket(
    viewer, user, in_memory_layer
):
    """Task side and socket side together, in one process: what the service stores and
    publishes is exactly what a viewer connected before the run receives."""
    from asgiref.sync import sync_to_async

    from playground.runs.pipeline import execute_run

    run = await sync_to_async(Run.objects.create)(
        params={
            "memory": "2GiB",
            "workload": "oltp",
            "bandwidth": "10Gbit/s",
            "policy": "qemu",
            "downtime_limit": "300ms",
            "resolution": "fluid",
            "seed": 3,
        },
        owner=user,
    )
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert (await communicator.receive_json_from())["status"] == "queued"
    await sync_to_async(execute_run)(kind="run", run_id=run.pk)
    total = await sync_to_async(RunEvent.objects.filter(run=run).count)()
    assert await _received_events(communicator, until_seq=total) == list(range(1, total + 1))
    await communicator.disconnect()
