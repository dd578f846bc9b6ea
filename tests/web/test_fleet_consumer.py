import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.fleets.models import FleetRun, FleetRunMessage
from playground.runs.consumers import CLOSE_RUN_NOT_FOUND
from playground.runs.models import RunStatus
from playground.runs.publisher import events_message

from .fleet_support import tiny
from .support import close_code, ws_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
ORIGIN = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def _frame(seq):
    return {"seq": seq, "kind": "frame", "t_s": 60.0 * seq, "counts": {"done": seq}}


@pytest.fixture
def viewer(user):
    return ws_headers(user)


@sync_to_async
def _make_run(owner, stored=0, status=RunStatus.RUNNING):
    run = FleetRun.objects.create(scenario=tiny(), status=status, owner=owner)
    for seq in range(1, stored + 1):
        FleetRunMessage.objects.create(
            run=run, seq=seq, payload={k: v for k, v in _frame(seq).items() if k != "seq"}
        )
    return run


async def _connect(run_id, after=None, headers=ORIGIN):
    path = f"/ws/fleet-runs/{run_id}/" + (f"?after={after}" if after is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _frames(communicator, until_seq):
    seqs = []
    while not seqs or seqs[-1] < until_seq:
        message = await communicator.receive_json_from(timeout=2)
        if message["type"] == "events":
            seqs += [f["seq"] for f in message["events"]]
    return seqs


async def test_an_unknown_fleet_run_is_refused_with_4404(in_memory_layer):
    communicator = WebsocketCommunicator(application, "/ws/fleet-runs/4242/", headers=ORIGIN)
    assert await close_code(communicator) == CLOSE_RUN_NOT_FOUND


async def test_it_replays_stored_frames_after_the_given_seq_then_the_status(
    viewer, user, in_memory_layer
):
    run = await _make_run(user, stored=6, status=RunStatus.DONE)
    communicator, connected, _ = await _connect(run.pk, after=2, headers=viewer)
    assert connected and await _frames(communicator, 6) == [3, 4, 5, 6]
    assert await communicator.receive_json_from() == {
        "type": "status",
        "status": "done",
        "error": "",
    }
    await communicator.disconnect()


async def test_it_relays_live_frames_once_and_fills_gaps_from_the_database(
    viewer, user, in_memory_layer
):
    run = await _make_run(user, stored=2)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert await _frames(communicator, 2) == [1, 2]
    await communicator.receive_json_from()  # status
    layer = get_channel_layer()
    await layer.group_send(f"fleet.{run.pk}", events_message([_frame(2), _frame(3)]))
    assert await _frames(communicator, 3) == [3]
    for seq in (4, 5):  # stored, but their message was lost
        await sync_to_async(FleetRunMessage.objects.create)(
            run=run, seq=seq, payload={"kind": "frame", "t_s": 1.0}
        )
    await layer.group_send(f"fleet.{run.pk}", events_message([_frame(5)]))
    assert await _frames(communicator, 5) == [4, 5]
    await communicator.disconnect()


async def test_single_vm_run_groups_do_not_leak_into_a_fleet_run(viewer, user, in_memory_layer):
    run = await _make_run(user)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    await communicator.receive_json_from()  # status
    await get_channel_layer().group_send(f"run.{run.pk}", events_message([_frame(1)]))
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_whole_fleet_run_streams_through_the_publisher_to_the_socket(
    viewer, user, in_memory_layer
):
    from playground.runs.pipeline import execute_run

    run = await sync_to_async(FleetRun.objects.create)(scenario=tiny(), owner=user)
    communicator, _, _ = await _connect(run.pk, headers=viewer)
    assert (await communicator.receive_json_from())["status"] == "queued"
    await sync_to_async(execute_run)(kind="fleet", run_id=run.pk)
    total = await sync_to_async(FleetRunMessage.objects.filter(run=run).count)()
    assert await _frames(communicator, total) == list(range(1, total + 1))
    await communicator.disconnect()
