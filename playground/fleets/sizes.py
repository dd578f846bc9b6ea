"""How big a fleet is, read from its scenario without validating it (the fleet list shows many;
the form checks the web's limits before the engine's): hosts, and VMs at most."""

from __future__ import annotations

from .field_kinds import whole_number
from .fields import DEFAULTS
from .paths import lookup


def host_count(scenario: dict) -> int:
    racks = (scenario.get("fleet") or {}).get("racks") or []
    return sum(
        whole_number(group.get("count", 1)) * whole_number(group.get("hosts", 0)) for group in racks
    )


def vm_count(scenario: dict) -> int:
    zone = scenario.get("fleet") or {}
    if zone.get("vm_list"):
        return len(zone["vm_list"])
    return host_count(scenario) * whole_number(lookup(scenario, "fleet.vms.per_host", DEFAULTS))
