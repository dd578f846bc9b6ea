"""Limits on what one visitor may ask of the server: how often they start runs and sweeps (a
sliding window per user, or per anonymous session and per client address), and how big a
request body may be. Input *values* are checked by the forms (``forms.py``, ``fleet_forms.py``)
and the model's own validation; what a run may cost the worker is capped in the services
(``services.RunBudget``).

Settings (environment variables of the same name, see README "Accounts and limits"):

- ``PLAYGROUND_RUNS_PER_MINUTE`` (20): single-VM runs, fleet runs (an approved plan), a VM's
  anatomy run and rehearsals started in any 60 s, per user or anonymous session;
- ``PLAYGROUND_SWEEPS_PER_HOUR`` (10): sweeps started in any hour;
- ``PLAYGROUND_PLANS_PER_MINUTE`` (10): new plans (a scenario not planned yet) a worker computes;
- ``PLAYGROUND_FLEETS_PER_HOUR`` (60): fleets saved (from a preset, an upload or the form) in any
  hour: each is a stored scenario, up to megabytes for an upload listing its VMs;
- ``PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE`` (20): scenarios read and validated (an upload, a
  fleet form saved, new or edited) in any 60 s, refused or not: each costs up to seconds of CPU
  for a scenario listing its VMs, so a refusal counts too;
- ``PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR`` (3): all anonymous sessions from one client address
  together get this many times the budget (a script that drops its cookies is still limited);
- ``PLAYGROUND_MAX_REQUEST_BYTES`` (4 MiB): a bigger request body gets 413 before Django
  reads it.

A limit of 0 switches that limit off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from . import access

RUNS, SWEEPS, SIGNUPS, PLANS, FLEETS = "runs", "sweeps", "signups", "plans", "fleets"
CHECKS = "checks"
NOUNS = {
    RUNS: "runs",
    SWEEPS: "sweeps",
    SIGNUPS: "accounts",
    PLANS: "new plans",
    FLEETS: "fleets",
    CHECKS: "scenarios to check",
}
VERBS = {
    RUNS: "started",
    SWEEPS: "started",
    SIGNUPS: "created",
    PLANS: "asked for",
    FLEETS: "saved",
    CHECKS: "sent",
}


@dataclass(frozen=True)
class Budget:
    limit: int
    window_s: int

    @property
    def per(self) -> str:
        return {60: "minute", 3600: "hour"}.get(self.window_s, f"{self.window_s} s")


def budget(bucket: str) -> Budget:
    if bucket == RUNS:
        return Budget(settings.PLAYGROUND_RUNS_PER_MINUTE, 60)
    if bucket == SWEEPS:
        return Budget(settings.PLAYGROUND_SWEEPS_PER_HOUR, 3600)
    if bucket == SIGNUPS:
        return Budget(settings.PLAYGROUND_SIGNUPS_PER_HOUR, 3600)
    if bucket == PLANS:
        return Budget(settings.PLAYGROUND_PLANS_PER_MINUTE, 60)
    if bucket == FLEETS:
        return Budget(settings.PLAYGROUND_FLEETS_PER_HOUR, 3600)
    if bucket == CHECKS:
        return Budget(settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE, 60)
    raise ValueError(f"unknown rate-limit bucket {bucket!r}")


class RateLimited(Exception):
    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


def client_address(request: HttpRequest) -> str:
    """The peer's address as the server sees it (daphne ``--proxy-headers`` puts the
    forwarded client here when a proxy sits in front)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _keys(request: HttpRequest, bucket: str) -> list[tuple[str, int, str]]:
    """(key, limit, who) for each window this request counts in."""
    allowed = budget(bucket).limit
    if bucket == SIGNUPS:  # nobody is signed in yet: the address is all there is
        return [(f"addr:{client_address(request)}", allowed, "Visitors from your address")]
    visitor = access.counted_as(request)  # (stores nothing: ``claim`` does, if it is made)
    if visitor.signed_in:
        return [(f"user:{visitor.user_id}", allowed, "You")]
    return [
        (f"visitor:{visitor.key}", allowed, "You"),
        (
            f"addr:{client_address(request)}",
            allowed * max(1, settings.PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR),
            "Anonymous visitors from your address",
        ),
    ]


