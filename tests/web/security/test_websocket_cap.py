"""One client address may hold at most ``PLAYGROUND_WEBSOCKETS_PER_CLIENT`` WebSockets open at
once in a web process: one more is closed with 4429 at once (the page says why and does not
retry); closing one makes room again, and other addresses are not affected."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from playground.accounts.limits import CLOSE_TOO_MANY_SOCKETS
from playground.asgi import application

from ..support import close_code

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


def _socket(address: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/runs/4242/", headers=ORIGIN)
    communicator.scope["client"] = [address, 50000]
    return communicator


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_one_socket_over_the_cap_is_closed_with_4429_and_a_closed_one_makes_room(
    settings, in_memory_layer
):
    settings.PLAYGROUND_WEBSOCKETS_PER_CLIENT = 2
    settings.ALLOWED_HOSTS = ["testserver"]
    first, second = _socket("10.0.0.1"), _socket("10.0.0.1")
    # an unknown run: the consumer accepts and closes with 4404, but only when asked to connect;
    # until the communicator's connection ends, the middleware counts it as open
    await first.send_input({"type": "websocket.connect"})
    await second.send_input({"type": "websocket.connect"})
    await first.receive_output(timeout=2)
    await second.receive_output(timeout=2)
    third = _socket("10.0.0.1")
    assert await close_code(third) == CLOSE_TOO_MANY_SOCKETS
    assert await close_code(_socket("10.0.0.2")) == 4404  # another address: the consumer answers
    await first.disconnect()
    await first.wait()
    assert await close_code(_socket("10.0.0.1")) != CLOSE_TOO_MANY_SOCKETS
    await second.disconnect()
