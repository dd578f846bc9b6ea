"""Scenario text: the one reader of scenario JSON and YAML, wherever the text comes from (a file
named on the command line, a shipped preset, an upload, a rehearsal's form), and its limits.

``read_text`` turns text into plain data and nothing more: safe YAML only (no tag builds a
Python object), JSON when the text opens with ``{`` or ``[``; anything it cannot read is a
``ScenarioError`` on the path ``scenario``, a key given twice in one mapping one on the key's
path (``fleet.racks[0].hosts: the key "hosts" is given twice (again on line 4, column 20)``). ``load_scenario`` reads a file, a preset or text to a
validated ``Scenario``; ``parse_text`` is the upload path (size and list caps, then validation,
then the same data with nulls dropped); ``dumps_yaml`` writes a scenario dict back as YAML.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from migrationsim import bounded

from .scenario import Scenario, ScenarioError, parse_scenario
from .text_errors import json_words, located, yaml_words

MAX_SCENARIO_CHARS = 2_000_000  # an uploaded scenario's text, at most
MAX_TEXT_DEPTH = 20  # a scenario nests about 6 levels deep
MAX_TEXT_VALUES = 2_000_000  # values once YAML's aliases are expanded (a text's own are fewer)
# an upload's scenario as JSON once its aliases are expanded, at most (what a JSON text may be):
# 1.3 MB of YAML repeating one listed VM with 200-character fields stood for 82 MB, stored
MAX_EXPANDED_CHARS = 4 * MAX_SCENARIO_CHARS
MAX_FILE_BYTES = 256 * 1024**2  # a scenario file (the command line's) read at most: JSON is
# refused past 8 MB anyway, YAML past 2,000,000 values; /dev/zero was read until memory ran out
PRESETS_DIR = Path(__file__).with_name("presets")
PRESET_NAMES = ("demo", "heartbleed", "bios-rollout", "hw-failure", "gce-calibrated", "region")


def read_text(text: str, *, name: str = "") -> Any:
    """JSON or YAML text to plain data (not validated), read under bounds (``bounded``): nested
    at most ``MAX_TEXT_DEPTH`` levels, at most ``MAX_TEXT_VALUES`` values once YAML's aliases are
    expanded (an alias bomb is refused in milliseconds, before anything is built). ``name``: the
    file it came from, named in the messages (``bad.json is not valid JSON: ...``)."""
    said = f"{name} is " if name else ""
    if "\x00" in text:
        raise ScenarioError("scenario", f"{said}not text (it holds NUL bytes)")
    data = _read_text(text, name, said)
    if any(escape in text for escape in _NUL_ESCAPES):  # (else no value can hold one)
        at = _nul_at(data, "")
        if at is not None:
            of = f" (in {name})" if name else ""
            raise ScenarioError(at or "scenario", f"{NUL_WORDS}{of}")
    return data


# how JSON and YAML's double-quoted strings write a NUL
_NUL_ESCAPES = ("\\0", "\\x00", "\\u0000", "\\U00000000")
NUL_WORDS = (
    "holds a NUL character (written \\u0000 or \\0), which no name or value may hold "
    "(PostgreSQL stores none)"
)


def _nul_at(value: Any, path: str) -> str | None:
    """The path of the first key or text holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return here.replace("\x00", "\\0")  # (the message must not hold it either)
            found = _nul_at(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _read_text(text: str, name: str, said: str) -> Any:
    try:
        if text.lstrip().startswith(("{", "[")):
            return bounded.load_json(
                text, max_bytes=4 * MAX_SCENARIO_CHARS, max_depth=MAX_TEXT_DEPTH, unique_keys=True
            )
        return bounded.load_yaml(
            text, max_depth=MAX_TEXT_DEPTH, max_nodes=MAX_TEXT_VALUES, unique_keys=True
        )
    except bounded.DuplicateKey as exc:  # the last one would silently win: which did they mean?
        raise ScenarioError(exc.path, exc.words(name)) from None
    except bounded.NotText as exc:  # a lone surrogate: no page or terminal could show it
        of = f" (in {name})" if name else ""
        raise ScenarioError(exc.path or "scenario", f"{bounded.NOT_TEXT}{of}") from None
    except bounded.Malformed as exc:  # its message says "not valid JSON: ..."
        words = json_words(exc.problem, exc.line, exc.column) if exc.line else exc.message
        raise ScenarioError("scenario", f"{said}{words}") from None
    except bounded.InputRefused as exc:  # "the JSON nests 71 levels deep; ...": after a colon
        said = f"{name}: " if name else ""
        raise ScenarioTextRefused("scenario", f"{said}{exc.message}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError("scenario", f"{said}{yaml_words(exc, text)}") from None
    except RecursionError:
        raise ScenarioTextRefused("scenario", f"{said}nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of 5,000 digits (Python refuses to read it)
        raise ScenarioError(
            "scenario", f"{said}not readable: {bounded.value_error_words(exc)}"
        ) from None


class ScenarioTextRefused(ScenarioError):
    """A text refused for its shape before it was read (too deep, too many values): hostile or
    broken, not merely an invalid scenario."""


def load_scenario(source: str | Path) -> Scenario:
    """A scenario from a file path, a preset name, or JSON/YAML text."""
    text = str(source)
    if text in PRESET_NAMES:
        return load_file(PRESETS_DIR / f"{text}.yaml")
    path = Path(text)
    if "\n" not in text and path.suffix in (".json", ".yaml", ".yml"):
        return load_file(path)
    return parse_scenario(read_text(text))


def load_file(path: str | Path) -> Scenario:
    """A scenario file, JSON or YAML whatever its name ends with (the command line's argument):
    a file that is missing, a directory, unreadable or not UTF-8 is a ``ScenarioError`` naming
    it, like any mistake inside it."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("scenario", f"no such file: {path}") from None
    except IsADirectoryError:
        raise ScenarioError("scenario", f"{path} is a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError("scenario", f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            "scenario",
            f"{path.name} is over {bounded.size_in_words(MAX_FILE_BYTES)}: not a scenario file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            "scenario", f"{path.name} is not UTF-8 text (byte {exc.start:,} is not)"
        ) from None
    return parse_scenario(read_text(text, name=path.name))


def preset_scenario(name: str) -> dict:
    """A shipped preset as the scenario dict its YAML file holds (a copy of its own)."""
    if name not in PRESET_NAMES:
        raise ScenarioError(
            "preset", f"no preset named {name!r}; presets: {', '.join(PRESET_NAMES)}"
        )
    return json.loads(_preset_json(name))


@cache
def _preset_json(name: str) -> str:
    """A shipped preset, read, validated and encoded once per process (the files ship with the
    package and do not change under it; the fleet list reads all of them on every visit: 28 ms
    of YAML and validation each time)."""
    return json.dumps(load_scenario(name).raw)


def parse_text(text: str, *, max_events: int | None = None, max_list: int | None = None) -> dict:
    """JSON or YAML text (an upload) to a validated scenario dict. Never reads a file: the text
    is the scenario, whatever it looks like. Hostile text is a ``ScenarioError`` like any other
    mistake: nesting too deep, numbers with thousands of digits, tags that would build Python
    objects (``yaml.safe_load`` knows none), NUL bytes. ``max_events`` / ``max_list``: the
    caller's caps on the number of events and on any other list (VMs, rack groups, names),
    checked before the engine validates (an alias repeated 400,000 times costs nothing to
    write and seconds to check)."""
    if len(text) > MAX_SCENARIO_CHARS:
        raise ScenarioError("scenario", f"at most {MAX_SCENARIO_CHARS:,} characters")
    data = read_text(text)
    _check_expanded_size(data)
    try:
        _check_lengths(data, max_events=max_events, max_list=max_list)
        validate(data)
        plain = _without_nones(json.loads(json.dumps(data, default=str)))
        validate(plain)  # the same scenario to the engine (a null value is an absent key)
        return plain
    except ScenarioTextRefused:
        raise
    except ScenarioError as exc:  # the path, and where it is in the text
        raise located(exc, text) from None
    except RecursionError:
        raise ScenarioError("scenario", "nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of 5,000 digits (Python refuses to write it)
        raise ScenarioError("scenario", f"not readable: {str(exc)[:200]}") from None


def _check_expanded_size(data: Any) -> None:
    """What the text stands for, written out as the scenario will be stored (JSON), is at most
    ``MAX_EXPANDED_CHARS``: YAML's aliases repeat a part without writing it again, so a text
    under every size limit could be stored as a scenario of any size up to the value count's."""
    try:
        size = len(json.dumps(data, default=str, separators=(",", ":")))
    except (ValueError, RecursionError):  # the validation names what it cannot write
        return
    if size > MAX_EXPANDED_CHARS:
        raise ScenarioTextRefused(
            "scenario",
            f"its YAML aliases expand it to {size:,} characters of JSON; at most "
            f"{MAX_EXPANDED_CHARS:,} (write the repeated parts out, or use the command line)",
        )


def _without_nones(value: Any) -> Any:
    """``seed: null`` means "the default" to the engine, as if the key were absent: drop it, so
    nothing downstream has to tell null from absent."""
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


def _check_lengths(data: Any, *, max_events: int | None, max_list: int | None) -> None:
    if not isinstance(data, dict):
        return
    events = data.get("events")
    if max_events is not None and isinstance(events, list) and len(events) > max_events:
        raise ScenarioError("events", f"at most {max_events} maintenance events here")
    if max_list is None:
        return
    fleet = data.get("fleet") if isinstance(data.get("fleet"), dict) else {}
    lists = [("fleet.vm_list", fleet.get("vm_list")), ("fleet.racks", fleet.get("racks"))]
    for i, event in enumerate(events if isinstance(events, list) else []):
        scope = event.get("scope") if isinstance(event, dict) else None
        if isinstance(scope, dict):
            lists += [(f"events[{i}].scope.{key}", scope.get(key)) for key in ("racks", "hosts")]
    for path, value in lists:
        if isinstance(value, list) and len(value) > max_list:
            raise ScenarioError(path, f"at most {max_list:,} entries here")


def validate(data: Any) -> Scenario:
    """The engine's own validation; raises ``ScenarioError(path, message)``."""
    return parse_scenario(data)


def scenario_size(data: dict) -> tuple[int, int]:
    """(hosts, VMs at most) of a valid scenario."""
    scenario = parse_scenario(data)
    vms = scenario.vm_count
    return scenario.host_count, vms


def dumps_yaml(data: dict) -> str:
    import yaml  # noqa: PLC0415 - only for YAML exports

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
