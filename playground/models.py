"""A ``Run`` is one simulated migration asked for in the browser; its ``RunEvent`` rows are the
model's event stream, numbered per run so a client can resume after any sequence number."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Owned(models.Model):
    """Who a row belongs to (``playground/access.py`` decides who may see it): a signed-in
    ``owner``, or for an anonymous visitor the random ``visitor_key`` kept in their session.
    Neither (rows made before accounts, by the CLI or in the admin): staff only."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.CASCADE, related_name="+")
    visitor_key = models.CharField(max_length=64, blank=True, default="", db_index=True,
                                   help_text="the anonymous visitor (session) who made it")

    class Meta:
        abstract = True


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
        null=True, blank=True, default=timezone.now,
        help_text="running: the worker's last heartbeat; queued: when the task was last sent")
    worker = models.CharField(max_length=200, blank=True, default="",
                              help_text="host:pid of the worker that claimed it last")

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]

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
            if cls.objects.filter(id=run_id, status=RunStatus.QUEUED).update(
                    status=RunStatus.RUNNING, started=now, heartbeat_at=now, worker=worker[:200],
                    attempts=F("attempts") + 1) != 1:
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
        rows = (cls.objects.filter(id=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
                if attempt is None else cls._holding(run_id, attempt))
        return rows.update(status=RunStatus.FAILED, error=error, finished=timezone.now()) == 1

    # --- the reaper's transitions (only for a lease that expired before ``cutoff``) -----------

    @classmethod
    def stale(cls, cutoff: datetime):
        return cls.objects.filter(status=RunStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started__lt=cutoff))

    @classmethod
    def requeue(cls, run_id: int, attempt: int, cutoff: datetime) -> bool:
        """Give a run whose worker stopped beating back to the queue (that attempt only)."""
        return cls.stale(cutoff).filter(id=run_id, attempts=attempt).update(
            status=RunStatus.QUEUED, heartbeat_at=timezone.now(), worker="") == 1

    @classmethod
    def give_up(cls, run_id: int, attempt: int, cutoff: datetime, error: str) -> bool:
        return cls.stale(cutoff).filter(id=run_id, attempts=attempt).update(
            status=RunStatus.FAILED, error=error, finished=timezone.now()) == 1

    @classmethod
    def resend(cls, run_id: int, cutoff: datetime) -> bool:
        """A run queued since before ``cutoff`` (its message may be lost): mark it sent now."""
        return cls.objects.filter(id=run_id, status=RunStatus.QUEUED).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created__lt=cutoff)
        ).update(heartbeat_at=timezone.now()) == 1


class Run(LeasedRun, Owned):
    params = models.JSONField(help_text="The form's values, as typed (units included).")
    seed = models.BigIntegerField(default=1)

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run-detail", args=[self.pk])

    @property
    def group_name(self) -> str:
        return group_name_for(self.pk)

    @classmethod
    def finish(cls, run_id: int, *, attempt: int | None = None) -> bool:
        return cls._holding(run_id, attempt).update(
            status=RunStatus.DONE, finished=timezone.now()) == 1

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


# --- fleets ----------------------------------------------------------------------------------
# A ``Fleet`` is a zone and its VM mix, the policy and the rollout caps; its ``MaintenanceEvent``
# rows say what is patched when. Together they are the engine's scenario file (``to_scenario``
# / ``from_scenario``: what the form does not model is kept verbatim in ``extra``).
# A ``FleetRun`` is one run of a scenario snapshot; its ``FleetRunMessage`` rows are the
# aggregated progress frames, numbered so a viewer can resume; ``FleetRunVm`` one row per VM.


