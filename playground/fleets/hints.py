"""The fleet form's hints that name a default, written from migrationsim's own defaults (the
single-VM parameter table, the policies' defaults, the scenario schema's per-kind defaults),
so a hint cannot say "blank: none" where the engine assumes 150 s per GiB."""

from __future__ import annotations

from migrationsim.fleet.scenario import (
    DEFAULT_FAILURE_AFTER_S,
    DEFAULT_HOST_DOWNTIME_S,
    DEFAULT_MAX_HOSTS_IN_MAINTENANCE,
    EVENT_KIND_WORDS,
)
from migrationsim.spec import PARAMETERS, POLICY_DEFAULTS


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def _rate(bps: float) -> str:
    """Bytes/s as one would type it: 134217728 -> ``128MiB/s``."""
    for unit, scale in (("GiB/s", 2**30), ("MiB/s", 2**20), ("KiB/s", 2**10)):
        if bps >= scale:
            return f"{bps / scale:g}{unit}"
    return f"{bps:g}B/s"


def _per_kind(defaults: dict, show) -> str:
    return ", ".join(
        f"{EVENT_KIND_WORDS.get(kind, kind)} {show(v)}" for kind, v in defaults.items()
    )


def downtime_limit() -> str:
    return f"blank: {PARAMETERS['downtime_limit'].default} (QEMU's default)"


def max_bandwidth() -> str:
    capped = {p: d["max_bandwidth"] for p, d in POLICY_DEFAULTS.items() if d["max_bandwidth"]}
    uncapped = [p for p, d in POLICY_DEFAULTS.items() if not d["max_bandwidth"]]
    said = "; ".join(f"{p} {_rate(bps)}" for p, bps in capped.items())
    return f"blank: the policy's default ({said}; none for {', '.join(uncapped)})"


def completion_timeout() -> str:
    per_gib = PARAMETERS["completion_timeout"].default
    return f"per GiB of memory; blank: {per_gib} per GiB (the default)"


def timeout_action() -> str:
    return f"the default ({PARAMETERS['timeout_action'].default})"


def host_downtime() -> str:
    return "blank: the kind's default (" + _per_kind(DEFAULT_HOST_DOWNTIME_S, _minutes) + ")"


def max_hosts_in_maintenance() -> str:
    return (
        "a count (2) or a share (10%); blank: the kind's default ("
        + _per_kind(DEFAULT_MAX_HOSTS_IN_MAINTENANCE, str)
        + ")"
    )


def failure_after() -> str:
    return f"hardware failures only; blank: {_minutes(DEFAULT_FAILURE_AFTER_S)}"
