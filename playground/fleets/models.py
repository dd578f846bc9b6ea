"""A ``Fleet`` is a zone and its VM mix, the policy and the rollout caps; its ``MaintenanceEvent``
rows say what is patched when. Together they are the engine's scenario file.
A ``FleetRun`` is one run of a scenario snapshot; its ``FleetRunMessage`` rows are the
aggregated progress frames, numbered so a viewer can resume; ``FleetRunVm`` one row per VM.
A ``Sweep`` is a grid of runs over one or two scenario parameters.

The tables keep the names they had before the apps were split (``db_table``: see
``playground/migrations/0006_models_moved_to_their_apps.py``)."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from playground.accounts.models import Owned
from playground.runs.models import LeasedRun, StoredEvent


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
        db_table = "playground_fleet"
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
        from .fields import fleet_to_scenario

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
        db_table = "playground_maintenanceevent"
        ordering = ["fleet", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class FleetRun(LeasedRun, Owned):
    kind = "fleet"
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

    class Meta(LeasedRun.Meta):
        db_table = "playground_fleetrun"

    def __str__(self) -> str:
        return f"fleet run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("fleet-run", args=[self.pk])


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
        indexes = [models.Index(fields=["run", "host"], name="playground__run_id_62be8f_idx"),
                   models.Index(fields=["run", "name"], name="playground__run_id_1d248a_idx")]

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
        db_table = "playground_sweep"
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name or f"sweep {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("sweep-detail", args=[self.pk])


