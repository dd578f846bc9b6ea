"""Nothing stuck: leases on running runs, and the reaper that takes back expired ones.

- ``Lease``: the worker that claimed a run renews ``heartbeat_at`` every
  ``PLAYGROUND_RUN_HEARTBEAT_S`` from a small thread (its own database connection), so a run
  whose model computes for a while between two events keeps its lease. Every write for the run
  is fenced by the attempt number it claimed (``LeasedRun``): once the reaper gave the run to
  someone else, ``check()`` raises ``LeaseLost`` and that worker stops without writing.
- ``reap()``: a running run whose lease is older than ``PLAYGROUND_RUN_LEASE_S`` lost its
  worker (SIGKILL, OOM, a machine gone). It is queued again and its task sent, or failed with
  the reason once it was claimed ``PLAYGROUND_RUN_MAX_ATTEMPTS`` times. A run queued for longer
  than ``PLAYGROUND_REQUEUE_AFTER_S`` has its task sent again (the message may have been lost
  with a Redis restart). Every transition is one conditional UPDATE, so any number of reapers
  may run at once.
- Who reaps: a thread in every Celery worker (every ``PLAYGROUND_REAP_INTERVAL_S``, started
  by the ``worker_process_init`` signal in each pool process, never the main process that
  forks them, see ``playground/celery.py``), and the WebSocket consumer
  for the run a viewer opens (at most every ``PLAYGROUND_REAP_INTERVAL_S`` per run and process:
  a classroom connecting at once asks once).

A retried run resumes: the model is deterministic (the seed is stored), so the new attempt
regenerates the stream, checks that its event at the last stored ``seq`` equals the stored
one, skips what is stored and numbers on from there (no gap, no duplicate; a mismatch fails the
run with the reason instead).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from playground.ops.logs import run_fields

from . import kinds
from .models import LeasedRun, RunStatus, group_name_for

log = logging.getLogger(__name__)

ERROR_WORKER_LOST = (
    "The worker running this run stopped (no heartbeat for {lease:g} s) on each "
    "of {attempts} attempt(s); giving up."
)


class LeaseLost(Exception):
    """This attempt no longer holds the run: stop, write nothing more."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    def __init__(
        self, model: type[LeasedRun], run_id: int, attempt: int, *, interval_s: float | None = None
    ):
        self.model, self.run_id, self.attempt = model, run_id, attempt
        self.interval_s = settings.PLAYGROUND_RUN_HEARTBEAT_S if interval_s is None else interval_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew(self) -> None:
        """Renew now, on this thread's connection (call inside the transaction that writes)."""
        if self.lost.is_set() or not self.model.beat(self.run_id, self.attempt):
            self.lost.set()
            raise LeaseLost(f"{self.model.kind} {self.run_id} attempt {self.attempt}")

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"{self.model.kind} {self.run_id} attempt {self.attempt}")

    def start(self) -> Lease:
        # A heartbeat from another connection cannot see rows of an open transaction (the
        # test suite's): then only the writes themselves renew the lease.
        if self.interval_s > 0 and not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._beat, daemon=True, name=f"lease-{self.run_id}"
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _ended_by_this_attempt(self) -> bool:
        return self.model.objects.filter(
            id=self.run_id,
            attempts=self.attempt,
            status__in=[RunStatus.DONE, RunStatus.FAILED],
        ).exists()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    if not self.model.beat(self.run_id, self.attempt):
                        self.lost.set()
                        if self._stop.is_set() or self._ended_by_this_attempt():
                            return  # the run has just ended, by this attempt: nothing lost
                        log.warning(
                            "lease lost",
                            extra=run_fields(self.model.kind, self.run_id, self.attempt),
                        )
                        return
                except Exception:  # the database blinked: try again next time
                    log.exception(
                        "heartbeat failed",
                        extra=run_fields(self.model.kind, self.run_id, self.attempt),
                    )
                    close_old_connections()
        finally:
            connections.close_all()  # this thread's own connections


# --- the reaper ----------------------------------------------------------------------------------


def send(kind: str, run_id: int) -> None:
    """Send a run's task (best effort: if the broker is down the run stays queued and the
    reaper sends it again)."""
    from .tasks import execute_run

    try:
        execute_run.delay(kind, run_id)
    except Exception:
        log.exception(
            "could not send the task; it will be sent again", extra=run_fields(kind, run_id)
        )


def reap(*, only: tuple[str, int] | None = None, now=None) -> dict[str, list[int]]:
    """One pass over every run of every kind, or ``only=(kind, id)``. Returns what it did."""
    from .publisher import RunEventPublisher

    now = now or timezone.now()
    lease_cutoff = now - timedelta(seconds=settings.PLAYGROUND_RUN_LEASE_S)
    queue_cutoff = now - timedelta(seconds=settings.PLAYGROUND_REQUEUE_AFTER_S)
    done: dict[str, list[int]] = {"requeued": [], "failed": [], "resent": []}
    for spec in kinds.every():
        if only is not None and only[0] != spec.name:
            continue
        kind, model = spec.name, spec.model
        stale = model.stale(lease_cutoff)
        queued = model.objects.filter(status=RunStatus.QUEUED)
        if only is not None:
            stale, queued = stale.filter(id=only[1]), queued.filter(id=only[1])
        for run_id, attempts in stale.values_list("id", "attempts"):
            if attempts >= settings.PLAYGROUND_RUN_MAX_ATTEMPTS:
                error = ERROR_WORKER_LOST.format(
                    lease=settings.PLAYGROUND_RUN_LEASE_S, attempts=attempts
                )
                if model.give_up(run_id, attempts, lease_cutoff, error):
                    log.warning("worker lost; run failed", extra=run_fields(kind, run_id, attempts))
                    publisher = RunEventPublisher(group_name_for(kind, run_id))
                    try:
                        publisher.status(RunStatus.FAILED.value, error)
                    finally:
                        publisher.close()
                    done["failed"].append(run_id)
            elif model.requeue(run_id, attempts, lease_cutoff):
                log.warning(
                    "worker lost; run queued again", extra=run_fields(kind, run_id, attempts)
                )
                send(kind, run_id)
                done["requeued"].append(run_id)
        for run_id in queued.values_list("id", flat=True):
            if model.resend(run_id, queue_cutoff):
                log.warning("queued too long; task sent again", extra=run_fields(kind, run_id))
                send(kind, run_id)
                done["resent"].append(run_id)
    return done


class Reaper:
    """A daemon thread that calls ``reap()`` every ``interval_s`` (one per worker process)."""

    def __init__(self, interval_s: float | None = None):
        self.interval_s = settings.PLAYGROUND_REAP_INTERVAL_S if interval_s is None else interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="reaper")

    def start(self) -> Reaper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        try:
            while True:
                try:
                    close_old_connections()
                    reap()
                except Exception:
                    log.exception("reaper pass failed")
                finally:
                    connections.close_all()  # hold no connection between passes
                if self._stop.wait(self.interval_s):
                    return
        finally:
            connections.close_all()