class Fleet(Owned):
    name = models.CharField(max_length=200)  # names as long as the engine takes (200)
    description = models.TextField(blank=True, default="")
    seed = models.BigIntegerField(default=1)
    source = models.CharField(max_length=40, blank=True, default="",
                              help_text="the preset or file it was created from")
    # the zone
    zone = models.CharField(max_length=200, default="zone-a")
    rack_prefix = models.CharField(max_length=200, default="rack")
    racks = models.PositiveIntegerField(default=2)
    hosts_per_rack = models.PositiveIntegerField(default=4)
    host_vcpus = models.PositiveIntegerField(default=64)
    host_memory = models.CharField(max_length=20, default="256GiB")
    host_nic = models.CharField(max_length=20, default="10Gbit/s")
    uplink = models.CharField(max_length=20, blank=True, default="")
    oversubscription = models.FloatField(default=1.0)
    spine = models.CharField(max_length=20, blank=True, default="")
    migration_share = models.FloatField(default=50.0, help_text="% of a host NIC for migrations")
    # the VMs
    vms_per_host = models.PositiveIntegerField(default=8)
    vm_memory_min = models.CharField(max_length=20, default="1GiB")
    vm_memory_max = models.CharField(max_length=20, default="16GiB")
    vm_vcpus_min = models.PositiveIntegerField(default=1)
    vm_vcpus_max = models.PositiveIntegerField(default=4)
    mix = models.JSONField(default=dict, help_text="workload preset -> percent")
    customers = models.PositiveIntegerField(default=20)
    anti_affinity_groups = models.PositiveIntegerField(default=0)
    anti_affinity_share = models.FloatField(default=0.0)
    gpu_share = models.FloatField(default=0.0, help_text="% of VMs with a GPU")
    spot_share = models.FloatField(default=0.0)
    terminate_share = models.FloatField(default=0.0)
    watching_share = models.FloatField(default=0.0)
    automatic_restart_share = models.FloatField(default=100.0)
    # the policy
    policy = models.CharField(max_length=20, default="qemu")
    downtime_limit = models.CharField(max_length=20, blank=True, default="300ms")
    max_bandwidth = models.CharField(max_length=20, blank=True, default="")
    auto_converge = models.BooleanField(default=False)
    post_copy = models.BooleanField(default=False)
    completion_timeout = models.CharField(max_length=20, blank=True, default="")
    timeout_action = models.CharField(max_length=20, blank=True, default="")
    # the caps
    cap_per_source_host = models.PositiveIntegerField(null=True, blank=True, default=2)
    cap_per_target_host = models.PositiveIntegerField(null=True, blank=True, default=2)
    cap_per_rack = models.PositiveIntegerField(null=True, blank=True)
    cap_per_customer = models.PositiveIntegerField(null=True, blank=True)
    cap_global = models.PositiveIntegerField(null=True, blank=True)
    headroom = models.FloatField(default=0.0, help_text="% of each host kept free")
    extra = models.JSONField(default=dict, blank=True,
                             help_text="scenario keys the form does not edit, kept verbatim")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("fleet-edit", args=[self.pk])

    @property
    def host_count(self) -> int:
        return self.racks * self.hosts_per_rack + sum(
            int(g.get("count", 1)) * int(g.get("hosts", 0)) for g in self.extra.get("more_racks", []))

    @property
    def vm_count(self) -> int:
        if self.extra.get("fleet", {}).get("vm_list"):
            return len(self.extra["fleet"]["vm_list"])
        return self.host_count * self.vms_per_host

    def to_scenario(self, events=None) -> dict:
        """The engine's scenario dict (what the YAML/JSON export holds)."""
        from .fleet_scenario import fleet_to_scenario

        return fleet_to_scenario(self, list(self.events.all()) if events is None else events)


class EventKind(models.TextChoices):
    BIOS_ROLLOUT = "bios_rollout", "BIOS rollout"
    URGENT_PATCH = "urgent_patch", "Urgent patch (with a deadline)"
    KERNEL_UPGRADE = "kernel_upgrade", "Kernel upgrade"
    HW_FAILURE = "hw_failure", "Impending hardware failure"


class ScopeKind(models.TextChoices):
    ZONE = "zone", "The whole zone"
    RACKS = "racks", "Racks"
    HOSTS = "hosts", "Hosts"


