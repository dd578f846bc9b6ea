"""The one run pipeline: queue a run, claim it, run its kind's runner into an event sink that
stores then publishes, and finish or fail it. Every kind of run goes through here
(``playground/runs/kinds.py``); a runner only produces events.

- ``enqueue(run)``: send the task once the row is committed (the reaper sends it again if the
  broker was down).
- ``execute_run(kind=..., run_id=...)``: claim (exactly one delivery wins), hold a lease while
  running, resume after the last stored event if an earlier attempt died, and end the run as
  done (with the runner's outcome, in one transaction) or failed (with a sentence saying why).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque

from django.conf import settings
from django.db import transaction

from playground.ops.logs import run_fields

from . import kinds, leases
from .models import LeasedRun, RunStatus, group_name_for
from .publisher import RunEventPublisher, events_text

log = logging.getLogger(__name__)

ERROR_RESUME_MISMATCH = (
    "Could not resume after the worker was lost: the model's event {seq} "
    "differs from the stored one."
)
ERROR_TOO_MANY_EVENTS = (
    "The run was stopped after {count:,} {what} (the playground's limit, "
    "{setting}): shorten the simulated time (durations, rates) "
    "or use the command line for runs this long."
)
ERROR_TOO_LONG = (
    "The run was stopped after {seconds:.0f} s of computing (the playground's limit, "
    "PLAYGROUND_RUN_MAX_WALL_S): use the command line for runs this big."
)

# A batch is also flushed when its memory maps hold this many cells (keeps messages small).
MAX_BATCH_CELLS = 250_000


class OverBudget(Exception):
    """A run went past what one run may cost the worker (its message says which limit)."""


class ResumeMismatch(Exception):
    """A resumed run's model produced something else than what an earlier attempt stored."""


def enqueue(run: LeasedRun) -> None:
    """Send the run's task once the row is committed."""
    transaction.on_commit(lambda: leases.send(run.kind, run.pk))


def publisher_for(kind: str, run_id: int) -> RunEventPublisher:
    return RunEventPublisher(group_name_for(kind, run_id))


def same_event(stored: dict, regenerated: dict) -> bool:
    """Does a regenerated event equal the stored one? (compared as stored: JSON)"""
    return json.loads(json.dumps(regenerated)) == stored


class RunBudget:
    """What one run may cost a worker: at most ``max_events`` events and
    ``PLAYGROUND_RUN_MAX_WALL_S`` of wall time, checked on every event. Hostile but valid input
    (a 1 B/s link, a 10,000-year host downtime) ends with a clear reason instead of a worker
    busy for hours."""

    def __init__(self, max_events: int, *, what: str, setting: str):
        self.max_events, self.what, self.setting = max_events, what, setting
        self.max_wall_s = settings.PLAYGROUND_RUN_MAX_WALL_S
        self.started = time.monotonic()

    def check(self, count: int) -> None:
        if self.max_events > 0 and count > self.max_events:
            raise OverBudget(
                ERROR_TOO_MANY_EVENTS.format(
                    count=self.max_events, what=self.what, setting=self.setting
                )
            )
        elapsed = time.monotonic() - self.started
        if self.max_wall_s > 0 and elapsed > self.max_wall_s:
            raise OverBudget(ERROR_TOO_LONG.format(seconds=elapsed))

    @classmethod
    def for_kind(cls, kind: kinds.RunKind) -> RunBudget:
        return cls(
            getattr(settings, kind.max_events_setting),
            what=kind.events_noun,
            setting=kind.max_events_setting,
        )


