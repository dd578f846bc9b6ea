"""What-if overrides: ``--set PATH=VALUE`` changes one value of a scenario before it is checked.

A capacity planner asks "what if we allow 4 migrations per host?" or "what if the NICs are
twice as fast?" of a scenario file or a preset, without copying and editing it:

    python -m migrationsim fleet --preset heartbleed --set caps.per_source_host=4
    python -m migrationsim fleet zone.yaml --plan --set fleet.host.nic=50Gbit/s \\
        --set 'events[0].max_hosts_in_maintenance=30%'

- ``PATH`` is the scenario's own path, as its error messages name it: keys joined by dots,
  a list item by its index in brackets (``events[0].kind``; ``events.0.kind`` is the same).
  A key missing from a mapping is added (``caps.per_rack`` where the scenario has no
  ``caps.per_rack``); a list item must exist.
- ``VALUE`` is read as a YAML value, under the same bounds as a scenario file: ``4`` is a
  number, ``30%`` and ``50Gbit/s`` are text, ``null`` lifts a limit that is off unless given (``caps.per_rack``; refused where the key has a default), ``{racks: [r1, r2]}`` is
  a mapping.

The scenario is then checked as a whole, as if the file had said so: a value the schema refuses
is refused with the path named. Overrides are applied in the order given, to a copy: the
scenario read from the file or the preset is never changed.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
from typing import Any

from migrationsim import bounded
from migrationsim.errors import InvalidParameter
from migrationsim.humanize import count
from migrationsim.spec import PARAMETERS
from migrationsim.units import bare_number

from .text import MAX_TEXT_DEPTH, MAX_TEXT_VALUES, NUL_WORDS

MAX_OVERRIDE_CHARS = 10_000  # one --set, path and value: a what-if, not a scenario
MAX_OVERRIDES = 64
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class OverrideError(ValueError):
    """A ``--set`` that cannot be applied: ``assignment`` is the text given, ``message`` why."""

    def __init__(self, assignment: str, message: str):
        super().__init__(f"{assignment}: {message}")
        self.assignment = assignment
        self.message = message


def parse_path(path: str) -> list[str | int]:
    """``events[0].scope.racks`` -> ``["events", 0, "scope", "racks"]`` (a segment of digits
    alone, ``events.0``, is an index too)."""
    segments: list[str | int] = []
    at = 0
    for match in _SEGMENT.finditer(path):
        gap = path[at : match.start()]
        if gap not in ("", "."):
            raise ValueError(f"cannot read the path {path!r} at {gap!r}")
        key, index = match.groups()
        if index is not None:
            segments.append(int(index))
        elif key.isdigit():
            segments.append(int(key))
        else:
            segments.append(key)
        at = match.end()
    if not segments or path[at:] or path.startswith(".") or ".." in path:
        raise ValueError(f"cannot read the path {path!r}: give keys joined by dots")
    return segments


def split_assignment(assignment: str) -> tuple[str, list[str | int], Any]:
    """``"caps.per_source_host=4"`` -> ``("caps.per_source_host", [...], 4)``."""
    if len(assignment) > MAX_OVERRIDE_CHARS:
        raise OverrideError(
            assignment[:40] + "...", f"over {MAX_OVERRIDE_CHARS:,} characters: not a what-if"
        )
    if "\x00" in assignment:
        raise OverrideError(assignment.replace("\x00", "\\0"), NUL_WORDS)
    path, sep, text = assignment.partition("=")
    path = path.strip()
    if not sep or not path:
        raise OverrideError(assignment, "give PATH=VALUE, e.g. caps.per_source_host=4")
    if not text.strip():
        raise OverrideError(
            assignment, "needs a value after '=' (null to lift a limit that is off unless given)"
        )
    try:
        segments = parse_path(path)
    except ValueError as exc:
        raise OverrideError(assignment, str(exc)) from None
    try:
        value = bounded.load_yaml(text, max_depth=MAX_TEXT_DEPTH, max_nodes=MAX_TEXT_VALUES)
    except bounded.InputRefused as exc:
        raise OverrideError(assignment, exc.message) from None
    except Exception as exc:  # PyYAML's own errors: say what it said, briefly
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OverrideError(assignment, f"the value is not a YAML value ({first})") from None
    return path, segments, value


def apply_overrides(data: Any, assignments: list[str]) -> dict:
    """A copy of the scenario's data with each ``PATH=VALUE`` applied, in order."""
    if len(assignments) > MAX_OVERRIDES:
        raise OverrideError(assignments[MAX_OVERRIDES], f"more than {MAX_OVERRIDES} --set")
    if not isinstance(data, dict):
        raise OverrideError(assignments[0], "the scenario is not a mapping")
    data = copy.deepcopy(data)
    for assignment in assignments:
        path, segments, value = split_assignment(assignment)
        node: Any = data
        walked = ""
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            if isinstance(segment, int):
                if not isinstance(node, list):
                    raise OverrideError(assignment, f"{walked or 'the scenario'} is not a list")
                if not 0 <= segment < len(node):
                    raise OverrideError(
                        assignment, f"{walked} has {count(len(node), 'item')}: no item [{segment}]"
                    )
            elif not isinstance(node, dict):
                raise OverrideError(
                    assignment, f"{walked} is not a mapping (it has no key {segment!r})"
                )
            if last:
                node[segment] = value
            else:
                if isinstance(node, dict) and segment not in node:
                    node[segment] = {}
                node = node[segment]
            walked = path_text(segments[: i + 1])
    return data