def check(request: HttpRequest, bucket: str) -> None:
    """Count one start of ``bucket`` for this visitor, or raise ``RateLimited`` (nothing
    counted) when a window is full. Call it just before starting the thing."""
    allowed = budget(bucket)
    if allowed.limit <= 0:
        return
    hit(bucket, _keys(request, bucket), allowed)


def ensure_room(request: HttpRequest, bucket: str) -> None:
    """Raise ``RateLimited`` when a window of ``bucket`` is already full, counting nothing: for
    a request whose costly part comes before its ``check`` (an upload of megabytes is read and
    validated before it can be counted as a saved fleet; over the limit, each such request
    still cost seconds of CPU before its 429)."""
    allowed = budget(bucket)
    if allowed.limit <= 0:
        return
    _refuse_if_full(bucket, _keys(request, bucket), allowed, timezone.now())


def _refuse_if_full(bucket: str, keys: list[tuple[str, int, str]], allowed: Budget, now) -> None:
    """Raise ``RateLimited`` for the first key whose window (up to ``now``) already holds its
    limit of hits: the one rule for ``ensure_room`` and ``hit``."""
    from .models import RateLimitHit

    since = now - timedelta(seconds=allowed.window_s)
    for key, limit, who in keys:
        times = list(
            RateLimitHit.objects.filter(bucket=bucket, key=key, at__gt=since)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(times) >= limit:
            raise _refusal(bucket, key, limit, who, times[-1], since, allowed)


def _refusal(bucket, key, limit, who, oldest, since, allowed: Budget) -> RateLimited:
    retry = max(1, math.ceil((oldest - since).total_seconds()))
    signin = (
        "; signed-in users have their own budget"
        if key.startswith("visitor:") or (key.startswith("addr:") and bucket != SIGNUPS)
        else ""
    )
    return RateLimited(
        f"{who} {VERBS[bucket]} {limit} {NOUNS[bucket]} in the last {allowed.per} "
        f"(the limit{signin}). Try again in {in_words(retry)}.",
        retry,
    )


def hit(bucket: str, keys: list[tuple[str, int, str]], allowed: Budget) -> None:
    """Count one hit for each ``(key, limit, who)``, or none and raise ``RateLimited`` when
    one of them is full. Atomic: of N concurrent calls at a limit of L, exactly L pass (in any
    process). The count and the insert run under a lock held to the commit: PostgreSQL's
    advisory transaction lock per key (READ COMMITTED alone would let concurrent transactions
    each count without seeing the others' inserts); SQLite's one write lock, taken up front by
    the first statement (a DELETE; the project's IMMEDIATE transactions take it at BEGIN)."""
    from .models import RateLimitHit

    now = timezone.now()
    since = now - timedelta(seconds=allowed.window_s)
    names = [key for key, _, _ in keys]
    with transaction.atomic():
        _lock(bucket, names)
        # hits out of the window count for nobody (and a write first: SQLite's lock, now)
        RateLimitHit.objects.filter(bucket=bucket, key__in=names, at__lte=since).delete()
        _refuse_if_full(bucket, keys, allowed, now)
        RateLimitHit.objects.bulk_create(
            RateLimitHit(bucket=bucket, key=key, at=now) for key in names
        )
    _purge(bucket, since)


def _lock(bucket: str, names: list[str]) -> None:
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in sorted(set(names)):  # one order for everyone: no deadlock
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"playground.limits:{bucket}:{name}"],
            )


