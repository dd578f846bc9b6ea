"""The WebSocket Origin check: the page that opens a socket must be of this site, compared as
scheme, host and port (Channels' ``AllowedHostsOriginValidator`` compared the host only, so
``https://127.0.0.1:6666`` passed for a server on ``http://127.0.0.1:8000``).

Allowed, as Django's CSRF origin check does it for forms:

1. the same origin as the request: ``http://`` (``https://`` for ``wss``, or behind a TLS
   proxy that says so) plus the ``Host`` header, when that host is in ``ALLOWED_HOSTS``;
2. an origin listed in ``PLAYGROUND_ALLOWED_ORIGINS`` or ``CSRF_TRUSTED_ORIGINS``
   (``https://*.example.com`` covers subdomains). ``PLAYGROUND_ALLOWED_ORIGINS`` defaults to
   ``http://<host>:<PORT>`` for each allowed host in embedded mode (``./run``'s port, 8000),
   ``https://<host>`` in production.

No Origin, ``null`` or anything else: the handshake is refused (HTTP 403), before the consumer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


def _secure(scope) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, value = proxy
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode()
        return _header(scope, name).split(",")[0].strip() == value
    return False


def allowed_origins() -> list[str]:
    return [
        o.lower().rstrip("/")
        for o in [*settings.PLAYGROUND_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS]
    ]


def origin_allowed(scope) -> bool:
    origin = _header(scope, b"origin").lower().rstrip("/")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = _header(scope, b"host").lower()
    domain, _ = split_domain_port(host) if host else ("", "")
    if host and domain and validate_host(domain, settings.ALLOWED_HOSTS):
        same = f"{'https' if _secure(scope) else 'http'}://{host}"
        if origin == same:
            return True
    allowed = allowed_origins()
    if origin in allowed:
        return True
    for pattern in allowed:  # https://*.example.com: that scheme, any subdomain, its port
        if "://*." not in pattern:
            continue
        scheme, rest = pattern.split("://*.", 1)
        if parts.scheme == scheme and parts.netloc.endswith("." + rest):
            return True
    return False


class OriginValidator:
    """ASGI middleware for the ``websocket`` protocol: refuses a handshake whose Origin is not
    allowed (``origin_allowed``)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
