"""A rehearsal's input: the scenario (a preset, a YAML or JSON text with its nesting and aliases
bounded, or parsed data), its speed, and the refusals (``RehearsalError``: a field, a sentence,
an HTTP status). ``registry`` re-exports all of it."""

from __future__ import annotations

from functools import cache

from migrationsim.fleet import PRESET_NAMES, ScenarioError, load_scenario, parse_scenario
from migrationsim.fleet.text import ScenarioTextRefused, read_text

MAX_VMS = 2000
MIN_SPEED, MAX_SPEED = 0.1, 100.0
MAX_SCENARIO_BYTES = 256 * 1024


class RehearsalError(Exception):
    """Bad input or a refused request: ``field`` (or ""), a sentence, an HTTP status."""

    def __init__(
        self,
        field: str,
        message: str,
        status: int = 422,
        reason: str = "invalid",
        retry_after_s: int | None = None,
    ):
        super().__init__(message)
        self.field, self.message, self.status, self.reason = field, message, status, reason
        self.retry_after_s = retry_after_s  # with 429 (and 503): when to try again


# --- scenarios ------------------------------------------------------------------------------------


def vm_count(scenario) -> int:
    return scenario.vm_count


def small_presets() -> list[tuple[str, str, int]]:
    """(name, description, VMs) of the presets small enough to rehearse."""
    return list(_small_presets())


@cache
def _small_presets() -> tuple[tuple[str, str, int], ...]:
    """Read once per process: the presets ship with the code (every preset's YAML, parsed and
    validated, is tens of milliseconds a page otherwise)."""
    out = []
    for name in PRESET_NAMES:
        scenario = load_scenario(name)
        count = vm_count(scenario)
        if count <= MAX_VMS:
            out.append((name, scenario.description, count))
    return tuple(out)


def scenario_from(*, preset: str = "", text: str = "", data=None):
    """A validated scenario from a preset name, a YAML/JSON text or an already parsed dict.
    CPU work (a 256 KiB text is a second of YAML): call it from a thread, not the event loop."""
    given = [x for x in (preset, text, data) if x not in ("", None)]
    if len(given) != 1:
        raise RehearsalError("scenario", "give one of: a preset, a scenario text or a file")
    try:
        if preset:
            if preset not in PRESET_NAMES:
                raise RehearsalError(
                    "preset", f"no preset {preset!r}; one of {', '.join(PRESET_NAMES)}"
                )
            scenario = load_scenario(preset)
        else:
            if text:
                if len(text.encode()) > MAX_SCENARIO_BYTES:
                    raise RehearsalError("scenario", f"at most {MAX_SCENARIO_BYTES // 1024} KiB")
                data = read_text(text)  # the one reader: nesting and aliases bounded
            scenario = parse_scenario(data)
    except ScenarioTextRefused as error:
        raise RehearsalError("scenario", str(error), 400) from None
    except ScenarioError as error:
        raise RehearsalError("scenario", str(error)) from None
    except (RecursionError, ValueError, TypeError) as error:  # whatever the engine trips on
        raise RehearsalError("scenario", f"cannot be read: {str(error)[:200]}") from None
    if vm_count(scenario) > MAX_VMS:
        raise RehearsalError(
            "scenario", f"{vm_count(scenario)} VMs: a rehearsal takes at most {MAX_VMS:,}"
        )
    # names become URL path segments (.../vms/<vm>/, .../zones/<zone>/)
    for i, spec in enumerate(scenario.vm_list):
        if "/" in spec.name or not spec.name.strip():
            raise RehearsalError(
                "scenario",
                f"fleet.vm_list[{i}].name: {spec.name!r}: a rehearsal needs "
                "VM names without '/' (they are part of URLs)",
            )
    if "/" in scenario.zone or not scenario.zone.strip():
        raise RehearsalError(
            "scenario",
            f"fleet.zone: {scenario.zone!r}: a rehearsal needs a zone "
            "name without '/' (it is part of URLs)",
        )
    return scenario


def parse_speed(value) -> float:
    try:
        speed = float(str(value).strip().rstrip("xX") or 1)
    except ValueError:
        raise RehearsalError("speed", "must be a number, e.g. 1 or 10") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise RehearsalError("speed", f"must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return speed
