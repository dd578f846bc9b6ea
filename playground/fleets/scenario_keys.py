"""A scenario's key: the hash that names its plan (``FleetPlan.key``) and is kept beside a
fleet's scenario (``Fleet.scenario_key``) and a run's (``FleetRun.scenario_key``), so that a
page finds the plan without reading and hashing megabytes of scenario. A run keeps its
scenario's outline beside it too, and the key of its listed VMs: its page and the comparison
of runs read those, not a list of 100,000 VMs."""

from __future__ import annotations

import hashlib
import json

from migrationsim.fleet.frame_zones import racks_only


def scenario_key(scenario: dict) -> str:
    """The same scenario (seed included), the same key, whatever the order of its keys."""
    return _key(scenario)


def outline(scenario: dict) -> dict:
    """The scenario with a listed fleet's VMs (``fleet.vm_list``) cut to the first: all a run's
    page reads of it (its racks and zones, its events' kinds), and, for runs whose lists are
    the same (``listed_key``), all that can differ between them."""
    return racks_only(scenario)


def listed_key(scenario: dict) -> str:
    """The key of a listed fleet's VMs ("" if the scenario lists none): the same VMs, the
    same key."""
    fleet = scenario.get("fleet") if isinstance(scenario, dict) else None
    listed = fleet.get("vm_list") if isinstance(fleet, dict) else None
    return _key(listed) if isinstance(listed, list) and listed else ""


def _key(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
