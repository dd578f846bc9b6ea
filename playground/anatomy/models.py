"""A ``Run`` is one simulated migration asked for in the browser; its ``RunEvent`` rows are the
model's event stream, numbered per run so a client can resume after any sequence number.
A ``Scenario`` is a named starting point for the form.

The tables keep the names they had before the apps were split (``db_table``: see
``playground/migrations/0006_models_moved_to_their_apps.py``)."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from playground.accounts.models import Owned
from playground.runs.models import LeasedRun, StoredEvent


class Run(LeasedRun, Owned):
    kind = "run"
    params = models.JSONField(help_text="The form's values, as typed (units included).")
    seed = models.BigIntegerField(default=1)

    class Meta(LeasedRun.Meta):
        db_table = "playground_run"

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run-detail", args=[self.pk])

    def summary(self) -> dict | None:
        row = self.events.filter(kind="summary").order_by("-seq").first()
        return row.payload.get("result") if row else None


class RunEvent(StoredEvent):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")

    class Meta(StoredEvent.Meta):
        db_table = "playground_runevent"
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_event_seq_per_run"),
        ]


class Scenario(models.Model):
    """A named starting point for the form ("a web server on 10 GbE"), loaded by
    ``manage.py load_presets``."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField()
    params = models.JSONField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "playground_scenario"
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.title
