"""Database reads that the viewers of one run share (issue #16: a classroom of 200 viewers on one
daphne process).

A viewer's connect reads its run (who may watch it, its status, the stored events after
``?after=``) through Django's one shared sync thread: 200 viewers connecting at once queued
800 reads there, one after another, and page views behind them. Here viewers asking the same
thing at the same time get one read:

- ``fresh(key, read)``: the answer of a ``read`` whose query *began after this call*: the one
  in flight if it turns out to have begun after (the read notes when it starts, on the thread),
  else the next one. Nobody gets an answer older than their question (the consumer relies on
  it: a status read after joining the run's group misses no change), yet one read per key runs
  at a time, and the next one answers everyone who asked meanwhile: the more viewers ask at
  once, the more each read answers.
- ``at_most_every(key, interval_s, action)``: runs ``action`` unless it ran for ``key`` less
  than ``interval_s`` ago; who calls while it runs waits for it.

Both run the sync function through ``database_sync_to_async`` (the one sync thread, where the
connections are). Nothing is cached once a read is done, so nothing goes stale; what is kept is
per event loop (daphne runs one per process; each test its own).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from channels.db import database_sync_to_async

RAN_KEPT = 1000  # when more keys than this remember their last action, forget the old ones


class _State:
    def __init__(self) -> None:
        self.flights: dict[Hashable, asyncio.Future] = {}  # key -> (began, answer) of a read
        self.actions: dict[Hashable, asyncio.Future] = {}  # key -> an action running
        self.ran: dict[Hashable, float] = {}  # key -> time.monotonic() its last action started


_states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _State] = weakref.WeakKeyDictionary()


def _state() -> _State:
    loop = asyncio.get_running_loop()
    state = _states.get(loop)
    if state is None:
        state = _states[loop] = _State()
    return state


def _start(pending: dict, key: Hashable, call: Callable[[], Any]) -> asyncio.Future:
    """``call`` on the sync thread, as a task that leaves ``pending`` when done (before anyone
    waiting on it resumes: its callback is the first)."""
    task = asyncio.ensure_future(database_sync_to_async(call)())
    pending[key] = task

    def landed(done: asyncio.Future) -> None:
        if pending.get(key) is done:
            del pending[key]
        if not done.cancelled():
            done.exception()  # whoever waits gets it; nobody waiting is nothing to report

    task.add_done_callback(landed)
    return task


async def fresh(key: Hashable, read: Callable[[], Any]) -> Any:
    """``read()``'s answer, from a read that began after this call (shared with everyone who
    asks for ``key`` meanwhile)."""
    asked = time.monotonic()

    def stamped() -> tuple[float, Any]:
        return time.monotonic(), read()

    flights = _state().flights
    while True:
        flight = flights.get(key)
        if flight is None or flight.done():  # landed: its callback forgets it a moment later
            flight = _start(flights, key, stamped)
        began, answer = await asyncio.shield(flight)  # one viewer leaving stops no shared read
        if began >= asked:
            return answer


async def at_most_every(key: Hashable, interval_s: float, action: Callable[[], None]) -> None:
    """``action()`` on the sync thread unless it started for ``key`` less than ``interval_s``
    ago; if it is running, wait for it."""
    state = _state()
    running = state.actions.get(key)
    if running is None or running.done():  # (as in ``fresh``)
        now = time.monotonic()
        last = state.ran.get(key)
        if last is not None and now - last < interval_s:
            return
        if len(state.ran) >= RAN_KEPT:
            state.ran = {k: t for k, t in state.ran.items() if now - t < interval_s}
        state.ran[key] = now
        running = _start(state.actions, key, action)
    await asyncio.shield(running)