def refuse_hidden_by_rack_groups(data: Any, assignments: list[str]) -> None:
    """A ``--set fleet.host.KEY=...`` where a rack group says its own ``host.KEY`` changes
    nothing on that group's racks (the group's value wins), while the output says
    ``what if: fleet.host.nic=50Gbit/s`` over the whole fleet: refused, naming the group, unless
    another ``--set`` gives that group's value too."""
    given = set()
    for assignment in assignments:
        with contextlib.suppress(OverrideError):
            given.add(path_text(split_assignment(assignment)[1]))
    fleet = data.get("fleet") if isinstance(data, dict) else None
    groups = fleet.get("racks") if isinstance(fleet, dict) else None
    if not isinstance(groups, list):
        return
    for assignment in assignments:
        path, segments, _ = split_assignment(assignment)
        if len(segments) != 3 or segments[:2] != ["fleet", "host"]:
            continue
        key = segments[2]
        for i, group in enumerate(groups):
            host = group.get("host") if isinstance(group, dict) else None
            own = f"fleet.racks[{i}].host.{key}"
            if isinstance(host, dict) and host.get(key) is not None and own not in given:
                raise OverrideError(
                    assignment,
                    f"{own} gives its racks their own {key} ({host[key]}), which this does "
                    f"not change; set that too (--set {own}=...)",
                )


def refuse_defaulted_nulls(assignments: list[str], defaulted: dict[str, Any]) -> None:
    """A ``--set PATH=null`` whose key then reads as its default, not as "no limit" (what the
    scenario's reader noted in ``defaulted``: ``scenario.noting_defaulted_nulls``) is refused:
    ``caps.per_source_host=null`` would run a cap of 2, tighter than heartbleed's 4, and say
    "what if: caps.per_source_host=null" above it."""
    from .scenario import EVERY_DEFAULT

    for assignment in assignments:
        path, segments, value = split_assignment(assignment)
        canonical = path_text(segments)
        if value is not None or canonical not in defaulted:
            continue
        default = defaulted[canonical]
        if default is EVERY_DEFAULT:
            said = "left empty, each of its values takes its default (docs/fleet.md)"
        elif isinstance(default, int) and not isinstance(default, bool):
            said = f"left empty, it takes its default, {default}"
        elif isinstance(default, str):
            said = f"left empty, it takes {default}"
        else:
            said = "left empty, it takes its default (docs/fleet.md)"
        raise OverrideError(
            assignment,
            f"null does not remove {canonical}: {said}; null lifts only a limit that is off "
            "unless given (caps.per_rack, caps.per_customer, caps.global, an event's deadline "
            "or window); give a value instead",
        )


