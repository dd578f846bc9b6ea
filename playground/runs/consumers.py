"""The one WebSocket consumer, for every kind of run: ``/ws/runs/<id>/?after=<seq>`` (a single
VM's events), ``/ws/fleet-runs/<id>/?after=<seq>`` (a fleet's progress frames). The route names
the kind (``RunConsumer.as_asgi(kind=...)``); everything else is the same.

It only relays. On connect it checks that the run exists and that this visitor may watch it
(``playground/accounts/access.py``: the owner, staff, or who opened its share link; anyone else gets the same close code 4404 as
for a run that does not exist; the Origin is checked before, in ``asgi.py``), joins the
run's group *before* reading the database, replays the stored events after ``after``, then
relays the live tail, dropping any event it already sent (sequence numbers make that exact) and
filling any gap from the database. Nothing is lost, nothing is doubled.

Relaying is cheap, because one process may hold hundreds of viewers of one run: the publisher
encodes each batch once (``publisher.events_message``) and the consumer sends that text as it
is when it follows what its viewer has (decoding it only to drop an overlap); the group
messages skip Channels' ``dispatch`` wrapper, whose ``aclose_old_connections`` is a hop to the
one shared sync thread per viewer and message (the database is read, through that thread, only
to fill a gap or replay).

Connecting is cheap too (a classroom opens the run at once): the reads of a connect (the run's
owner fields, its status, the replay's pages) are shared by the viewers asking for the same at
the same time (``shared_reads.fresh``: one read per run answers all who asked while the one
before ran, and no read answers a viewer who asked after it began), the decision who may watch is
made per viewer from the row read (``access.may_watch``), and the reaper is asked at most every
``PLAYGROUND_REAP_INTERVAL_S`` per run and process.

While the run is not finished and its stream is quiet (nothing relayed for
``PLAYGROUND_VIEWER_RESYNC_S``), it also re-joins the group and reads the database, about
every ``PLAYGROUND_VIEWER_RESYNC_S`` (jittered, so that viewers who connected together do not
check together): a group lost with a Redis restart, or a message dropped, costs a pause, not
the rest of the stream. On connect it asks the reaper about its run (a run whose worker died is
queued again or failed: ``playground/leases.py``).

Messages to the browser: ``{"type": "events", "events": [...]}`` and
``{"type": "status", "status": ..., "error": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from functools import cached_property, partial
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from playground.accounts import access
from playground.ops.ids import whole_number

from . import kinds, leases, shared_reads
from .models import group_name_for
from .publisher import EVENTS_MESSAGE, STATUS_MESSAGE, events_message

log = logging.getLogger(__name__)
FINISHED = ("done", "failed")

CLOSE_RUN_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400

RESYNC_JITTER = 0.5  # a check waits the resync period times 1 +/- this, at random


def resync_delay_s(period_s: float) -> float:
    """How long a viewer waits before its next check: about ``period_s``, never in step with the
    viewers who connected at the same moment."""
    return period_s * random.uniform(1 - RESYNC_JITTER, 1 + RESYNC_JITTER)


async def _may_watch(model, run_id: int, scope) -> bool:
    """The one check: ``access`` decides for the scope's user and session (its owner's, or
    opened through its share link: watching is read only), on the run's owner fields read once
    for every viewer connecting at the same time."""
    run = await shared_reads.fresh(
        ("owner", model._meta.label, run_id), partial(_owner, model, run_id)
    )
    return run is not None and access.may_watch(await access.afor_scope(scope), run)


def _owner(model, run_id: int):
    """The run's row with what ``access.may_watch`` needs (``owner_id``, ``visitor_key``) and
    nothing else; None if there is no such run."""
    return model.objects.filter(pk=run_id).only("pk", "owner_id", "visitor_key").first()


async def _status(model, run_id: int) -> tuple[str, str] | None:
    return await shared_reads.fresh(
        ("status", model._meta.label, run_id), partial(_read_status, model, run_id)
    )


def _read_status(model, run_id: int) -> tuple[str, str] | None:
    row = model.objects.filter(pk=run_id).values_list("status", "error").first()
    return tuple(row) if row else None


# daphne (autobahn) refuses to send a WebSocket message over 1 MiB (its default
# websocket_max_message_size) and the consumer dies with it: a replayed page of a region's
# frames (200 of them, 5 MB) never reached the browser, whose page stayed empty. A page is sent
# in messages of at most this many bytes (an event bigger than that alone goes alone).
MAX_MESSAGE_BYTES = 512 * 1024


class _Page:
    """Stored events as the viewers replaying them get them: read once and encoded once for all
    the viewers who connected together (they share it: read only)."""

    def __init__(self, events: list[dict]):
        self.events = events

    @cached_property
    def text(self) -> str:
        return events_message(self.events)["text"]  # the browser's message, as the publisher's

    @cached_property
    def texts(self) -> list[str]:
        """The page as messages of at most ``MAX_MESSAGE_BYTES`` each, in order."""
        return _split(self.events, self.text)


def _split(events: list[dict], text: str) -> list[str]:
    if len(events) == 1 or len(text.encode()) <= MAX_MESSAGE_BYTES:
        return [text]
    half = len(events) // 2
    first, second = events[:half], events[half:]
    return _split(first, events_message(first)["text"]) + _split(
        second, events_message(second)["text"]
    )


async def _events_after(model, run_id: int, seq: int, limit: int) -> _Page:
    key = ("events", model._meta.label, run_id, seq, limit)
    return await shared_reads.fresh(key, partial(_read_events_after, model, run_id, seq, limit))


def _read_events_after(model, run_id: int, seq: int, limit: int) -> _Page:
    return _Page(model(pk=run_id).events_after(seq, limit=limit))


async def _reap(kind: str, run_id: int) -> None:
    """Ask the reaper about this run, at most every ``PLAYGROUND_REAP_INTERVAL_S`` in this
    process (the viewers connecting meanwhile wait for that one)."""
    interval_s = settings.PLAYGROUND_REAP_INTERVAL_S
    await shared_reads.at_most_every(
        ("reap", kind, run_id), interval_s, partial(_reap_now, kind, run_id)
    )


def _reap_now(kind: str, run_id: int) -> None:
    try:
        leases.reap(only=(kind, run_id))
    except Exception:  # best effort: the workers reap too
        log.exception("reaper check failed", extra={"run_id": run_id})


class RunConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    sent_status: str | None = None
    _resync: asyncio.Task | None = None
    last_relayed = -math.inf  # time.monotonic() of the last group message relayed

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind  # from the route: ``RunConsumer.as_asgi(kind="run")``

    async def connect(self) -> None:
        self.spec = kinds.get(self.kind)
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = query.get("after", ["0"])[0] or "0"
        seq = whole_number(after.removeprefix("-"))  # a negative one: from the start
        if seq is None:
            await self._refuse(CLOSE_BAD_REQUEST)
            return
        self.last_seq = 0 if after.startswith("-") else seq
        if not await _may_watch(self.spec.model, self.run_id, self.scope):
            await self._refuse(CLOSE_RUN_NOT_FOUND)  # unknown, or someone else's: the same
            return
        await _reap(self.kind, self.run_id)
        self.lock = asyncio.Lock()
        self.group = group_name_for(self.kind, self.run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)  # before the replay
        await self.accept()
        status = await self._catch_up()
        if status not in FINISHED and settings.PLAYGROUND_VIEWER_RESYNC_S > 0:
            self._resync = asyncio.create_task(self._resync_loop())

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code``: a browser only sees a close code on a socket that
        opened (a handshake refused before ``accept`` reaches it as HTTP 403, code 1006)."""
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self._resync is not None:
            self._resync.cancel()
            with contextlib.suppress(BaseException):
                await self._resync
        if self.group:
            with contextlib.suppress(Exception):  # the layer may be what went away
                await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message: dict) -> None:
        """Every message goes straight to its handler: Channels' ``dispatch`` would first hop to
        the shared sync thread (``aclose_old_connections``) for each, per viewer: for every
        group message, and for each connect and disconnect (a classroom connecting at once
        queued there one viewer after another). None needs it: what reads the database does
        so through ``database_sync_to_async`` (``shared_reads``), which closes old connections
        itself."""
        if message["type"] == EVENTS_MESSAGE:
            await self.run_events(message)
        elif message["type"] == STATUS_MESSAGE:
            await self.run_status(message)
        else:  # websocket.connect, websocket.receive, websocket.disconnect
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)

    async def _resync_loop(self) -> None:
        period_s = settings.PLAYGROUND_VIEWER_RESYNC_S
        while True:
            await asyncio.sleep(resync_delay_s(period_s))
            if time.monotonic() - self.last_relayed < period_s:
                continue  # the stream flows: the group is there, a gap shows on the next message
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except Exception:
                log.warning("could not re-join %s", self.group)
            if await self._catch_up() in FINISHED:
                return

    async def _catch_up(self) -> str:
        """Send what is stored and, if it changed, the status; returns the status. The status
        is read *before* the replay: a run's events are stored before it is marked finished,
        so a finished status read first means the replay holds every event (read after, a run
        that ended in between would say "done" ahead of its last events). It is read and sent
        under the lock, as a status message is: a "running" read here cannot go out after a
        "done" relayed in between (a viewer saw done, running, done)."""
        async with self.lock:
            status, error = await _status(self.spec.model, self.run_id)
            await self._replay()
            await self._send_status(status, error)
        return status

    async def _send_status(self, status: str, error: str) -> None:
        """Send a status, unless it is the one sent last or the run was already said to be
        finished: a finished run never runs again, so a status that is not finished after one
        is a late message or a stale read, never news."""
        if status == self.sent_status or (self.sent_status in FINISHED and status not in FINISHED):
            return
        self.sent_status = status
        await self.send_json({"type": "status", "status": status, "error": error})

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The browser only listens: whatever a client sends is dropped as it comes, not
        decoded (Channels' JSON consumer would ``json.loads`` it on the event loop, and a frame
        that is binary, not JSON or nested too deep ended the socket with 1011 and a
        traceback)."""

    async def _replay(self) -> None:
        while True:
            page = await _events_after(
                self.spec.model, self.run_id, self.last_seq, self.spec.replay_page
            )
            if page.events:
                for text in page.texts:
                    await self.send(text_data=text)
                self.last_seq = page.events[-1]["seq"]
            if len(page.events) < self.spec.replay_page:
                return  # all that was stored when it was read; what follows comes to the group

    async def _forward(self, events: list[dict]) -> None:
        await self.send_json({"type": "events", "events": events})
        self.last_seq = events[-1]["seq"]

    # --- group messages (sent by playground.runs.publisher) ---------------------------------------

    async def run_events(self, message: dict) -> None:
        self.last_relayed = time.monotonic()
        async with self.lock:
            if message["last_seq"] <= self.last_seq:
                return  # replayed already
            if message["first_seq"] == self.last_seq + 1:  # what follows: as it is
                await self.send(text_data=message["text"])
                self.last_seq = message["last_seq"]
                return
            if message["first_seq"] > self.last_seq + 1:
                await self._replay()  # a message went missing: the database has it
            events = json.loads(message["text"])["events"]
            fresh = [event for event in events if event["seq"] > self.last_seq]
            if fresh:
                await self._forward(fresh)

    async def run_status(self, message: dict) -> None:
        self.last_relayed = time.monotonic()
        async with self.lock:  # in order with the catch-up's statuses
            if message["status"] in FINISHED:
                last_seq = message.get("last_seq")
                if last_seq is None or last_seq > self.last_seq:
                    await self._replay()  # everything stored before the end goes out before it
            await self._send_status(message["status"], message.get("error", ""))


class NoSuchStream(AsyncJsonWebsocketConsumer):
    """Any other WebSocket path (``/ws/plans/1/``, ``/ws/fleet-runs/abc/``): closed with the
    code of a run that does not exist, as the consumer closes for an unknown run, rather than
    Channels' router raising (HTTP 500 to the client, a traceback in the log)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_RUN_NOT_FOUND)
