"""The single-VM run's side of ``migrationsim``: form values in, ``build_spec`` keyword
arguments out; the model's event stream out, into the pipeline's sink (``run_migration``, the
runner of the ``"run"`` kind). The form and the views read the model's tables from here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import migrationsim
from migrationsim import InvalidParameter, build_spec, stream
from migrationsim.memory_pages import WORK_BUDGET_PAGES
from migrationsim.phases import EXPLANATIONS
from migrationsim.spec import PARAMETERS
from playground.runs.kinds import Outcome

__all__ = [
    "InvalidParameter",
    "SPEC_FIELDS",
    "PHASES",
    "phases_for",
    "spec_kwargs",
    "validate",
    "events_for",
    "workload_choices",
    "parameter_help",
    "event_payload",
    "run_migration",
]

# Form fields that are ``build_spec`` parameters, under the same names. (The form's ``speed`` is
# not one: playback speed is a property of the viewer, not of the model.)
SPEC_FIELDS = (
    "memory",
    "workload",
    "dirty_rate",
    "working_set",
    "bandwidth",
    "max_bandwidth",
    "downtime_limit",
    "policy",
    "auto_converge",
    "post_copy",
    "resolution",
    "seed",
    "guest_watches",
)

# What else a stored run may set: every other model parameter (a fleet VM's replay has its
# fleet's policy and timing; the form's runs have none of them)
FLEET_VM_FIELDS = tuple(name for name in PARAMETERS if name not in SPEC_FIELDS)

CUSTOM_WORKLOAD = "custom"
ERROR_CUSTOM_NEEDS_RATE = "a custom workload needs a dirty rate (e.g. 200MB/s)"

# The phases of one VM's migration, in order, as the model names them, each with a label, an
# Okabe-Ito (colour-blind-safe) colour and the model's own plain-words explanation.
PHASES: list[dict[str, str]] = [
    {"name": phase, "label": label, "color": color, "explain": EXPLANATIONS[phase]}
    for phase, label, color in (
        ("guest_notice", "Guest notice", "#E69F00"),
        ("target_setup", "Target setup", "#56B4E9"),
        ("pre_migration_brownout", "Pre-migration brownout", "#009E73"),
        ("blackout", "Blackout", "#D55E00"),
        ("post_migration_brownout", "Post-migration brownout", "#CC79A7"),
        ("cleanup", "Cleanup", "#0072B2"),
    )
]
# Post-copy runs inside the post-migration brownout; its row is shown where a run asks for it.
POST_COPY_PHASE = {
    "name": "post_copy",
    "label": "Post-copy",
    "color": "#000000",  # Okabe-Ito black: the palette's one colour left
    "explain": EXPLANATIONS["post_copy"],
}


def phases_for(params: dict[str, Any]) -> list[dict[str, str]]:
    """The phases a run's page shows: the six, and post-copy's row (after the blackout) when
    the run asked for post-copy."""
    if not params.get("post_copy"):
        return PHASES
    at = next(i for i, p in enumerate(PHASES) if p["name"] == "blackout") + 1
    return [*PHASES[:at], POST_COPY_PHASE, *PHASES[at:]]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def spec_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """Form values (cleaned or as stored on a ``Run``) to ``build_spec`` keyword arguments.

    A preset workload fills the dirtying parameters; ``custom`` means "use my dirty rate and
    working set" (the model's rules then decide what is missing or wrong).
    """
    kwargs = {name: values.get(name) for name in SPEC_FIELDS}
    # a fleet VM's replay also carries its fleet's policy and timing (``fleet_vm`` runs:
    # completion timeout, forwarding, target setup...), which the form does not show
    kwargs.update({k: values[k] for k in FLEET_VM_FIELDS if not _blank(values.get(k))})
    for name, value in kwargs.items():
        if _blank(value):
            kwargs[name] = None
        elif isinstance(value, str):
            kwargs[name] = value.strip()
    if kwargs["workload"] == CUSTOM_WORKLOAD:
        kwargs["workload"] = None
        if kwargs["dirty_rate"] is None:
            raise InvalidParameter("dirty_rate", ERROR_CUSTOM_NEEDS_RATE)
    else:
        kwargs["dirty_rate"] = None
        kwargs["working_set"] = None
    return kwargs


def validate(values: dict[str, Any]):
    """Build the model's spec from form values; raises ``InvalidParameter(field, message)``."""
    return build_spec(**spec_kwargs(values))


# The worker streams a run as it goes and has its own wall-time budget (PLAYGROUND_RUN_MAX_WALL_S),
# so its pages runs may work about a minute, where the command line stops after about a second.
PAGES_WORK_BUDGET = 60 * WORK_BUDGET_PAGES


def events_for(values: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The model's events for a run's stored parameters, in simulated-time order (with the
    link's rate changes of a fleet VM's run: the bandwidth it got in the fleet, over time, and
    the rate of its switch-over there, ``switch_bps``)."""
    changes = [(float(t), float(bps)) for t, bps in values.get("link_rate_changes") or ()]
    switch_bps = values.get("switch_bps")
    return stream(
        validate(values),
        link_rate_changes=changes,
        pages_work_budget=PAGES_WORK_BUDGET,
        switch_bps=float(switch_bps) if switch_bps else None,
    )


MEMORY_MAP_DECIMALS = 3  # a cell is a share of a block's pages: 0.1 % is finer than any eye


def event_payload(event: dict[str, Any]) -> dict[str, Any]:
    """What we store and stream for a model event: the event itself, with the memory map's
    cells rounded (a picture, not a measurement) so a round costs ~6 KB instead of ~20 KB."""
    cells = event.get("memory_map")
    if not cells:
        return event
    return {**event, "memory_map": [round(float(c), MEMORY_MAP_DECIMALS) for c in cells]}


def run_migration(run, sink) -> Outcome:
    """The runner of a single-VM run: the model's events for its stored parameters, each with
    its memory map rounded, into the sink. Nothing to store beyond the events (the summary is
    the last of them)."""
    for event in events_for(run.params):
        sink.add(event_payload(event))
    return Outcome()


def workload_choices() -> list[tuple[str, str, str]]:
    """(name, label, description) for every workload preset of the model."""
    return [
        (name, name, getattr(preset, "description", ""))
        for name, preset in migrationsim.PRESETS.items()
    ]


def parameter_help(name: str) -> str:
    """The model's own help text for a parameter (one table for the CLI and the web form)."""
    parameter = migrationsim.PARAMETERS.get(name)
    return parameter.help if parameter is not None else ""


def parameter_default(name: str) -> Any:
    parameter = migrationsim.PARAMETERS.get(name)
    return parameter.default if parameter is not None else None


POLICY_CHOICES = [
    ("qemu", "qemu: stop when pending < bandwidth x downtime limit (QEMU 8-9)"),
    ("xen", "xen: at most 29 rounds or 3x memory, adaptive rate (Xen libxc)"),
    ("textbook", "textbook: the closed form of Liu/Akoush"),
    ("gce", "gce: diminishing returns (this project's assumption of Google's rule)"),
]
RESOLUTION_CHOICES = [
    ("fluid", "fluid: expected values (fast)"),
    ("pages", "pages: a real per-page dirty bitmap (seeded)"),
]
