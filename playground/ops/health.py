"""``GET /healthz``: is this process able to serve? Checks the database (``SELECT 1``), the
Celery broker (a connection, and a ``PING`` on Redis or a writable queue folder for the
filesystem transport) and the channel layer (a message sent to a fresh channel and received
back), each within ``PLAYGROUND_HEALTH_TIMEOUT_S``, concurrently.

200 with ``{"status": "ok", "checks": {"database": {"ok": true, "ms": 1.3}, ...}}``, or 503 with
``"status": "fail"`` and the failing check's ``error``: a sentence saying what is down, never
the exception's text (it can hold hosts, paths or credentials); the log has that, with the
traceback (logger ``playground.ops.health``). Point a load balancer or an uptime
check at it; it does not need a session or a CSRF token and it stores nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

DOWN = {
    "database": "the database did not answer",
    "broker": "the Celery broker did not answer",
    "channel_layer": "the channel layer did not pass a message back",
}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 did not return 1")


def _broker() -> None:
    from kombu import Connection

    timeout = settings.PLAYGROUND_HEALTH_TIMEOUT_S
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out"):
            folder = options.get(key)
            if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise RuntimeError(f"the queue folder {folder!r} is not a writable directory")
    else:
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=timeout
    ) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        client = getattr(conn.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()  # Redis


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("health.")
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "health.ping", "nonce": nonce})
    message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned another message")


async def _timed(name: str, check) -> tuple[str, dict]:
    start = time.monotonic()
    try:
        await asyncio.wait_for(check(), settings.PLAYGROUND_HEALTH_TIMEOUT_S)
    except TimeoutError:
        log.warning(
            "health check %s: no answer within %g s", name, settings.PLAYGROUND_HEALTH_TIMEOUT_S
        )
        return name, {
            "ok": False,
            "ms": _ms(start),
            "error": f"{DOWN[name]} within {settings.PLAYGROUND_HEALTH_TIMEOUT_S:g} s",
        }
    except Exception:
        log.warning("health check %s failed", name, exc_info=True)
        return name, {
            "ok": False,
            "ms": _ms(start),
            "error": f"{DOWN[name]} (the server log says why)",
        }
    return name, {"ok": True, "ms": _ms(start)}


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


@never_cache
@require_safe
async def healthz(request):
    checks = dict(
        await asyncio.gather(
            _timed("database", sync_to_async(_database)),
            _timed("broker", sync_to_async(_broker, thread_sensitive=False)),
            _timed("channel_layer", _channel_layer),
        )
    )
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
