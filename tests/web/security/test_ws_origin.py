"""The WebSocket Origin check compares scheme, host and port (``playground/ops/origins.py``):
the page's own origin (the request's ``Host``, ``http`` for ``ws``, ``https`` for ``wss``), or
one in ``PLAYGROUND_ALLOWED_ORIGINS`` / ``CSRF_TRUSTED_ORIGINS``. Channels'
``AllowedHostsOriginValidator`` used to pass any port and any scheme of an allowed host."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.ops.origins import origin_allowed


def scope(origin: str | None, host: str | None = "127.0.0.1:5555", scheme: str = "ws") -> dict:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


def test_the_pages_own_origin_is_allowed_on_any_port():
    assert origin_allowed(scope("http://127.0.0.1:5555"))
    assert origin_allowed(scope("http://localhost:41234", host="localhost:41234"))
    assert origin_allowed(scope("https://127.0.0.1:5555", scheme="wss"))


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:6666",  # another port of the same host: another origin
        "https://127.0.0.1:5555",  # another scheme
        "http://127.0.0.1",  # the default port is not 5555
        "http://evil.example",
        "null",
        "",
        "file://",
        "http://127.0.0.1:5555.evil.example",
    ],
)
def test_another_port_scheme_or_site_is_refused(origin):
    assert not origin_allowed(scope(origin))


def test_no_origin_is_refused():
    assert not origin_allowed(scope(None))


def test_a_host_header_outside_allowed_hosts_proves_nothing():
    """DNS rebinding: evil.example resolved to us; the page and the Host agree, but the host is
    not ours."""
    assert not origin_allowed(scope("http://evil.example:5555", host="evil.example:5555"))


def test_the_configured_origins_are_allowed_exactly(settings):
    settings.PLAYGROUND_ALLOWED_ORIGINS = ["http://127.0.0.1:8000"]  # ./run's default, embedded
    assert origin_allowed(scope("http://127.0.0.1:8000", host=None))  # no Host: the list only
    assert not origin_allowed(scope("http://127.0.0.1:8001", host=None))
    settings.PLAYGROUND_ALLOWED_ORIGINS = ["https://playground.example"]
    assert origin_allowed(scope("https://playground.example", host="10.0.0.5:8000"))
    assert not origin_allowed(scope("http://playground.example", host="10.0.0.5:8000"))
    assert not origin_allowed(scope("https://playground.example:444", host="10.0.0.5:8000"))


def test_csrf_trusted_origins_count_with_their_subdomain_wildcards(settings):
    settings.PLAYGROUND_ALLOWED_ORIGINS = []
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org"]
    assert origin_allowed(scope("https://class.example.org", host=None))
    assert not origin_allowed(scope("http://class.example.org", host=None))
    assert not origin_allowed(scope("https://example.org.evil.net", host=None))


def test_behind_a_tls_proxy_the_forwarded_scheme_counts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = scope("https://127.0.0.1:5555")
    proxied["headers"].append((b"x-forwarded-proto", b"https"))
    assert origin_allowed(proxied)
    assert not origin_allowed(scope("https://127.0.0.1:5555"))  # no header: plain http


@pytest.mark.asyncio
async def test_the_asgi_app_refuses_another_port_before_any_consumer():
    communicator = WebsocketCommunicator(
        application,
        "/ws/runs/1/",
        headers=[(b"origin", b"http://127.0.0.1:6666"), (b"host", b"127.0.0.1:5555")],
    )
    connected, _ = await communicator.connect()
    assert not connected  # the handshake is refused (daphne answers HTTP 403)
