"""The parameters that differ between runs: their scenario dicts compared path by path
(``policy.downtime_limit``, ``events[0].max_hosts_in_maintenance``, as the engine names them in
its errors), each with its value in every run, in the scenario's own units (sizes and rates are
written with theirs; one typed without is said in the unit the engine reads it in, ``10`` seconds
as ``10 s``; a share stored as 0..1 is shown in percent, as the form shows it). A key
one run leaves out is shown as the engine's default for it when the form table knows one.
Every row is labelled in words, with its unit, from the one mapping of ``labels.parameter``.
"""

from __future__ import annotations

from typing import Any

from migrationsim.spec import POLICY_DEFAULTS

from .field_kinds import MIX_SHARE, PERCENT
from .fields import DEFAULTS, EVENT_DEFAULTS, EVENT_FIELDS, EVENT_KINDS, FLEET_FIELDS
from .labels import parameter
from .paths import ABSENT, lookup, steps, text

MAX_ROWS = 200  # a VM list edited VM by VM stays a readable table
_KIND_NAMES = dict(EVENT_KINDS)  # an event's kind as the form names it: "Kernel upgrade"
_SHARES = (PERCENT, MIX_SHARE)


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every value of a scenario by its path; a list of plain values (``[1GiB, 16GiB]``) is one
    value, a list of mappings (racks, events, a VM list) is walked item by item."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        out = {}
        for i, item in enumerate(value):
            out.update(leaves(item, f"{path}[{i}]"))
        return out
    return {path: value}


def _leaves_apart(value: Any, path: str, others: list, out: dict[str, Any]) -> dict[str, Any]:
    """``leaves(value)`` into ``out``, less the parts written alike in every one of ``others``
    (the other scenarios' values at the same place): none of their paths can differ, and a VM
    list of 100,000 VMs the runs share is skipped with one comparison, not walked path by path
    (6 such runs compared cost 6 s of a request's CPU)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            there = [o.get(key, ABSENT) if isinstance(o, dict) else ABSENT for o in others]
            if not all(t is not ABSENT and t == item for t in there):
                _leaves_apart(item, f"{path}.{key}" if path else str(key), there, out)
    elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        for i, item in enumerate(value):
            there = [o[i] if isinstance(o, list) and i < len(o) else ABSENT for o in others]
            if not all(t is not ABSENT and t == item for t in there):
                _leaves_apart(item, f"{path}[{i}]", there, out)
    else:
        out[path] = value
    return out


def _row(path: str):
    """The form's row for ``path`` (fleet or event field), if the form edits it."""
    walked = steps(path)
    if len(walked) >= 2 and walked[0] == "events" and isinstance(walked[1], int):
        inner = text(walked[2:])
        return next((r for r in EVENT_FIELDS if r.path == inner), None), inner
    return next((r for r in FLEET_FIELDS if r.path == path), None), None


def _default(path: str) -> Any:
    row, inner = _row(path)
    if inner is not None:
        return EVENT_DEFAULTS.get(inner, ABSENT)
    return lookup({}, path, DEFAULTS)


def shown(path: str, value: Any) -> str:
    """A scenario value as the page shows it, in its units: as typed when typed with them
    (``2min``), said in them when typed without (``10`` seconds: ``10 s``); an event's kind by
    the name the form gives it (``hw_failure``: "Impending hardware failure")."""
    if _row(path)[1] == "kind" and isinstance(value, str) and value in _KIND_NAMES:
        return _KIND_NAMES[value]
    row = parameter(path)
    if row.convert in _SHARES and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{round(float(value) * 100, 6):g} %"
    if row.unit is not None and (said := row.unit.said(value)):
        return said
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):  # a [low, high] range (VM memory, vCPUs), else a list of names
        default = _default(path)
        if isinstance(default, list) and len(default) == 2:
            return " – ".join(shown(f"{path}[{i}]", v) for i, v in enumerate(value))
        return ", ".join(str(v) for v in value)
    if value == {}:
        return "{}"
    return str(value)


