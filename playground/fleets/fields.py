"""The fleet form's fields and where each one lives in the engine's scenario dict: one table
(``FLEET_FIELDS``; ``EVENT_FIELDS`` for one maintenance event). Each row names the form field,
its scenario path, the form field itself and the conversion between the two (a share stored as
0..1 is shown in percent; a blank text, a false flag or a zero share means the key is absent),
and for a text field holding a size, rate or duration its ``unit`` (how the engine reads it,
how a page says it: the compare page says a value typed without its unit in it).

Reading fills a form from a scenario, with the engine's defaults (``DEFAULTS``) where a key is
absent. Writing puts what the visitor changed into a copy of the scenario, so every key no row
models (extra rack groups, a VM list, placement, failures, timing, other policy and network
keys, unknown keys of an event) is kept verbatim, and a form posted back unchanged leaves the
scenario as it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from migrationsim.fleet.scenario import workload_names
from migrationsim.spec import SEED_MAX

from . import hints
from .field_kinds import (
    DURATION,
    FLAG,
    HOST_LIMIT,
    MAX_DESCRIPTION,
    MIX_SHARE,
    NUMBER,
    PERCENT,
    RATE,
    SIZE,
    TEXT,
    TEXT_ATTRS,
    WHOLE,
    Conversion,
    Quantity,
    choice,
    description_field,
    flag,
    mix_share,
    percent,
    text,
    whole,
)
from .paths import ABSENT, lookup, put

# what the engine assumes when a key is absent (docs/fleet.md), by path
DEFAULTS: dict[str, Any] = {
    "name": "scenario",
    "seed": 1,
    "fleet.zone": "zone-a",
    "fleet.host.vcpus": 64,
    "fleet.host.memory": "256GiB",
    "fleet.host.nic": "10Gbit/s",
    "fleet.oversubscription": 1.0,
    "fleet.racks[0].name": "rack",
    "fleet.racks[0].count": 1,
    "fleet.vms.per_host": 8,
    "fleet.vms.memory": ["1GiB", "16GiB"],
    "fleet.vms.vcpus": [1, 8],
    "fleet.vms.mix": {"web": 1.0},
    "fleet.vms.customers": 20,
    "fleet.vms.anti_affinity_groups": 0,
    "fleet.vms.automatic_restart_share": 1.0,
    "network.migration_share": 0.5,
    "policy.name": "qemu",
    "caps.per_source_host": 2,
    "caps.per_target_host": 2,
}
EVENT_DEFAULTS: dict[str, Any] = {"start": "0s"}


# --- the tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str  # the form field
    path: str  # where its value lives in the scenario
    field: forms.Field
    convert: Conversion = TEXT
    unit: Quantity | None = None  # a size, rate or duration typed as text (a bare number too)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def form_fields(self) -> dict[str, forms.Field]:
        return {self.name: copy.deepcopy(self.field)}

    def initial(self, scenario: dict, defaults: dict) -> dict:
        value = lookup(scenario, self.path, defaults)
        return {self.name: self.convert.blank if value is ABSENT else self.convert.read(value)}

    def write(self, scenario: dict, cleaned: dict, defaults: dict) -> None:
        put(scenario, self.path, self.convert.write(cleaned[self.name]), defaults)


@dataclass(frozen=True)
class ScopeRow(Row):
    """An event's scope: its kind (the whole zone, zones of a region, racks or hosts) and the
    names, two fields, one mapping."""

    names_field: forms.Field = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, "scope_names")

    def form_fields(self) -> dict[str, forms.Field]:
        return {**super().form_fields(), "scope_names": copy.deepcopy(self.names_field)}

    def initial(self, event: dict, defaults: dict) -> dict:
        scope = event.get(self.path) or {}
        kind = next((k for k in ("zone", "zones", "racks") if scope.get(k)), "hosts")
        names = "" if kind == "zone" else ", ".join(str(n) for n in scope.get(kind, []))
        return {self.name: kind, "scope_names": names}

    def write(self, event: dict, cleaned: dict, defaults: dict) -> None:
        kind, names = cleaned[self.name], cleaned["scope_names"] or ""
        names = [n.strip() for n in names.replace("\n", ",").split(",") if n.strip()]
        event[self.path] = {"zone": True} if kind == "zone" else {kind: names}


POLICIES = [
    ("qemu", "qemu: stop when pending < bandwidth x downtime limit"),
    ("xen", "xen: at most 29 rounds or 3x memory"),
    ("textbook", "textbook: Liu/Akoush"),
    ("gce", "gce: diminishing returns"),
]
TIMEOUT_ACTIONS = [
    ("", hints.timeout_action()),
    ("abort", "abort: the VM stays on its source"),
    ("force-complete", "force-complete: pause and finish"),
    ("post-copy", "post-copy: switch and pull the rest"),
]
NO_CAP = "blank: no cap"

FLEET_FIELDS: tuple[Row, ...] = (
    Row("name", "name", text("Name", max_length=200)),
    Row("description", "description", description_field()),
    Row("seed", "seed", whole("Seed", "same seed and scenario: same run", high=SEED_MAX), WHOLE),
    Row("zone", "fleet.zone", text("Zone", max_length=200)),
    Row("racks", "fleet.racks[0].count", whole("Racks", high=10_000), WHOLE),
    Row("hosts_per_rack", "fleet.racks[0].hosts", whole("Hosts per rack", high=1000), WHOLE),
    Row("rack_prefix", "fleet.racks[0].name", text("Rack name prefix", max_length=200)),
    Row("host_vcpus", "fleet.host.vcpus", whole("vCPUs per host"), WHOLE),
    Row("host_memory", "fleet.host.memory", text("Memory per host", "256GiB"), unit=SIZE),
    Row("host_nic", "fleet.host.nic", text("Host NIC speed", "10Gbit/s"), unit=RATE),
    Row(
        "uplink",
        "fleet.racks[0].uplink",
        text("Rack uplink", "40Gbit/s", "blank: hosts x NIC / oversubscription", required=False),
        unit=RATE,
    ),
    Row(
        "oversubscription",
        "fleet.oversubscription",
        forms.FloatField(label="Oversubscription (hosts x NIC : uplink)"),
        NUMBER,
    ),
    Row(
        "spine",
        "fleet.spine",
        text("Spine capacity", "1.6Tbit/s", "blank: non-blocking", required=False),
        unit=RATE,
    ),
    Row(
        "migration_share",
        "network.migration_share",
        percent("NIC share for migrations (%)", "% of a host NIC for migrations"),
        PERCENT,
    ),
    Row("vms_per_host", "fleet.vms.per_host", whole("VMs per host"), WHOLE),
    Row("vm_memory_min", "fleet.vms.memory[0]", text("VM memory from", "1GiB"), unit=SIZE),
    Row("vm_memory_max", "fleet.vms.memory[1]", text("to", "16GiB"), unit=SIZE),
    Row("vm_vcpus_min", "fleet.vms.vcpus[0]", whole("VM vCPUs from"), WHOLE),
    Row("vm_vcpus_max", "fleet.vms.vcpus[1]", whole("to"), WHOLE),
    Row("customers", "fleet.vms.customers", whole("Customers"), WHOLE),
    *(
        Row(f"mix_{name}", f"fleet.vms.mix.{name}", mix_share(name), MIX_SHARE)
        for name in workload_names()
    ),
    Row("gpu_share", "fleet.vms.gpu_share", percent("GPU VMs (%)", "% of VMs with a GPU"), PERCENT),
    Row("spot_share", "fleet.vms.spot_share", percent("Spot VMs (%)"), PERCENT),
    Row(
        "terminate_share",
        "fleet.vms.terminate_share",
        percent("Terminate on maintenance (%)", "onHostMaintenance: TERMINATE"),
        PERCENT,
    ),
    Row(
        "watching_share",
        "fleet.vms.watching_share",
        percent("Guests watching maintenance-event (%)", "they get the 60 s notice"),
        PERCENT,
    ),
    Row(
        "automatic_restart_share",
        "fleet.vms.automatic_restart_share",
        percent("automaticRestart (%)"),
        PERCENT,
    ),
    Row(
        "anti_affinity_share",
        "fleet.vms.anti_affinity_share",
        percent("VMs in an anti-affinity group (%)"),
        PERCENT,
    ),
    Row(
        "anti_affinity_groups",
        "fleet.vms.anti_affinity_groups",
        whole("Anti-affinity groups"),
        WHOLE,
    ),
    Row("policy", "policy.name", choice("Convergence policy", POLICIES)),
    Row(
        "downtime_limit",
        "policy.downtime_limit",
        text("Downtime limit", "300ms", hints.downtime_limit(), required=False),
        unit=DURATION,
    ),
    Row(
        "max_bandwidth",
        "policy.max_bandwidth",
        text("Bandwidth cap per migration", "128MiB/s", hints.max_bandwidth(), required=False),
        unit=RATE,
    ),
    Row(
        "completion_timeout",
        "policy.completion_timeout",
        text("Completion timeout", "150s", hints.completion_timeout(), required=False),
        unit=DURATION,
    ),
    Row(
        "timeout_action",
        "policy.timeout_action",
        choice("At the timeout", TIMEOUT_ACTIONS, required=False),
    ),
    Row("auto_converge", "policy.auto_converge", flag("Auto-converge"), FLAG),
    Row("post_copy", "policy.post_copy", flag("Post-copy"), FLAG),
    Row(
        "cap_per_source_host",
        "caps.per_source_host",
        whole("Per source host", "migrations leaving one host at once", low=1, high=1000),
        WHOLE,
    ),
    Row(
        "cap_per_target_host",
        "caps.per_target_host",
        whole("Per target host", "migrations arriving on one host at once", low=1, high=1000),
        WHOLE,
    ),
    Row("cap_per_rack", "caps.per_rack", whole("Per rack", NO_CAP, required=False), WHOLE),
    Row(
        "cap_per_customer",
        "caps.per_customer",
        whole("Per customer", NO_CAP, required=False),
        WHOLE,
    ),
    Row("cap_global", "caps.global", whole("In the zone (global)", NO_CAP, required=False), WHOLE),
    Row(
        "headroom",
        "caps.headroom",
        percent("Capacity headroom (%)", "% of each host kept free"),
        PERCENT,
    ),
)

EVENT_KINDS = [
    ("bios_rollout", "BIOS rollout"),
    ("urgent_patch", "Urgent patch (with a deadline)"),
    ("kernel_upgrade", "Kernel upgrade"),
    ("hw_failure", "Impending hardware failure"),
]
SCOPES = [("zone", "The whole zone"), ("zones", "Zones"), ("racks", "Racks"), ("hosts", "Hosts")]

EVENT_FIELDS: tuple[Row, ...] = (
    Row(
        "name",
        "name",
        text("Name", help_text="blank: the kind and its number", required=False, max_length=200),
    ),
    Row("kind", "kind", choice("Kind", EVENT_KINDS)),
    ScopeRow(
        "scope",
        "scope",
        choice("Scope", SCOPES),
        names_field=forms.CharField(
            label="Zones, racks or hosts",
            required=False,
            validators=[MaxLengthValidator(MAX_DESCRIPTION)],
            help_text="e.g. region-1-a, rack1, rack2 or rack1-h3 (not for the whole zone)",
            widget=forms.TextInput(attrs={"placeholder": "rack1, rack2", **TEXT_ATTRS}),
        ),
    ),
    Row(
        "start",
        "start",
        text("Start", "0s", "after the run starts; blank: 0s", required=False),
        unit=DURATION,
    ),
    Row(
        "deadline",
        "deadline",
        text(
            "Deadline",
            "12h",
            "urgent patches: hosts still busy then are rebooted anyway",
            required=False,
        ),
        unit=DURATION,
    ),
    Row(
        "max_hosts_in_maintenance",
        "max_hosts_in_maintenance",
        text("Hosts out at once", "10%", hints.max_hosts_in_maintenance(), required=False),
        HOST_LIMIT,
    ),
    Row(
        "window_start",
        "window.start",
        text("Window opens", "1h", "migrations start only in the window (daily)", required=False),
        unit=DURATION,
    ),
    Row("window_end", "window.end", text("Window closes", "5h", required=False), unit=DURATION),
    Row(
        "host_downtime",
        "host_downtime",
        text("Host downtime", "10min", hints.host_downtime(), required=False),
        unit=DURATION,
    ),
    Row(
        "failure_after",
        "failure_after",
        text("Mean time to failure", "30min", hints.failure_after(), required=False),
        unit=DURATION,
    ),
)


def form_fields(rows: tuple[Row, ...]) -> dict[str, forms.Field]:
    return {name: field for row in rows for name, field in row.form_fields().items()}


def initial(rows: tuple[Row, ...], scenario: dict, defaults: dict) -> dict:
    out: dict[str, Any] = {}
    for row in rows:
        out.update(row.initial(scenario, defaults))
    return out


def written(rows: tuple[Row, ...], scenario: dict, cleaned: dict, changed, defaults: dict) -> dict:
    """A copy of ``scenario`` with the rows whose fields are in ``changed`` written into it."""
    out = copy.deepcopy(scenario)
    for row in rows:
        if set(row.names) & set(changed):
            row.write(out, cleaned, defaults)
    return out


def row_for(path: str, rows: tuple[Row, ...]) -> str | None:
    """The form field that edits ``path`` (a scenario path, as in the engine's errors)."""
    return next((row.name for row in rows if row.path == path), None)


def with_policy_spelled_as_the_form_reads_it(scenario: dict) -> dict:
    """The engine reads a policy's keys with dashes or underscores and its name as ``name`` or
    ``policy``; the form reads ``max_bandwidth`` and ``name``. The same scenario to the engine."""
    policy = scenario.get("policy")
    if not isinstance(policy, dict):
        return scenario
    spelled = {key.replace("-", "_"): value for key, value in policy.items()}
    if "policy" in spelled:
        spelled["name"] = spelled.pop("policy")
    return {**scenario, "policy": spelled}


def unmodelled_paths(scenario: dict) -> list[str]:
    """The parts of a scenario (but its events) that no field edits, kept as they are:
    ``["fleet.racks[1]", "network.fabric_convergence"]``."""
    modelled = {row.path for row in FLEET_FIELDS}
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if path in modelled or f"{path}[0]" in modelled:  # a field, or a pair of two
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else key)
        elif path == "fleet.racks" and isinstance(value, list):
            walk(value[0], "fleet.racks[0]")
            found.extend(f"fleet.racks[{i}]" for i in range(1, len(value)))
        else:
            found.append(path)

    walk({k: v for k, v in scenario.items() if k != "events"}, "")
    return found
