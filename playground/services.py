"""Business logic: keyword-only functions the views and the task call."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from . import access, leases, simulation
from .logs import run_fields
from .models import Run, RunEvent, RunStatus
from .publisher import RunEventPublisher

log = logging.getLogger(__name__)

ERROR_INVALID_PARAMETERS = "The stored parameters are no longer valid: {error}"
ERROR_MODEL_FAILED = "The model failed: {error}"
ERROR_RESUME_MISMATCH = ("Could not resume after the worker was lost: the model's event {seq} "
                         "differs from the stored one.")

# A batch is also flushed when its memory maps hold this many cells (keeps messages small).
MAX_BATCH_CELLS = 250_000


def create_run(*, params: dict, visitor: access.Visitor | None = None) -> Run:
    """Store a run (``visitor``'s: ``access.owner_fields``) and queue its simulation once the
    row is committed. If the broker is down the run stays queued and the reaper sends its task
    again (``playground/leases.py``)."""
    from .tasks import run_migration

    run = Run.objects.create(params=params, seed=int(params.get("seed") or 1),
                             **access.owner_fields(visitor))
    transaction.on_commit(lambda: leases._send(run_migration, Run, run.pk))
    return run


def same_event(stored: dict, regenerated: dict) -> bool:
    """Does a regenerated event (or frame) equal the stored one? (compared as stored: JSON)"""
    return json.loads(json.dumps(regenerated)) == stored


ERROR_TOO_MANY_EVENTS = ("The run was stopped after {count:,} {what} (the playground's limit, "
                         "PLAYGROUND_{setting}): shorten the simulated time (durations, rates) "
                         "or use the command line for runs this long.")
ERROR_TOO_LONG = ("The run was stopped after {seconds:.0f} s of computing (the playground's limit, "
                  "PLAYGROUND_RUN_MAX_WALL_S): use the command line for runs this big.")


class OverBudget(Exception):
    """A run went past what one run may cost the worker (its message says which limit)."""


class RunBudget:
    """What one run may cost a worker: at most ``max_items`` events (frames) and
    ``PLAYGROUND_RUN_MAX_WALL_S`` of wall time, checked on every event or frame. Hostile but
    valid input (a 1 B/s link, a 10,000-year host downtime) ends with a clear reason instead
    of a worker busy for hours."""

    def __init__(self, max_items: int, *, what: str, setting: str):
        self.max_items, self.what, self.setting = max_items, what, setting
        self.max_wall_s = settings.PLAYGROUND_RUN_MAX_WALL_S
        self.started = time.monotonic()

    def check(self, count: int) -> None:
        if self.max_items > 0 and count > self.max_items:
            raise OverBudget(ERROR_TOO_MANY_EVENTS.format(count=self.max_items, what=self.what,
                                                          setting=self.setting))
        elapsed = time.monotonic() - self.started
        if self.max_wall_s > 0 and elapsed > self.max_wall_s:
            raise OverBudget(ERROR_TOO_LONG.format(seconds=elapsed))


class _EventSink:
    """Numbers events, stores them in batches, then publishes each stored batch. Each batch is
    written in one transaction with a lease renewal, so only the attempt holding the run
    writes. ``resume_after``: the events up to that seq are stored already (an earlier attempt);
    they are checked against the stored last one and skipped."""

    def __init__(self, run_id: int, publisher: RunEventPublisher, *, batch_size: int,
                 interval_s: float, lease: leases.Lease | None = None, resume_after: int = 0,
                 last_stored: dict | None = None, budget: RunBudget | None = None):
        self.run_id = run_id
        self.publisher = publisher
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.lease = lease
        self.resume_after = resume_after
        self.last_stored = last_stored
        self.budget = budget
        self.seq = 0
        self.pending: list[RunEvent] = []
        self.cells = 0
        self.last_flush = time.monotonic()

    def add(self, event: dict) -> None:
        self.seq += 1
        if self.lease is not None:
            self.lease.check()
        if self.budget is not None:
            self.budget.check(self.seq)
        kind, payload = simulation.event_kind(event), simulation.event_payload(event)
        if self.seq <= self.resume_after:
            if self.seq == self.resume_after and not same_event(
                    self.last_stored, {"seq": self.seq, "kind": kind, **payload}):
                raise ResumeMismatch(ERROR_RESUME_MISMATCH.format(seq=self.seq))
            return
        self.pending.append(RunEvent(run_id=self.run_id, seq=self.seq, kind=kind, payload=payload))
        self.cells += len(event.get("memory_map") or ())
        if (len(self.pending) >= self.batch_size or self.cells >= MAX_BATCH_CELLS
                or time.monotonic() - self.last_flush >= self.interval_s):
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with transaction.atomic():
                if self.lease is not None:
                    self.lease.renew()  # fenced: a worker that lost the run writes nothing
                RunEvent.objects.bulk_create(self.pending)  # stored first, then announced
            self.publisher.events([row.as_message() for row in self.pending])
        self.pending, self.cells, self.last_flush = [], 0, time.monotonic()


class ResumeMismatch(Exception):
    pass


def execute_run(*, run_id: int, publisher: RunEventPublisher | None = None,
                events: Iterable[dict] | None = None) -> bool:
    """Claim a queued run, stream the model's events into the database and the run's group,
    and mark it done or failed. Returns False (and does nothing) if the run was not queued, so
    delivering the task twice is harmless. A run queued again after its worker died resumes
    after its last stored event."""
    attempt = Run.claim(run_id, worker=leases.worker_name())
    if not attempt:
        log.info("not queued; nothing to do", extra=run_fields("run", run_id))
        return False
    fields = run_fields("run", run_id, attempt)
    run = Run.objects.get(pk=run_id)
    last = run.events.order_by("-seq").first()
    log.info("run claimed", extra={**fields, "resume_after": last.seq if last else 0})
    publisher = publisher or RunEventPublisher(run_id)
    lease = leases.Lease(Run, run_id, attempt).start()
    publisher.status(RunStatus.RUNNING.value)
    sink = _EventSink(run_id, publisher, batch_size=settings.PLAYGROUND_PUBLISH_BATCH_SIZE,
                      interval_s=settings.PLAYGROUND_PUBLISH_INTERVAL_S, lease=lease,
                      resume_after=last.seq if last else 0,
                      last_stored=last.as_message() | {"kind": last.kind} if last else None,
                      budget=RunBudget(settings.PLAYGROUND_RUN_MAX_EVENTS, what="events",
                                       setting="RUN_MAX_EVENTS"))
    try:
        try:
            for event in (events if events is not None else simulation.events_for(run.params)):
                sink.add(event)
            sink.flush()
            if last is not None and sink.seq < last.seq:
                raise ResumeMismatch(ERROR_RESUME_MISMATCH.format(seq=sink.seq + 1))
        except leases.LeaseLost:
            log.warning("lease lost; stopping without writing", extra=fields)
            return False
        except simulation.InvalidParameter as exc:
            return _fail(run_id, publisher, sink, ERROR_INVALID_PARAMETERS.format(error=exc),
                         attempt=attempt)
        except (ResumeMismatch, OverBudget) as exc:
            return _fail(run_id, publisher, sink, str(exc), attempt=attempt)
        except Exception as exc:  # the model broke: say so on the run instead of hanging
            log.exception("run failed", extra=fields)
            return _fail(run_id, publisher, sink,
                         ERROR_MODEL_FAILED.format(error=f"{type(exc).__name__}: {exc}"),
                         attempt=attempt)
        with transaction.atomic():
            finished = Run.finish(run_id, attempt=attempt)
        if not finished:
            log.warning("lease lost before the end; not marked done", extra=fields)
            return False
        log.info("run done", extra={**fields, "events": sink.seq})
        publisher.status(RunStatus.DONE.value)
        return True
    finally:
        lease.stop()
        getattr(publisher, "close", lambda: None)()


def _fail(run_id: int, publisher: RunEventPublisher, sink: _EventSink, error: str, *,
          attempt: int | None = None) -> bool:
    try:
        sink.flush()
    except Exception:
        log.exception("could not store the last events", extra=run_fields("run", run_id, attempt))
    if Run.fail(run_id, error, attempt=attempt):
        log.warning("run failed", extra={**run_fields("run", run_id, attempt), "error": error})
        publisher.status(RunStatus.FAILED.value, error)
    return True