def path_text(segments: list[str | int]) -> str:
    """``["events", 0, "kind"]`` -> ``events[0].kind``, as the scenario's errors name paths."""
    return "".join(
        f"[{s}]" if isinstance(s, int) else (f".{s}" if j else s) for j, s in enumerate(segments)
    )


def mentions(assignments: list[str], error_path: str) -> str | None:
    """The ``--set`` (the last one) whose path is, contains or lies inside ``error_path``: the
    one a schema error is about."""
    said = None
    for assignment in assignments:
        try:
            path, segments, _ = split_assignment(assignment)
        except OverrideError:
            continue
        canonical = path_text(segments)
        inside = error_path.startswith((canonical + ".", canonical + "["))  # the value's insides
        around = canonical.startswith((error_path + ".", error_path + "["))  # what holds it
        if error_path == canonical or inside or around:
            said = assignment
    return said


CHECKED_ONE_BY_ONE_VMS = 10_000  # a listed fleet larger than this is read once, not per --set


def changing_nothing(original, assignments: list[str]) -> list[str]:
    """The ``--set`` that leave the scenario as it was read (``original``, a ``Scenario``):
    ``caps.per_source_host=4`` where it is already 4, ``fleet.host.nic=10Gbit/s`` where it is
    ``1.25GB/s``, a key set to its default. Each is applied in turn and the scenario read again;
    one that reads the same as before it is said, so that a what-if that asks nothing does not
    pass for an answer. A listed fleet of more than ``CHECKED_ONE_BY_ONE_VMS`` VMs is read once
    with all of them: all or none. Call it once every ``--set`` was applied and checked."""
    from .scenario import ScenarioError, parse_scenario

    if len(original.vm_list) > CHECKED_ONE_BY_ONE_VMS:
        whole = parse_scenario(apply_overrides(original.raw, assignments))
        return list(assignments) if _read(whole) == _read(original) else []
    said, before, data = [], original, original.raw
    for assignment in assignments:
        data = apply_overrides(data, [assignment])
        try:
            after = parse_scenario(data)
        except ScenarioError:  # valid only with a later --set: it changed something
            after = None
        if after is not None and before is not None and _read(after) == _read(before):
            said.append(assignment)
        before = after
    return said


# keys whose bare number is bytes (per second for a rate): ``fleet.host.nic=50`` is 50 B/s
BYTE_KEYS = {"nic": "B/s", "uplink": "B/s", "spine": "B/s", "max_bandwidth": "B/s", "memory": "B"}


def bare_byte_numbers(assignments: list[str]) -> list[str]:
    """The ``--set`` that give a size or a rate as a bare number, read as bytes (or bytes per
    second): ``fleet.host.nic=50`` is a 50 B/s NIC, on which every migration aborts; the
    planner meant ``50Gbit/s``. Legal (a scenario file may say it), so said, not refused: each
    as ``"fleet.host.nic=50 is 50 B/s"``."""
    said = []
    for assignment in assignments:
        _, segments, value = split_assignment(assignment)
        unit = BYTE_KEYS.get(segments[-1]) if segments and isinstance(segments[-1], str) else None
        numbers = [bare_number(v) for v in (value if isinstance(value, list) else [value])]
        if unit and numbers and None not in numbers:
            said.append(f"{assignment} is {', '.join(f'{_said(n)} {unit}' for n in numbers)}")
    return said


def _said(n: float) -> str:
    return f"{int(n):,}" if n.is_integer() and abs(n) < 1e16 else f"{n:g}"


def _read(scenario):
    """The scenario as the engine takes it: its policy's values parsed (``0.3s`` is ``300ms``),
    not as written."""
    policy = {}
    for key, value in scenario.policy.items():
        try:
            policy[key] = PARAMETERS[key].parse(value) if key in PARAMETERS else value
        except (ValueError, TypeError, InvalidParameter):  # (checked already: as written)
            policy[key] = value
    return dataclasses.replace(scenario, policy=policy)
