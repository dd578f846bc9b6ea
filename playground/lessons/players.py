"""A single-VM lesson's run, played again in the anatomy player: the anatomy form's values that
make the same ``MigrationSpec`` as the lesson's run (so the player shows the same migration).
A run with a parameter the form does not have (e.g. ``forwarding``) gets no player."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrationsim.lessons import Lesson
from migrationsim.spec import PARAMETERS
from playground.anatomy.forms import DEFAULTS
from playground.anatomy.runner import SPEC_FIELDS


def form_values(params: Any) -> dict | None:
    """The form's values for these ``build_spec`` parameters, or None if the form cannot say
    them. A checkbox the lesson leaves out takes the model's default, not the form's."""
    if not isinstance(params, Mapping) or not set(params) <= set(SPEC_FIELDS):
        return None
    values = dict(DEFAULTS)
    for name in SPEC_FIELDS:
        if isinstance(DEFAULTS.get(name), bool):
            values[name] = PARAMETERS[name].default
    values.update(params)
    return values


def players(lesson: Lesson) -> list[dict]:
    """``[{"label", "fields": [(name, value)]}]``: what each playable run's form posts (a ticked
    checkbox posts ``on``, an unticked one nothing)."""
    out = []
    for key, params in lesson.runs:
        values = form_values(params)
        if values is None:
            continue
        fields = [
            (name, "on" if value is True else value)
            for name, value in values.items()
            if value is not False
        ]
        out.append({"label": lesson.label(key), "fields": fields})
    return out
