"""Business logic: keyword-only functions the views and the task call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from . import simulation
from .models import Run, RunEvent, RunStatus
from .publisher import RunEventPublisher

log = logging.getLogger(__name__)

ERROR_INVALID_PARAMETERS = "The stored parameters are no longer valid: {error}"
ERROR_MODEL_FAILED = "The model failed: {error}"

# A batch is also flushed when its memory maps hold this many cells (keeps messages small).
MAX_BATCH_CELLS = 250_000


def create_run(*, params: dict) -> Run:
    """Store a run and queue its simulation once the row is committed."""
    from .tasks import run_migration

    run = Run.objects.create(params=params, seed=int(params.get("seed") or 1))
    transaction.on_commit(lambda: run_migration.delay(run.pk))
    return run


class _EventSink:
    """Numbers events, stores them in batches, then publishes each stored batch."""

    def __init__(self, run_id: int, publisher: RunEventPublisher, *, batch_size: int,
                 interval_s: float):
        self.run_id = run_id
        self.publisher = publisher
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.seq = 0
        self.pending: list[RunEvent] = []
        self.cells = 0
        self.last_flush = time.monotonic()

    def add(self, event: dict) -> None:
        self.seq += 1
        self.pending.append(RunEvent(run_id=self.run_id, seq=self.seq,
                                     kind=simulation.event_kind(event),
                                     payload=simulation.event_payload(event)))
        self.cells += len(event.get("memory_map") or ())
        if (len(self.pending) >= self.batch_size or self.cells >= MAX_BATCH_CELLS
                or time.monotonic() - self.last_flush >= self.interval_s):
            self.flush()

    def flush(self) -> None:
        if self.pending:
            RunEvent.objects.bulk_create(self.pending)  # stored first, then announced
            self.publisher.events([row.as_message() for row in self.pending])
        self.pending, self.cells, self.last_flush = [], 0, time.monotonic()


def execute_run(*, run_id: int, publisher: RunEventPublisher | None = None,
                events: Iterable[dict] | None = None) -> bool:
    """Claim a queued run, stream the model's events into the database and the run's group,
    and mark it done or failed. Returns False (and does nothing) if the run was not queued, so
    delivering the task twice is harmless."""
    if not Run.claim(run_id):
        log.info("run %s was not queued; nothing to do", run_id)
        return False
    run = Run.objects.get(pk=run_id)
    publisher = publisher or RunEventPublisher(run_id)
    publisher.status(RunStatus.RUNNING.value)
    sink = _EventSink(run_id, publisher, batch_size=settings.PLAYGROUND_PUBLISH_BATCH_SIZE,
                      interval_s=settings.PLAYGROUND_PUBLISH_INTERVAL_S)
    try:
        try:
            for event in (events if events is not None else simulation.events_for(run.params)):
                sink.add(event)
            sink.flush()
        except simulation.InvalidParameter as exc:
            return _fail(run_id, publisher, sink, ERROR_INVALID_PARAMETERS.format(error=exc))
        except Exception as exc:  # the model broke: say so on the run instead of hanging
            log.exception("run %s failed", run_id)
            return _fail(run_id, publisher, sink,
                         ERROR_MODEL_FAILED.format(error=f"{type(exc).__name__}: {exc}"))
        Run.finish(run_id)
        publisher.status(RunStatus.DONE.value)
        return True
    finally:
        getattr(publisher, "close", lambda: None)()


def _fail(run_id: int, publisher: RunEventPublisher, sink: _EventSink, error: str) -> bool:
    try:
        sink.flush()
    except Exception:
        log.exception("run %s: could not store the last events", run_id)
    Run.fail(run_id, error)
    publisher.status(RunStatus.FAILED.value, error)
    return True
