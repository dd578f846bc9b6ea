"""The WebSocket boundaries: a run's stream and a fleet run's stream belong to their owner. The
consumers check in ``connect`` (``access``, with the session and user ``AuthMiddlewareStack``
puts in the scope); anyone else is closed with 4404 before the socket is accepted, exactly like
an unknown run. The Origin is checked before that (``AllowedHostsOriginValidator``)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.accounts.access import VISITOR_SESSION_KEY, Visitor
from playground.asgi import application
from playground.runs.consumers import CLOSE_RUN_NOT_FOUND

from ..support import close_code, session_cookie, ws_headers
from .conftest import things_of

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

STREAMS = {"run stream": ("runs", "run"), "fleet run stream": ("fleet-runs", "fleet_run")}


def _path(name, things):
    prefix, attr = STREAMS[name]
    return f"/ws/{prefix}/{getattr(things, attr).pk}/"


async def _open(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _refused(path, headers) -> int | None:
    """The close code a viewer gets (None: the stream stayed open)."""
    return await close_code(WebsocketCommunicator(application, path, headers=headers))


@pytest.fixture(autouse=True)
def _layer(in_memory_layer):
    return in_memory_layer


@pytest.fixture
def alices_things(alice):
    return things_of(alice)


async def _watch_whole_stream(communicator):
    """Events until the final status: what an accepted viewer gets."""
    kinds = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        kinds.append(message["type"])
        if message["type"] == "status":
            return kinds


@pytest.mark.parametrize("name", STREAMS)
async def test_the_owner_watches(name, alices_things, user):
    communicator, connected, _ = await _open(
        _path(name, alices_things), await sync_to_async(ws_headers)(user)
    )
    assert connected
    assert await _watch_whole_stream(communicator) == ["events", "status"]
    await communicator.disconnect()


@pytest.mark.parametrize("name", STREAMS)
async def test_staff_watch(name, alices_things, staff):
    communicator, connected, _ = await _open(
        _path(name, alices_things), await sync_to_async(ws_headers)(staff)
    )
    assert connected
    await communicator.disconnect()


@pytest.mark.parametrize("name", STREAMS)
async def test_a_signed_in_stranger_is_closed_with_4404(name, alices_things, bob):
    headers = await sync_to_async(ws_headers)(bob)
    assert await _refused(_path(name, alices_things), headers) == CLOSE_RUN_NOT_FOUND


@pytest.mark.parametrize("name", STREAMS)
async def test_an_anonymous_visitor_is_closed_with_4404(name, alices_things):
    assert await _refused(_path(name, alices_things), ws_headers()) == CLOSE_RUN_NOT_FOUND


def _anonymous_session(key: str) -> str:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[VISITOR_SESSION_KEY] = key
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


@pytest.mark.parametrize("name", STREAMS)
async def test_an_anonymous_owner_watches_with_the_session_that_made_it(name):
    things = await sync_to_async(things_of)(Visitor(None, "anon-key-123"))
    cookie = await sync_to_async(_anonymous_session)("anon-key-123")
    communicator, connected, _ = await _open(
        _path(name, things), ws_headers() + [(b"cookie", cookie.encode())]
    )
    assert connected
    await communicator.disconnect()
    other = await sync_to_async(_anonymous_session)("another-visitor")
    headers = ws_headers() + [(b"cookie", other.encode())]
    assert await _refused(_path(name, things), headers) == CLOSE_RUN_NOT_FOUND


@pytest.mark.parametrize("name", STREAMS)
async def test_a_page_of_another_site_may_not_open_one_even_with_the_owners_cookie(
    name, alices_things, user
):
    cookie = await sync_to_async(session_cookie)(user)
    for origin in ([(b"origin", b"http://evil.example")], [(b"origin", b"null")], []):  # [] : none
        communicator = WebsocketCommunicator(
            application, _path(name, alices_things), headers=origin + [(b"cookie", cookie.encode())]
        )
        connected, _ = await communicator.connect()
        assert not connected, origin


async def test_an_unknown_run_and_someone_elses_close_the_same_way(alices_things, bob):
    headers = await sync_to_async(ws_headers)(bob)
    theirs = await _refused(_path("run stream", alices_things), headers)
    missing = await _refused("/ws/runs/999999/", headers)
    assert theirs == missing == CLOSE_RUN_NOT_FOUND


@pytest.mark.parametrize(
    "path", ["/ws/plans/1/", "/ws/fleet-runs/abc/", "/ws/sweeps/1/", "/ws/", "/ws/runs/1/x/"]
)
async def test_a_stream_that_does_not_exist_closes_with_4404_not_an_error(path, user):
    """No route: the same close code as an unknown run (the router used to raise, a 500)."""
    headers = await sync_to_async(ws_headers)(user)
    assert await _refused(path, headers) == CLOSE_RUN_NOT_FOUND