def label(path: str) -> str:
    """The row's label in words, with its unit (``labels.parameter``): never the raw key."""
    return parameter(path).label


def _amount(path: str, value: Any, row=None, default: Any = None) -> Any:
    """A value as the engine reads it, to compare: a size, rate or duration by its amount
    (``64GiB`` and ``68719476736`` are one size), a range item by item, anything else as is.
    ``row`` and ``default``: ``parameter(path)`` and ``_default(path)``, when already known."""
    row = parameter(path) if row is None else row
    if row.unit is not None:
        try:
            return row.unit.read(value)
        except (TypeError, ValueError, OverflowError):
            return value
    default = _default(path) if default is None else default
    if isinstance(value, list) and isinstance(default, list) and len(default) == 2:
        return [_amount(f"{path}[{i}]", v) for i, v in enumerate(value)]
    return value


POLICY_CAP = "policy.max_bandwidth"


def _policy_cap(scenario: dict) -> tuple[str, Any]:
    """The per-migration cap a scenario that sets none runs with: its policy's (qemu's 128 MiB/s,
    none for the others), as the engine reads it (``binding._max_bandwidth``)."""
    policy = scenario.get("policy") if isinstance(scenario, dict) else None
    name = policy.get("policy", "qemu") if isinstance(policy, dict) else "qemu"
    return str(name), POLICY_DEFAULTS.get(name, {}).get("max_bandwidth", ABSENT)


def _cell(path: str, value: Any, differs: bool, scenario: dict | None = None) -> dict:
    if value is not ABSENT:
        return {"text": shown(path, value), "absent": False, "differs": differs}
    if path == POLICY_CAP and scenario is not None:
        name, cap = _policy_cap(scenario)
        if cap is not ABSENT:
            said = "none" if cap is None else shown(path, cap)
            return {
                "text": f"{said} (the {name} policy's default)",
                "absent": True,
                "differs": differs,
            }
    default = _default(path)
    if default is ABSENT:
        return {"text": "not set", "absent": True, "differs": differs}
    return {"text": f"{shown(path, default)} (default)", "absent": True, "differs": differs}


def differing_parameters(scenarios: list[dict]) -> dict:
    """``{"rows": [{"path", "label", "cells": [{"text", "absent", "differs"}]}], "more": int}``:
    each path whose value is not the same in every scenario (to the engine: ``10Gbit/s`` and
    ``1.25GB/s`` are the same rate), in the order the scenarios write them; ``differs``: this
    run's value is not the first run's."""
    distinct: list[dict] = []  # each scenario written differently, walked once
    for scenario in scenarios:
        if not any(scenario == seen for seen in distinct):
            distinct.append(scenario)
    apart = [_leaves_apart(d, "", [o for o in distinct if o is not d], {}) for d in distinct]
    flat = [next(a for d, a in zip(distinct, apart, strict=True) if d == s) for s in scenarios]
    paths = list(dict.fromkeys(p for f in flat for p in f))
    rows, more = [], 0
    for path in paths:
        values = [f.get(path, ABSENT) for f in flat]
        if all(v == values[0] for v in values[1:]):
            continue  # written alike (a VM list of 100,000 VMs was read through, path by path)
        row, default = parameter(path), _default(path)
        assumed = [default] * len(values)
        if path == POLICY_CAP:  # the policy's own cap (qemu: 128 MiB/s), not "not set"
            assumed = [_policy_cap(s)[1] for s in scenarios]
        effective = [
            _amount(path, a if v is ABSENT else v, row, default)
            for v, a in zip(values, assumed, strict=True)
        ]
        if all(v == effective[0] for v in effective[1:]):
            continue  # the same, or left out where the engine assumes the same
        if len(rows) >= MAX_ROWS:
            more += 1  # counted, not shown: no cells to write
            continue
        cells = [
            _cell(path, v, e != effective[0], s)
            for v, e, s in zip(values, effective, scenarios, strict=True)
        ]
        rows.append({"path": path, "label": row.label, "cells": cells})
    return {"rows": rows, "more": more}