def _purge(bucket: str, since) -> None:
    """Everyone's hits out of the window go (the table only ever holds the last window's);
    on PostgreSQL rows another transaction holds are left for the next time (no waiting, no
    deadlock between two purges)."""
    from .models import RateLimitHit

    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        table = RateLimitHit._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE "
                "bucket = %s AND at <= %s FOR UPDATE SKIP LOCKED)",
                [bucket, since],
            )
    else:
        RateLimitHit.objects.filter(bucket=bucket, at__lte=since).delete()


def in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    return f"{math.ceil(seconds / 60)} min"


def too_many(
    request: HttpRequest,
    error: RateLimited,
    template: str | None = None,
    context: dict | None = None,
) -> HttpResponse:
    """HTTP 429 with the message (in ``template`` when given, e.g. the form with the message
    at its top, else a small page) and ``Retry-After``."""
    if template is None:
        template, context = "429.html", {"message": error.message}
    response = render(request, template, context or {}, status=429)
    response["Retry-After"] = str(error.retry_after_s)
    return response


def in_form(error: RateLimited, form, page) -> HttpResponse:
    """HTTP 429: ``page(status)``, the page of ``form``, with the message at the form's top (to
    try again later), and ``Retry-After``."""
    form.add_error(None, error.message)
    response = page(429)
    response["Retry-After"] = str(error.retry_after_s)
    return response


# --- request bodies -------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class RequestBodyLimit:
    """ASGI middleware: an HTTP request whose body is over ``PLAYGROUND_MAX_REQUEST_BYTES``
    (by its Content-Length, or counted as it arrives when chunked) gets 413 and is never
    spooled whole (Django's ASGI handler would read any size to a temporary file first)."""

    def __init__(self, app, limit: int | None = None):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        limit = self.limit if self.limit is not None else settings.PLAYGROUND_MAX_REQUEST_BYTES
        if scope["type"] != "http" or limit <= 0:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        try:
            if declared and int(declared) > limit:
                return await _refuse(send, limit, scope)
        except ValueError:
            return await _refuse(send, limit, scope, status=400, text="Bad Content-Length")
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        async def watching_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit, scope)


CLOSE_TOO_MANY_SOCKETS = 4429


class WebSocketsPerClient:
    """ASGI middleware: at most ``PLAYGROUND_WEBSOCKETS_PER_CLIENT`` WebSockets open at once from
    one client address in this process (0: no limit). One more is accepted and closed at once
    with 4429 (a browser sees a close code only on a socket that opened), which the page says in
    words and does not retry. Each open socket costs the process memory and a place in its
    groups; without a cap one visitor could open them by the thousand. The default leaves room
    for a lecture hall behind one address."""

    def __init__(self, app):
        self.app = app
        self.open: dict[str, int] = {}

    async def __call__(self, scope, receive, send):
        limit = settings.PLAYGROUND_WEBSOCKETS_PER_CLIENT
        if scope["type"] != "websocket" or limit <= 0:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        if self.open.get(client, 0) >= limit:
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TOO_MANY_SOCKETS})
            return None
        self.open[client] = self.open.get(client, 0) + 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.open[client] -= 1
            if not self.open[client]:
                del self.open[client]


async def _refuse(send, limit: int, scope, status: int = 413, text: str | None = None) -> None:
    """The refusal, as JSON for a JSON endpoint (a path ending in ``.json``), else our page."""
    import json

    from migrationsim.bounded import size_in_words
    from playground.ops.errors import answer

    text = text or f"Request body too large: at most {size_in_words(limit)}."
    if scope.get("path", "").endswith(".json"):
        body, kind = json.dumps({"error": text, "field": ""}).encode(), b"application/json"
    else:
        body, kind = answer(None, status, text).content, b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def axes_client_ip(request) -> str | None:
    """django-axes' client address (``AXES_CLIENT_IP_CALLABLE``): ``client_address``, or None
    when it is not an IP address (a request made up by ``force_login``, a test)."""
    import ipaddress

    address = client_address(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address
