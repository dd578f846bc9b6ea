"""What every kind of run shares: a status that only moves through guarded, conditional updates
(``LeasedRun``), and a numbered stream of stored events (``StoredEvent``) a viewer can resume
after any sequence number. The concrete rows belong to the product apps (``anatomy.Run``,
``fleets.FleetRun``); ``playground/runs/kinds.py`` says which is which."""

from __future__ import annotations

from datetime import datetime

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class LeasedRun(models.Model):
    """What a single-VM run and a fleet run share: a status that only moves through the
    conditional updates below, and a lease so that a run whose worker died is noticed.

    ``attempts`` counts claims and is the *fencing token*: every write a worker makes for a run
    (a heartbeat, a batch of events, the final status) is conditional on the attempt it
    claimed, so a worker that lost its lease (the reaper gave the run to another) cannot write
    any more. ``heartbeat_at`` is, while running, the worker's last heartbeat; while queued,
    when the task was last sent (the reaper sends it again when the message was lost)."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="times a worker claimed it")
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        help_text="running: the worker's last heartbeat; queued: when the task was last sent",
    )
    worker = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="host:pid of the worker that claimed it last",
    )

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]

    #: the run kind's name in ``playground/runs/kinds.py`` (set by each concrete model)
    kind: str = ""

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)

    # --- state transitions, guarded in one place -------------------------------------------

    @classmethod
    def claim(cls, run_id: int, *, worker: str = "") -> int:
        """Move a queued run to running and return the attempt number (>= 1); 0 if it was not
        queued. Exactly one caller wins however often the task is delivered."""
        now = timezone.now()
        with transaction.atomic():
            if (
                cls.objects.filter(id=run_id, status=RunStatus.QUEUED).update(
                    status=RunStatus.RUNNING,
                    started=now,
                    heartbeat_at=now,
                    worker=worker[:200],
                    attempts=F("attempts") + 1,
                )
                != 1
            ):
                return 0
            return cls.objects.values_list("attempts", flat=True).get(id=run_id)

    @classmethod
    def _holding(cls, run_id: int, attempt: int | None):
        rows = cls.objects.filter(id=run_id, status=RunStatus.RUNNING)
        return rows if attempt is None else rows.filter(attempts=attempt)

    @classmethod
    def beat(cls, run_id: int, attempt: int) -> bool:
        """Renew the lease; False when this attempt no longer holds the run."""
        return cls._holding(run_id, attempt).update(heartbeat_at=timezone.now()) == 1

    @classmethod
    def fail(cls, run_id: int, error: str, *, attempt: int | None = None) -> bool:
        rows = (
            cls.objects.filter(id=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            if attempt is None
            else cls._holding(run_id, attempt)
        )
        return rows.update(status=RunStatus.FAILED, error=error, finished=timezone.now()) == 1

    @classmethod
    def finish(cls, run_id: int, *, attempt: int | None = None, **fields) -> bool:
        """Mark a run done (with its kind's result ``fields``) if this attempt still holds it."""
        return (
            cls._holding(run_id, attempt).update(
                status=RunStatus.DONE, finished=timezone.now(), **fields
            )
            == 1
        )

    # --- reading -----------------------------------------------------------------------------

    @property
    def group_name(self) -> str:
        return group_name_for(self.kind, self.pk)

    def events_after(self, seq: int = 0, limit: int | None = None) -> list[dict]:
        """Stored events with a sequence number above ``seq``, in order, as sent to clients."""
        rows = self.events.filter(seq__gt=seq).order_by("seq")
        if limit is not None:
            rows = rows[:limit]
        return [row.as_message() for row in rows]

    # --- the reaper's transitions (only for a lease that expired before ``cutoff``) -----------

    @classmethod
    def stale(cls, cutoff: datetime):
        return cls.objects.filter(status=RunStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started__lt=cutoff)
        )

    @classmethod
    def requeue(cls, run_id: int, attempt: int, cutoff: datetime) -> bool:
        """Give a run whose worker stopped beating back to the queue (that attempt only)."""
        return (
            cls.stale(cutoff)
            .filter(id=run_id, attempts=attempt)
            .update(status=RunStatus.QUEUED, heartbeat_at=timezone.now(), worker="")
            == 1
        )

    @classmethod
    def give_up(cls, run_id: int, attempt: int, cutoff: datetime, error: str) -> bool:
        return (
            cls.stale(cutoff)
            .filter(id=run_id, attempts=attempt)
            .update(status=RunStatus.FAILED, error=error, finished=timezone.now())
            == 1
        )

    @classmethod
    def resend(cls, run_id: int, cutoff: datetime) -> bool:
        """A run queued since before ``cutoff`` (its message may be lost): mark it sent now."""
        return (
            cls.objects.filter(id=run_id, status=RunStatus.QUEUED)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created__lt=cutoff))
            .update(heartbeat_at=timezone.now())
            == 1
        )


def group_name_for(kind: str, run_id: int) -> str:
    """The channel-layer group a run's viewers join (``run.<id>``, ``fleet.<id>``)."""
    return f"{kind}.{run_id}"


class StoredEvent(models.Model):
    """One numbered event (or progress frame) of a run, as stored and as streamed. Concrete
    models add ``run = ForeignKey(<their run>, related_name="events")``."""

    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=32)
    payload = models.JSONField()

    class Meta:
        abstract = True
        ordering = ["run", "seq"]

    def __str__(self) -> str:
        return f"{self.run} #{self.seq} {self.kind}"

    def as_message(self) -> dict:
        return {"seq": self.seq, **self.payload}
