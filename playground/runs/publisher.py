"""Pushes a run's progress to its channel-layer group (``run.<id>``, ``fleet.<id>``: the run
kind's name and the id), as typed messages:

- ``{"type": "run.events", "first_seq": 1, "last_seq": 3, "text": "<JSON>"}``: ``text`` is the
  browser's message, ``{"type": "events", "events": [{"seq": 1, "kind": ..., "t_s": ...}, ...]}``,
  encoded once here (``events_message``) rather than again by the consumer of every viewer;
- ``{"type": "run.status", "status": "running"|"done"|"failed", "error": "", "last_seq": 3}``:
  ``last_seq``, the last event this publisher sent (``None`` before the first): a viewer who has
  it needs no look at the database when the run ends.

The consumer (``playground/runs/consumers.py``) relays them to browsers (the text as it is, when
it follows what a viewer has). Publishing is best effort:
the events are already in the database, so a viewer that missed a message still gets it by
reconnecting with ``?after=<seq>``.
"""

from __future__ import annotations

import asyncio
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

EVENTS_MESSAGE = "run.events"
STATUS_MESSAGE = "run.status"


def events_text(texts: list[str]) -> str:
    """The browser's message for events each encoded already (``json.dumps(event)``): the very
    text of ``json.dumps({"type": "events", "events": events})``, without encoding them again."""
    return '{"type": "events", "events": [' + ", ".join(texts) + "]}"


def events_message(events: list[dict], texts: list[str] | None = None) -> dict:
    """The group message for a batch of events (numbered, in order): the browser's message,
    encoded once for every viewer, and the range of sequence numbers it holds. ``texts``: the
    events as encoded already (``json.dumps`` of each), when the caller has them."""
    return {
        "type": EVENTS_MESSAGE,
        "first_seq": events[0]["seq"],
        "last_seq": events[-1]["seq"],
        "text": json.dumps({"type": "events", "events": events})
        if texts is None
        else events_text(texts),
    }


class RunEventPublisher:
    def __init__(self, group: str, *, layer=None):
        self.group = group
        self.layer = layer if layer is not None else get_channel_layer()
        self.sent_messages = 0
        self.last_seq: int | None = None  # of the last events published
        self._loop: asyncio.AbstractEventLoop | None = None

    def _send(self, message: dict) -> None:
        if self.layer is None:
            return
        try:
            self._run(self.layer.group_send, self.group, message)
            self.sent_messages += 1
        except Exception:  # the layer is down: the database still has everything
            log.exception("could not publish %s to %s", message["type"], self.group)

    def _run(self, fn, *args) -> None:
        """Publish on one event loop kept for the whole run, so channels-redis reuses its
        connection (``async_to_sync`` would start a loop, and a connection, per message).
        Inside a running loop's thread we fall back to ``async_to_sync``."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(fn(*args))
            return
        async_to_sync(fn)(*args)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
        self._loop = None

    def events(self, events: list[dict], texts: list[str] | None = None) -> None:
        if events:
            self._send(events_message(events, texts))
            self.last_seq = events[-1]["seq"]

    def status(self, status: str, error: str = "") -> None:
        self._send(
            {"type": STATUS_MESSAGE, "status": status, "error": error, "last_seq": self.last_seq}
        )
