"""A ``Fleet`` is a stored scenario: a zone and its VM mix, the policy, the rollout caps and the
maintenance events, as the engine's scenario dict in one JSON field.
A ``FleetRun`` is one run of a scenario snapshot; its ``FleetRunMessage`` rows are the
aggregated progress frames, numbered so a viewer can resume; ``FleetRunVm`` one row per VM.
A ``Sweep`` is a grid of runs over one or two scenario parameters.

The tables keep the names they had before the apps were split (``db_table``: see
``playground/migrations/0006_models_moved_to_their_apps.py``)."""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import validate
from playground.accounts.models import Owned
from playground.runs.models import LeasedRun, StoredEvent

from .fields import DEFAULTS
from .paths import ABSENT, lookup
from .scenario_keys import listed_key, outline, scenario_key
from .sizes import host_count, vm_count


class Fleet(Owned):
    """A scenario the visitor keeps and edits: the engine's scenario dict, as imported or saved
    from the form (``fields`` maps the form onto it), and where it came from."""

    scenario = models.JSONField(help_text="the engine's scenario (docs/fleet.md)")
    source = models.CharField(
        max_length=40, blank=True, default="", help_text="the preset or file it was created from"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)
    # what the fleet list shows, kept beside the scenario (``listed_from``): a list of 50
    # fleets must not read 50 scenarios of up to 8 MB each
    listed_name = models.CharField(max_length=200, blank=True, default="")
    listed_hosts = models.PositiveBigIntegerField(default=0)
    listed_vms = models.PositiveBigIntegerField(default=0)
    # the scenario's key (``scenario_keys``): the plan page's poll finds its plan by it, without
    # reading and hashing the scenario every second
    scenario_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    submission = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="the new-fleet form's one-time token it was made by (one fleet per token)",
    )

    class Meta:
        db_table = "playground_fleet"
        ordering = ["-updated", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission"],
                condition=~models.Q(submission=""),
                name="one_fleet_per_submission",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("fleet-edit", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        if "scenario" not in self.get_deferred_fields():
            for field, value in kept_beside(self.scenario).items():
                setattr(self, field, value)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            validate(self.scenario)
        except ScenarioError as exc:
            raise ValidationError({"scenario": str(exc)}) from None

    def to_scenario(self) -> dict:
        """The engine's scenario dict (what the YAML/JSON export holds): a copy."""
        return copy.deepcopy(self.scenario)

    def _read(self, path: str):
        value = lookup(self.scenario, path, DEFAULTS)
        return None if value is ABSENT else value

    @property
    def name(self) -> str:
        return str(self._read("name"))

    @property
    def seed(self) -> int:
        return self._read("seed")

    @property
    def policy(self) -> str:
        return self._read("policy.name")

    @property
    def downtime_limit(self) -> str | None:
        return self._read("policy.downtime_limit")

    @property
    def caps(self) -> dict:
        """The rollout caps, with the engine's defaults (``None``: no cap)."""
        return {
            key: self._read(f"caps.{key}")
            for key in ("per_source_host", "per_target_host", "per_rack", "per_customer", "global")
        }

    @property
    def headroom_percent(self) -> float:
        return round(float(self._read("caps.headroom") or 0) * 100, 6)

    @property
    def host_count(self) -> int:
        return host_count(self.scenario)

    @property
    def vm_count(self) -> int:
        return vm_count(self.scenario)


def kept_beside(scenario: dict) -> dict:
    """Every column a fleet keeps beside its scenario: the list's and the scenario's key."""
    return {**listed_from(scenario), "scenario_key": scenario_key(scenario)}


def kept_beside_run(scenario: dict, *, key: str = "") -> dict:
    """Every column a run keeps beside its scenario (``key``: its scenario key, if known)."""
    return {
        "scenario_key": key or scenario_key(scenario),
        "outline": outline(scenario),
        "listed_key": listed_key(scenario),
    }


def listed_from(scenario: dict) -> dict:
    """The fleet list's columns of a scenario (``Fleet.listed_*``)."""
    name = lookup(scenario, "name", DEFAULTS)
    try:  # read without validating: a fleet stored under older checks (the migration fills
        # every stored fleet's) must not stop the migration or the fleet's every save
        hosts, vms = host_count(scenario), vm_count(scenario)
    except (AttributeError, TypeError, ValueError, OverflowError):
        hosts = vms = 0
    return {
        "listed_name": str(None if name is ABSENT else name)[:200],  # as ``Fleet.name`` reads
        "listed_hosts": max(0, hosts),  # (PositiveBigIntegerField: a CHECK in PostgreSQL)
        "listed_vms": max(0, vms),
    }


class FleetRun(LeasedRun, Owned):
    kind = "fleet"
    fleet = models.ForeignKey(
        Fleet, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    sweep = models.ForeignKey(
        "Sweep", on_delete=models.CASCADE, null=True, blank=True, related_name="runs"
    )
    sweep_point = models.JSONField(default=dict, blank=True)
    name = models.CharField(max_length=120, blank=True, default="")
    seed = models.BigIntegerField(default=1)
    scenario = models.JSONField(help_text="the scenario as run (a snapshot)")
    plan = models.JSONField(default=dict, blank=True)
    bucket_s = models.FloatField(default=60.0, help_text="simulated seconds per progress frame")
    summary = models.JSONField(null=True, blank=True)
    series = models.JSONField(null=True, blank=True, help_text="compact series for comparisons")
    approval = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="the plan page's approval it was started by (one run per approval)",
    )
    # kept beside the scenario (``kept_beside_run``, on every save of it): its page and the
    # comparison of runs read these, not a scenario listing 100,000 VMs (8 MB of JSON, read
    # and hashed on every view). Runs stored before: None and "" (their scenario is read).
    scenario_key = models.CharField(max_length=64, blank=True, default="")
    outline = models.JSONField(
        null=True, blank=True, help_text="the scenario, a listed fleet's VMs cut to the first"
    )
    listed_key = models.CharField(
        max_length=64, blank=True, default="", help_text="the key of the listed VMs, if any"
    )

    class Meta(LeasedRun.Meta):
        db_table = "playground_fleetrun"
        constraints = [
            models.UniqueConstraint(
                fields=["approval"],
                condition=~models.Q(approval=""),
                name="one_fleet_run_per_approval",
            )
        ]

    def __str__(self) -> str:
        return f"fleet run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("fleet-run", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        """The columns kept beside the scenario follow it (``kept_beside_run``) whenever it is
        saved: as the run is stored (its key, if given, trusted), and if it is edited (admin)."""
        fields = kwargs.get("update_fields")
        if "scenario" not in self.get_deferred_fields() and (
            fields is None or "scenario" in fields
        ):
            known = self.scenario_key if self._state.adding else ""
            kept = kept_beside_run(self.scenario, key=known)
            for field, value in kept.items():
                setattr(self, field, value)
            if fields is not None:
                kwargs["update_fields"] = {*fields, *kept}
        super().save(*args, **kwargs)

    def scenario_outline(self) -> dict:
        """``outline(scenario)``: kept, or (a run stored before it was kept) from the scenario."""
        return self.outline if self.outline is not None else outline(self.scenario)

    def kept_scenario_key(self) -> str:
        return self.scenario_key or scenario_key(self.scenario)


class FleetRunMessage(StoredEvent):
    """One aggregated progress frame of a fleet run (a slice of simulated time)."""

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="events")

    class Meta(StoredEvent.Meta):
        db_table = "playground_fleetrunmessage"
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_fleet_message_seq_per_run"),
        ]


class FleetRunVm(models.Model):
    """What happened to one VM of a finished fleet run (the CSV's row, and its timeline)."""

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="vms")
    name = models.CharField(max_length=200)
    host = models.CharField(max_length=200, help_text="the host it started on")
    rack = models.CharField(max_length=200)
    outcome = models.CharField(max_length=20)
    data = models.JSONField()

    class Meta:
        db_table = "playground_fleetrunvm"
        ordering = ["run", "id"]
        indexes = [
            models.Index(fields=["run", "host"], name="playground__run_id_62be8f_idx"),
            models.Index(fields=["run", "name"], name="playground__run_id_1d248a_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.outcome})"


class FleetPlan(LeasedRun):
    """The plan of one scenario (the dry run: the engine's prediction and the binding limit),
    computed once by a worker, as a run of kind ``"plan"``, and kept: ``key`` is the hash of the
    scenario (its seed included), so every page view and the approval read the same plan and no
    request ever computes one. Who may see it is the fleet's business (``fleets.planning``)."""

    kind = "plan"
    key = models.CharField(max_length=64, unique=True)
    scenario = models.JSONField()
    plan = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"plan {self.pk} ({self.status})"

    def progress(self) -> str:
        """What the worker is doing now, in words ("" before it starts)."""
        row = self.events.order_by("-seq").first()
        return row.payload.get("text", "") if row else ""


class FleetPlanEvent(StoredEvent):
    """A step of a plan's computation ("Relaxing the per-migration cap (3 of 9)")."""

    run = models.ForeignKey(FleetPlan, on_delete=models.CASCADE, related_name="events")

    class Meta(StoredEvent.Meta):
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_plan_event_seq"),
        ]


class FleetRunLog(models.Model):
    """A slice of a finished fleet run's event log (JSON lines, gzip, ``CHUNK_BYTES`` a slice):
    the worker writes it as the run finishes, the events export streams it back. No request
    ever simulates."""

    CHUNK_BYTES = 1024 * 1024

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_log_chunk")]

    def __str__(self) -> str:
        return f"{self.run} log #{self.seq}"


class FleetRunRoster(models.Model):
    """A slice of a fleet run's roster (``migrationsim.fleet.roster``): every VM's facts as the
    fleet was built, written by the worker as the run starts, so that a VM's anatomy opens
    while the run goes without a request building the fleet. ``seq`` 0 is the header, 1 and on
    the slices."""

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="roster")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_roster_slice")]

    def __str__(self) -> str:
        return f"{self.run} roster #{self.seq}"


class Sweep(Owned):
    """One or two scenario parameters over a few values each: a run per combination."""

    fleet = models.ForeignKey(
        Fleet, on_delete=models.SET_NULL, null=True, blank=True, related_name="sweeps"
    )
    name = models.CharField(max_length=120, blank=True, default="")
    scenario = models.JSONField(help_text="the base scenario (a snapshot)")
    x_param = models.CharField(max_length=60)
    x_values = models.JSONField()
    y_param = models.CharField(max_length=60, blank=True, default="")
    y_values = models.JSONField(default=list, blank=True)
    metric = models.CharField(max_length=40, default="makespan_s")
    created = models.DateTimeField(default=timezone.now)
    submission = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="the sweep form's one-time token it was made by (one sweep per token)",
    )

    class Meta:
        db_table = "playground_sweep"
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission"],
                condition=~models.Q(submission=""),
                name="one_sweep_per_submission",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"sweep {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("sweep-detail", args=[self.pk])