class ByteWindow:
    """At most ``bytes_per_s`` bytes of messages published in any second (a sliding window over
    when they went): a batch is cut into messages that fit, and a message that does not fit yet
    waits until enough of the last second's are a second old (one bigger than the whole budget
    goes alone). It works on the events' texts, each encoded once by the sink: a message's size
    is that of the text the publisher sends, those texts joined (``publisher.events_text``;
    JSON as ``json.dumps`` writes it is ASCII, a character a byte)."""

    WRAPPER_BYTES = len(events_text([]))
    SEPARATOR_BYTES = len(events_text(["", ""])) - WRAPPER_BYTES  # ", " between two events

    def __init__(self, bytes_per_s: float, *, clock=time.monotonic, sleep=time.sleep):
        self.bytes_per_s = bytes_per_s
        self.clock, self.sleep = clock, sleep
        self.sent: deque[tuple[float, int]] = deque()  # (when, bytes) of the last second
        self.sent_bytes = 0

    def parts(self, texts: list[str]):
        """The events (their texts) in parts, each a slice of ``texts``, that each go when the
        window has room for them (each part is counted from when its publication returned: the
        caller publishes it in between)."""
        start, size = 0, self.WRAPPER_BYTES
        for end, text in enumerate(texts):
            grown = size + len(text) + (self.SEPARATOR_BYTES if end > start else 0)
            if end > start and grown > self.bytes_per_s:  # the part is full: send it first
                yield from self._when_room(slice(start, end), size)
                start, grown = end, self.WRAPPER_BYTES + len(text)
            size = grown
        if start < len(texts):
            yield from self._when_room(slice(start, len(texts)), size)

    def _when_room(self, part: slice, size: int):
        sent, now = self.sent, self.clock()
        while sent:
            when, bytes_sent = sent[0]
            if now - when >= 1.0:  # a second old: out of the window
                sent.popleft()
                self.sent_bytes -= bytes_sent
            elif self.sent_bytes + size > self.bytes_per_s:
                pause_s = when + 1.0 - now
                self.sleep(pause_s)
                now = self.clock()
            else:
                break
        yield part
        sent.append((self.clock(), size))  # once published: a viewer got it no later
        self.sent_bytes += size