class MaintenanceEvent(models.Model):
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="events")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=EventKind.choices, default=EventKind.KERNEL_UPGRADE)
    start = models.CharField(max_length=20, blank=True, default="0s")
    scope = models.CharField(max_length=10, choices=ScopeKind.choices, default=ScopeKind.ZONE)
    scope_names = models.TextField(blank=True, default="",
                                   help_text="rack or host names, separated by commas")
    deadline = models.CharField(max_length=20, blank=True, default="")
    window_start = models.CharField(max_length=20, blank=True, default="")
    window_end = models.CharField(max_length=20, blank=True, default="")
    max_hosts_in_maintenance = models.CharField(max_length=20, blank=True, default="")
    host_downtime = models.CharField(max_length=20, blank=True, default="")
    failure_after = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["fleet", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class FleetRun(LeasedRun, Owned):
    fleet = models.ForeignKey(Fleet, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="runs")
    sweep = models.ForeignKey("Sweep", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="runs")
    sweep_point = models.JSONField(default=dict, blank=True)
    name = models.CharField(max_length=120, blank=True, default="")
    seed = models.BigIntegerField(default=1)
    scenario = models.JSONField(help_text="the scenario as run (a snapshot)")
    plan = models.JSONField(default=dict, blank=True)
    bucket_s = models.FloatField(default=60.0, help_text="simulated seconds per progress frame")
    summary = models.JSONField(null=True, blank=True)
    series = models.JSONField(null=True, blank=True, help_text="compact series for comparisons")

    def __str__(self) -> str:
        return f"fleet run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("fleet-run", args=[self.pk])

    @property
    def group_name(self) -> str:
        return fleet_group_name_for(self.pk)

    @classmethod
    def finish(cls, run_id: int, *, summary: dict, series: dict, attempt: int | None = None) -> bool:
        return cls._holding(run_id, attempt).update(
            status=RunStatus.DONE, summary=summary, series=series, finished=timezone.now()) == 1

    def messages_after(self, seq: int = 0, limit: int | None = None) -> list[dict]:
        rows = self.messages.filter(seq__gt=seq).order_by("seq")
        if limit is not None:
            rows = rows[:limit]
        return [row.as_message() for row in rows]


def fleet_group_name_for(run_id: int) -> str:
    return f"fleet.{run_id}"


class FleetRunMessage(models.Model):
    """One aggregated progress frame of a fleet run (a slice of simulated time)."""

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, default="frame")
    payload = models.JSONField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_fleet_message_seq_per_run"),
        ]

    def __str__(self) -> str:
        return f"fleet run {self.run_id} #{self.seq} {self.kind}"

    def as_message(self) -> dict:
        return {"seq": self.seq, **self.payload}


class FleetRunVm(models.Model):
    """What happened to one VM of a finished fleet run (the CSV's row, and its timeline)."""

    run = models.ForeignKey(FleetRun, on_delete=models.CASCADE, related_name="vms")
    name = models.CharField(max_length=200)
    host = models.CharField(max_length=200, help_text="the host it started on")
    rack = models.CharField(max_length=200)
    outcome = models.CharField(max_length=20)
    data = models.JSONField()

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "host"]), models.Index(fields=["run", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.outcome})"


class Sweep(Owned):
    """One or two scenario parameters over a few values each: a run per combination."""

    fleet = models.ForeignKey(Fleet, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="sweeps")
    name = models.CharField(max_length=120, blank=True, default="")
    scenario = models.JSONField(help_text="the base scenario (a snapshot)")
    x_param = models.CharField(max_length=60)
    x_values = models.JSONField()
    y_param = models.CharField(max_length=60, blank=True, default="")
    y_values = models.JSONField(default=list, blank=True)
    metric = models.CharField(max_length=40, default="makespan_s")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name or f"sweep {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("sweep-detail", args=[self.pk])


class RateLimitHit(models.Model):
    """One action counted by the rate limiter (``playground/limits.py``): a sliding window is
    the hits of a key in the last N seconds."""

    bucket = models.CharField(max_length=20)
    key = models.CharField(max_length=100)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["bucket", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.bucket} {self.key} {self.at:%H:%M:%S}"
