"""Paths into a scenario dict, written as the engine writes them in its errors:
``fleet.racks[0].count``, ``fleet.vms.memory[1]``, ``policy.downtime_limit``.

``lookup`` reads a value, falling back to the engine's defaults (a table keyed by path) where a
key is absent; ``put`` writes one, creating what is missing on the way (from the defaults when
the engine has one, so writing one end of a defaulted pair keeps the other end) and turning a
single value into a pair when one end is written. ``put(doc, path, ABSENT)`` removes the key and
any mapping that removal leaves empty.
"""

from __future__ import annotations

import copy
import re
from typing import Any

ABSENT = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def steps(path: str) -> tuple[str | int, ...]:
    """``"fleet.racks[0].count"`` -> ``("fleet", "racks", 0, "count")``."""
    return tuple(int(index) if index else name for name, index in _STEP.findall(path))


def text(path_steps) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path_steps).lstrip(".")


def _child(container: Any, step: str | int) -> Any:
    if isinstance(step, int):
        if not isinstance(container, list):
            return container  # a single value stands for both ends of a pair
        return container[step] if step < len(container) else ABSENT
    if isinstance(container, dict) and container.get(step) is not None:
        return container[step]
    return ABSENT


def lookup(doc: dict, path: str, defaults: dict[str, Any]) -> Any:
    """The value at ``path``, the engine's default for it (or for a mapping or pair holding it),
    or ``ABSENT``."""
    value: Any = doc
    walked: list[str | int] = []
    for step in steps(path):
        walked.append(step)
        value = ABSENT if value is ABSENT else _child(value, step)
        if value is ABSENT:
            value = defaults.get(text(walked), ABSENT)
    return value


def put(doc: dict, path: str, value: Any, defaults: dict[str, Any]) -> None:
    """Write ``value`` at ``path`` in ``doc`` (in place); ``ABSENT`` removes it."""
    *parents, last = steps(path)
    trail = [doc]
    for i, step in enumerate(parents):
        container, nxt = trail[-1], (parents + [last])[i + 1]
        child = _child(container, step)
        if child is ABSENT:
            if value is ABSENT:
                return  # nothing there to remove
            child = copy.deepcopy(
                defaults.get(text(parents[: i + 1]), [] if isinstance(nxt, int) else {})
            )
        elif isinstance(nxt, int) and not isinstance(child, list):
            child = [child, child]
        _set(container, step, child)
        trail.append(child)
    if value is not ABSENT:
        _set(trail[-1], last, value)
        return
    if isinstance(trail[-1], dict):
        trail[-1].pop(last, None)
    for container, step in zip(reversed(trail[:-1]), reversed(parents), strict=True):
        if not (isinstance(container, dict) and container[step] == {}):
            return
        container.pop(step)


def _set(container: Any, step: str | int, value: Any) -> None:
    if isinstance(step, int):
        container.extend([None] * (step + 1 - len(container)))
    container[step] = value
