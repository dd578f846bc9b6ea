"""A ``Run`` is one simulated migration asked for in the browser; its ``RunEvent`` rows are the
model's event stream, numbered per run so a client can resume after any sequence number."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Run(models.Model):
    params = models.JSONField(help_text="The form's values, as typed (units included).")
    seed = models.BigIntegerField(default=1)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run-detail", args=[self.pk])

    @property
    def group_name(self) -> str:
        return group_name_for(self.pk)

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)

    # --- state transitions, guarded in one place -------------------------------------------

    @classmethod
    def claim(cls, run_id: int) -> bool:
        """Move a queued run to running. True for exactly one caller, however often the task
        is delivered."""
        return cls.objects.filter(id=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started=timezone.now()) == 1

    @classmethod
    def finish(cls, run_id: int) -> None:
        cls.objects.filter(id=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.DONE, finished=timezone.now())

    @classmethod
    def fail(cls, run_id: int, error: str) -> None:
        cls.objects.filter(id=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            status=RunStatus.FAILED, error=error, finished=timezone.now())

    # --- reading -----------------------------------------------------------------------------

    def events_after(self, seq: int = 0, limit: int | None = None) -> list[dict]:
        """Persisted events with a sequence number above ``seq``, in order, as sent to clients."""
        rows = self.events.filter(seq__gt=seq).order_by("seq")
        if limit is not None:
            rows = rows[:limit]
        return [row.as_message() for row in rows]

    def summary(self) -> dict | None:
        row = self.events.filter(kind="summary").order_by("-seq").first()
        return row.payload.get("result") if row else None


def group_name_for(run_id: int) -> str:
    return f"run.{run_id}"


class RunEvent(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=32)
    payload = models.JSONField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_event_seq_per_run"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} #{self.seq} {self.kind}"

    def as_message(self) -> dict:
        return {"seq": self.seq, **self.payload}


class Scenario(models.Model):
    """A named starting point for the form ("a web server on 10 GbE"), loaded by
    ``manage.py load_presets``."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField()
    params = models.JSONField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.title
