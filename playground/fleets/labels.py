"""Every scenario path as a page names it: ``parameter("events[0].failure_after")`` is the label
"Mean time to failure (event 1)" with the duration unit the engine reads a bare number in.

The one mapping: the form's table (``fields.FLEET_FIELDS``, ``EVENT_FIELDS``) names the keys
the form edits; ``LABELS`` names the rest (rack groups after the first, the ranges the form
edits as two fields, an event's scope, network, placement, failures, timing, a VM list) and
the form's labels that need their context off the form ("to", "Per source host"); a policy key
the form does not edit is named by the single-VM model's help text (``migrationsim.spec``).
A share stored as 0..1 is shown in percent and its label says ``(%)``; a size, rate or duration
carries its ``unit`` (a value typed without one is said in it). A key nothing names (the engine
refuses unknown keys, so none should reach a page) is said in words, never as a raw key.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrationsim.spec import PARAMETERS
from migrationsim.units import parse_bytes, parse_duration, parse_rate

from .field_kinds import DURATION, PERCENT, RATE, SIZE, TEXT, Conversion, Quantity
from .fields import EVENT_FIELDS, FLEET_FIELDS
from .paths import steps, text


@dataclass(frozen=True)
class Parameter:
    label: str
    convert: Conversion = TEXT  # PERCENT: a share stored as 0..1, shown in percent
    unit: Quantity | None = None  # a size, rate or duration


def _share(label: str) -> Parameter:
    return Parameter(label, PERCENT)


# Scenario paths the form's table leaves unnamed or names only in the form's context.
# ``fleet.racks[0]`` stands for every rack group, ``events[0]`` for every event.
LABELS: dict[str, Parameter] = {
    "fleet.racks[0].zone": Parameter("Zone"),
    "fleet.racks[0].host.vcpus": Parameter("vCPUs per host"),
    "fleet.racks[0].host.memory": Parameter("Memory per host", unit=SIZE),
    "fleet.racks[0].host.nic": Parameter("Host NIC speed", unit=RATE),
    "fleet.vms.memory": Parameter("VM memory (from – to)"),  # each end: its own row below
    "fleet.vms.memory[0]": Parameter("VM memory from", unit=SIZE),
    "fleet.vms.memory[1]": Parameter("VM memory to", unit=SIZE),
    "fleet.vms.vcpus": Parameter("VM vCPUs (from – to)"),
    "fleet.vms.vcpus[0]": Parameter("VM vCPUs from"),
    "fleet.vms.vcpus[1]": Parameter("VM vCPUs to"),
    "fleet.vm_list[0].name": Parameter("Name"),
    "fleet.vm_list[0].host": Parameter("Host"),
    "fleet.vm_list[0].workload": Parameter("Workload"),
    "fleet.vm_list[0].accelerator": Parameter("Accelerator"),
    "fleet.vm_list[0].memory": Parameter("Memory", unit=SIZE),
    "fleet.vm_list[0].vcpus": Parameter("vCPUs"),
    "fleet.vm_list[0].customer": Parameter("Customer"),
    "fleet.vm_list[0].anti_affinity": Parameter("Anti-affinity group"),
    "fleet.vm_list[0].automatic_restart": Parameter("automaticRestart"),
    "fleet.vm_list[0].on_host_maintenance": Parameter("onHostMaintenance"),
    "fleet.vm_list[0].spot": Parameter("Spot VM"),
    "fleet.vm_list[0].watches_metadata": Parameter("Guest watches maintenance-event"),
    "caps.per_source_host": Parameter("Migrations per source host"),
    "caps.per_target_host": Parameter("Migrations per target host"),
    "caps.per_rack": Parameter("Migrations per rack"),
    "caps.per_customer": Parameter("Migrations per customer"),
    "caps.global": Parameter("Migrations in the zone (global)"),
    "network.fabric_convergence": Parameter("Fabric convergence (median)", unit=DURATION),
    "network.fabric_convergence_sigma": Parameter("Fabric convergence spread (log-normal sigma)"),
    "placement.scoring": Parameter("Placement scoring"),
    "placement.candidates": Parameter("Placement candidates (hosts sampled)"),
    "failures.auth_failure": _share("Authentication failure chance (%)"),
    "failures.target_failure": _share("Target host failure chance (%)"),
    "failures.source_failure": _share("Source host failure chance (%)"),
    "timing.target_setup": Parameter("Target setup time", unit=DURATION),
    "timing.cleanup": Parameter("Cleanup time", unit=DURATION),
    "timing.restart": Parameter("Restart time (automaticRestart)", unit=DURATION),
    "events[0].name": Parameter("Name"),
    "events[0].scope.zone": Parameter("Scope: the whole zone"),
    "events[0].scope.zones": Parameter("Scope: zones"),
    "events[0].scope.racks": Parameter("Scope: racks"),
    "events[0].scope.hosts": Parameter("Scope: hosts"),
}

_QUANTITIES = {parse_bytes: SIZE, parse_rate: RATE, parse_duration: DURATION}


def _from_row(row) -> Parameter:
    return Parameter(str(row.field.label), row.convert, row.unit)


def _policy(key: str) -> Parameter | None:
    """A single-VM parameter in a fleet's policy, by the model's help text (its first clause)."""
    known = PARAMETERS.get(key.replace("-", "_"))
    if known is None:
        return None
    said = known.help.split(" (e.g.")[0]
    return Parameter(said[:1].upper() + said[1:], unit=_QUANTITIES.get(known.parse))


def _words(path: str) -> str:
    last = next((s for s in reversed(steps(path)) if isinstance(s, str)), path)
    said = str(last).replace("_", " ").replace("-", " ")
    return said[:1].upper() + said[1:]


def _named(path: str, rows) -> Parameter | None:
    if path in LABELS:
        return LABELS[path]
    row = next((r for r in rows if r.path == path), None)
    return _from_row(row) if row is not None else None


def parameter(path: str) -> Parameter:
    """The label, conversion and unit of the scenario value at ``path`` (as the engine writes
    paths in its errors: ``fleet.racks[1].hosts``, ``events[0].window.start``)."""
    walked = steps(path)
    if len(walked) >= 2 and walked[0] == "events" and isinstance(walked[1], int):
        inner = text(walked[2:])
        named = _named(f"events[0].{inner}", ()) or _named(inner, EVENT_FIELDS)
        said = named or Parameter(_words(path))
        return Parameter(f"{said.label} (event {walked[1] + 1})", said.convert, said.unit)
    if len(walked) >= 4 and walked[:2] == ("fleet", "vm_list") and isinstance(walked[2], int):
        said = _named(text(("fleet", "vm_list", 0, *walked[3:])), ()) or Parameter(_words(path))
        return Parameter(f"{said.label} (VM {walked[2] + 1})", said.convert, said.unit)
    if len(walked) >= 4 and walked[:2] == ("fleet", "racks") and isinstance(walked[2], int):
        first = text(("fleet", "racks", 0, *walked[3:]))
        said = _named(first, FLEET_FIELDS) or Parameter(_words(path))
        if walked[2] == 0 and first not in LABELS:  # the form's own row: the first rack group
            return said
        return Parameter(f"{said.label} (rack group {walked[2] + 1})", said.convert, said.unit)
    if walked[:1] == ("fleet",) and walked[1:3] == ("vms", "mix") and len(walked) == 4:
        return _share(f"Workload mix: {walked[3]} (%)")
    named = _named(path, FLEET_FIELDS)
    if named is not None:
        return named
    if len(walked) == 2 and walked[0] == "policy" and (said := _policy(str(walked[1]))):
        return said
    return Parameter(_words(path))
