"""A scenario's key: the hash that names its plan (``FleetPlan.key``) and is kept beside a
fleet's scenario (``Fleet.scenario_key``), so that a page polled every second finds the plan
without reading and hashing megabytes of scenario."""

from __future__ import annotations

import hashlib
import json


def scenario_key(scenario: dict) -> str:
    """The same scenario (seed included), the same key, whatever the order of its keys."""
    text = json.dumps(scenario, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
