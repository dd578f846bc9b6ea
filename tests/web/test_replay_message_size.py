"""A viewer who opens a finished run catches up from the database in pages of stored events;
daphne refuses to send a WebSocket message over 1 MiB (autobahn's PayloadExceededError, and
the consumer dies). The region preset's 200-frame page was 5 MB: its page, reopened after the
run, stayed empty while the browser reconnected forever. A page goes out in messages under the
limit, every frame once and in order."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.fleets.models import FleetRun, FleetRunMessage
from playground.runs.models import RunStatus

from .fleet_support import tiny
from .support import ws_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
DAPHNE_MAX_MESSAGE_BYTES = 1024 * 1024  # daphne's default websocket_max_message_size
FRAMES = 12
FRAME_PADDING = 200_000  # a region's frame is ~26 kB; 12 of these make a 2.4 MB page


@pytest.fixture
def viewer(user):
    return ws_headers(user)


@sync_to_async
def _finished_run(owner):
    run = FleetRun.objects.create(scenario=tiny(), status=RunStatus.DONE, owner=owner)
    for seq in range(1, FRAMES + 1):
        payload = {"kind": "frame", "t_s": 60.0 * seq, "pad": "x" * FRAME_PADDING}
        FleetRunMessage.objects.create(run=run, seq=seq, payload=payload)
    return run


async def test_a_replayed_page_goes_out_in_messages_daphne_can_send(user, viewer, in_memory_layer):
    run = await _finished_run(user)
    communicator = WebsocketCommunicator(
        application, f"/ws/fleet-runs/{run.pk}/?after=0", headers=viewer
    )
    connected, _ = await communicator.connect()
    assert connected
    seqs, sizes = [], []
    while True:
        text = await communicator.receive_from(timeout=5)
        message = json.loads(text)
        if message["type"] == "status":
            assert message["status"] == "done"
            break
        sizes.append(len(text.encode()))
        seqs += [event["seq"] for event in message["events"]]
    assert seqs == list(range(1, FRAMES + 1))
    assert len(sizes) > 1 and max(sizes) <= DAPHNE_MAX_MESSAGE_BYTES, sizes
    await communicator.disconnect()