class EventSink:
    """Numbers events, stores them in batches, then publishes each stored batch: the first event
    at once, then a batch when ``interval_s`` of wall time passed, or it holds ``batch_size``
    events or ``MAX_BATCH_CELLS`` memory-map cells. Each batch is written in one transaction
    with a lease renewal, so only the attempt holding the run writes. ``resume_after``: the
    events up to that seq are stored already (an earlier attempt); the last of them is checked
    against ``last_stored``, and they are skipped."""

    def __init__(
        self,
        event_model,
        run_id: int,
        publisher,
        *,
        batch_size: int,
        interval_s: float,
        lease: leases.Lease | None = None,
        resume_after: int = 0,
        last_stored: dict | None = None,
        budget: RunBudget | None = None,
        bytes_per_s: float = 0.0,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        self.event_model = event_model
        self.run_id = run_id
        self.publisher = publisher
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.lease = lease
        self.resume_after = resume_after
        self.last_stored = last_stored
        self.budget = budget
        self.seq = 0
        self.pending: list = []
        self.cells = 0
        self.last_flush = -math.inf
        self.window = ByteWindow(bytes_per_s, clock=clock, sleep=sleep) if bytes_per_s > 0 else None

    def add(self, event: dict) -> None:
        """One event of the model: a JSON-able dict whose ``kind`` names it."""
        self.seq += 1
        if self.lease is not None:
            self.lease.check()
        if self.budget is not None:
            self.budget.check(self.seq)
        if self.seq <= self.resume_after:
            if self.seq == self.resume_after and not same_event(
                self.last_stored, {"seq": self.seq, **event}
            ):
                raise ResumeMismatch(ERROR_RESUME_MISMATCH.format(seq=self.seq))
            return
        self.pending.append(
            self.event_model(
                run_id=self.run_id,
                seq=self.seq,
                kind=str(event.get("kind", "event")),
                payload=event,
            )
        )
        self.cells += len(event.get("memory_map") or ())
        if (
            len(self.pending) >= self.batch_size
            or self.cells >= MAX_BATCH_CELLS
            or time.monotonic() - self.last_flush >= self.interval_s
        ):
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with transaction.atomic():
                if self.lease is not None:
                    self.lease.renew()  # fenced: a worker that lost the run writes nothing
                self.event_model.objects.bulk_create(self.pending)  # stored, then announced
            messages = [row.as_message() for row in self.pending]
            if self.window is None:
                self.publisher.events(messages)
            else:  # each event encoded once: measured by the window, then published as it is
                texts = [json.dumps(message) for message in messages]
                for part in self.window.parts(texts):
                    self.publisher.events(messages[part], texts[part])
            self.last_flush = time.monotonic()
        self.pending, self.cells = [], 0


def execute_run(*, kind: str, run_id: int, publisher=None, interval_s: float | None = None) -> bool:
    """Claim a queued run of ``kind``, run its runner into the sink, and mark it done (storing
    the runner's outcome in the same transaction) or failed. Returns False (and does nothing)
    if the run was not queued, so delivering the task twice is harmless. A run queued again
    after its worker died resumes after its last stored event."""
    spec = kinds.get(kind)
    attempt = spec.model.claim(run_id, worker=leases.worker_name())
    if not attempt:
        log.info("not queued; nothing to do", extra=run_fields(kind, run_id))
        return False
    fields = run_fields(kind, run_id, attempt)
    run = spec.model.objects.get(pk=run_id)
    last = run.events.order_by("-seq").first()
    log.info("run claimed", extra={**fields, "resume_after": last.seq if last else 0})
    publisher = publisher or publisher_for(kind, run_id)
    lease = leases.Lease(spec.model, run_id, attempt).start()
    publisher.status(RunStatus.RUNNING.value)
    sink = EventSink(
        spec.event_model,
        run_id,
        publisher,
        lease=lease,
        batch_size=getattr(settings, spec.batch_size_setting),
        interval_s=getattr(settings, spec.interval_setting) if interval_s is None else interval_s,
        resume_after=last.seq if last else 0,
        last_stored=last.as_message() if last else None,
        budget=RunBudget.for_kind(spec),
        bytes_per_s=getattr(settings, spec.bytes_per_s_setting)
        if spec.bytes_per_s_setting
        else 0.0,
    )
    try:
        try:
            outcome = spec.runner(run, sink)
            sink.flush()
            if last is not None and sink.seq < last.seq:
                raise ResumeMismatch(ERROR_RESUME_MISMATCH.format(seq=sink.seq + 1))
            lease.check()
            with transaction.atomic():
                lease.renew()
                if outcome.store is not None:
                    outcome.store()
                if not spec.model.finish(run_id, attempt=attempt, **outcome.fields):
                    raise leases.LeaseLost(f"{kind} {run_id} attempt {attempt}")
        except leases.LeaseLost:
            log.warning("lease lost; stopping without writing", extra=fields)
            return False
        except spec.over_budget as exc:  # (before invalid_input: it may be a subclass)
            return _fail(
                spec,
                run_id,
                publisher,
                sink,
                spec.over_budget_message.format(error=exc),
                attempt=attempt,
            )
        except spec.invalid_input as exc:
            return _fail(
                spec,
                run_id,
                publisher,
                sink,
                spec.invalid_message.format(error=exc),
                attempt=attempt,
            )
        except (ResumeMismatch, OverBudget) as exc:
            return _fail(spec, run_id, publisher, sink, str(exc), attempt=attempt)
        except Exception as exc:  # the model broke: say so on the run instead of hanging
            log.exception("run failed", extra=fields)
            return _fail(
                spec,
                run_id,
                publisher,
                sink,
                spec.failed_message.format(error=f"{type(exc).__name__}: {exc}"),
                attempt=attempt,
            )
        log.info("run done", extra={**fields, "events": sink.seq})
        publisher.status(RunStatus.DONE.value)
        return True
    finally:
        lease.stop()
        getattr(publisher, "close", lambda: None)()  # a test's recording publisher has none


def _fail(
    spec: kinds.RunKind, run_id: int, publisher, sink: EventSink, error: str, *, attempt: int
) -> bool:
    """Store what the sink holds, then mark the run failed with ``error`` (if this attempt still
    holds it). True when this attempt failed the run; False when it had lost it already."""
    fields = run_fields(spec.name, run_id, attempt)
    try:
        sink.flush()
    except leases.LeaseLost:
        log.warning("lease lost; not marking the run failed", extra=fields)
        return False
    except Exception:
        log.exception("could not store the last events", extra=fields)
    if not spec.model.fail(run_id, error, attempt=attempt):
        log.warning("lease lost; not marking the run failed", extra=fields)
        return False
    log.warning("run failed", extra={**fields, "error": error})
    publisher.status(RunStatus.FAILED.value, error)
    return True
