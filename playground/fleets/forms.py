"""The fleet form and its maintenance events, over a stored scenario dict.

The fields and their scenario paths are ``fields``'s table. A form is built over a scenario
(``scenario=``): its initial values are read from it, and ``validate_fleet`` writes what the
visitor changed into a copy of it and lets the engine check the result; the engine's
``ScenarioError(path, message)`` lands next to the field that edits that path
(``fleet.racks[0].hosts`` -> hosts per rack, ``events[1].deadline`` -> the second event's
deadline) or, when no field edits that part, shows ``path: message`` verbatim.
Uploads are ``import_forms``'s, sweeps ``sweep_forms``'s.
"""

from __future__ import annotations

import re

from django import forms

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import validate

from . import fields, sizes
from .fields import DEFAULTS, EVENT_DEFAULTS, EVENT_FIELDS, FLEET_FIELDS

# the largest fleet the web runs: the region preset's (4 zones x 250 racks x 16 hosts x 16 VMs)
MAX_HOSTS = 16_000
MAX_VMS = 256_000
MAX_EVENTS = 10  # the form edits at most this many; an upload may not bring more
ERROR_TOO_MANY_HOSTS = f"at most {MAX_HOSTS:,} hosts in the web playground (use the CLI for more)"
ERROR_TOO_MANY_VMS = f"at most {MAX_VMS:,} VMs in the web playground (use the CLI for more)"
ERROR_NO_EVENT = "add at least one maintenance event"
ERROR_NO_MIX = "give at least one workload a share above 0 %"

MIX_FIELDS = tuple(row.name for row in FLEET_FIELDS if row.name.startswith("mix_"))


def _refuse_bare_numbers(form: forms.Form, rows, changed) -> None:
    """A size, rate or duration typed without its unit is refused where it was typed (a value
    that came so from an imported scenario, unchanged, stays: the engine reads it as written)."""
    for row in rows:
        if row.unit is not None and row.name in changed and row.name not in form.errors:
            example = row.field.widget.attrs.get("placeholder", "")  # the field's own
            why = row.unit.unit_missing(form.cleaned_data.get(row.name), example)
            if why:
                form.add_error(row.name, why)


class FleetForm(forms.Form):
    """Everything of a scenario but its events."""

    def __init__(self, data=None, *, scenario: dict, **kwargs):
        super().__init__(data, initial=fields.initial(FLEET_FIELDS, scenario, DEFAULTS), **kwargs)
        self.scenario = scenario
        self.fields.update(fields.form_fields(FLEET_FIELDS))

    @property
    def mix_fields(self):
        return [self[name] for name in MIX_FIELDS]

    @property
    def mix_in_proportion(self) -> str:
        """The engine draws the VMs in proportion to the mix's shares (weights): shares that do
        not add up to 100 % are not the % of VMs each workload gets. Says what they are then
        (an import with weights, or shares typed that add up to 150 %); "" when they add up."""
        shares = {}
        for field in self.mix_fields:
            try:
                shares[field.label] = float(field.value() or 0)
            except (TypeError, ValueError):
                return ""  # a value the form refuses says so itself
        total = sum(shares.values())
        if total <= 0 or abs(total - 100) < 0.05:
            return ""
        each = ", ".join(
            f"{name} {share / total * 100:.3g} %" for name, share in shares.items() if share > 0
        )
        return (
            f"These shares add up to {total:.4g} %: the VMs are drawn in proportion to them, "
            f"so the mix is {each} of the VMs."
        )

    def clean(self):
        cleaned = super().clean()
        _refuse_bare_numbers(self, FLEET_FIELDS, self.changed_data)
        if not any((cleaned.get(name) or 0) > 0 for name in MIX_FIELDS):
            self.add_error(MIX_FIELDS[0], ERROR_NO_MIX)
        if self.errors:
            return cleaned
        changed = self.changed_scenario()
        hosts = sizes.host_count(changed)
        if hosts > MAX_HOSTS:
            self.add_error("racks", ERROR_TOO_MANY_HOSTS)
        elif hosts * cleaned["vms_per_host"] > MAX_VMS:
            self.add_error("vms_per_host", ERROR_TOO_MANY_VMS)
        return cleaned

    def changed_scenario(self) -> dict:
        """A copy of the scenario with what the visitor changed written into it."""
        return fields.written(
            FLEET_FIELDS, self.scenario, self.cleaned_data, self.changed_data, DEFAULTS
        )


class EventForm(forms.Form):
    """One maintenance event; ``event`` is the stored one it edits ({} for a new one)."""

    def __init__(self, *args, event: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        self.fields.update(fields.form_fields(EVENT_FIELDS))

    def clean(self):
        cleaned = super().clean()
        _refuse_bare_numbers(self, EVENT_FIELDS, self.changed_data if self.event else self.fields)
        if (
            cleaned.get("scope") in ("zones", "racks", "hosts")
            and not (cleaned.get("scope_names") or "").strip()
        ):
            self.add_error("scope_names", f"name the {cleaned['scope']} (separated by commas)")
        return cleaned

    def changed_event(self) -> dict:
        """The stored event with what changed written into it; a new event gets every field."""
        changed = self.changed_data if self.event else list(self.fields)
        return fields.written(EVENT_FIELDS, self.event, self.cleaned_data, changed, EVENT_DEFAULTS)


class BaseEventFormSet(forms.BaseFormSet):
    """The scenario's events, in order; forms past them are new events."""

    def __init__(self, data=None, *, events: list[dict], **kwargs):
        self.events = events
        initial = [fields.initial(EVENT_FIELDS, event, EVENT_DEFAULTS) for event in events]
        super().__init__(data, initial=initial, prefix="events", **kwargs)

    def get_form_kwargs(self, index):
        stored = index is not None and index < min(len(self.events), self.initial_form_count())
        return {"event": self.events[index] if stored else {}}

    def new_form(self, index: int) -> EventForm:
        """A blank event form at ``index``, for a page that adds it in place ("Add an event")."""
        form = self.form(
            event={},
            prefix=self.add_prefix(index),
            empty_permitted=True,
            use_required_attribute=False,
            renderer=self.renderer,
        )
        self.add_fields(form, index)
        return form

    def kept_forms(self) -> list[EventForm]:
        return [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


EventFormSet = forms.formset_factory(
    EventForm,
    formset=BaseEventFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_EVENTS,
    validate_max=True,
    # Django builds min(TOTAL_FORMS, absolute_max) forms, absolute_max max_num + 1,000 by
    # default: a 4 KB post saying 100000 cost 3 s of the sync thread and a 5 MB page
    absolute_max=MAX_EVENTS,
)


def fleet_forms(data=None, *, scenario: dict) -> tuple[FleetForm, BaseEventFormSet]:
    return (
        FleetForm(data, scenario=scenario),
        EventFormSet(data, events=list(scenario.get("events") or [])),
    )


# scenario paths the engine names in its errors that no single row holds
_FLEET_ALIASES = {
    "fleet.racks": "racks",
    "fleet.vms.memory": "vm_memory_min",
    "fleet.vms.vcpus": "vm_vcpus_min",
    "policy.name": "policy",
    "policy.policy": "policy",
    "policy": "policy",
}
_EVENT_ALIASES = {
    "window": "window_start",
    "scope.zones": "scope_names",
    "scope.racks": "scope_names",
    "scope.hosts": "scope_names",
    "scope": "scope_names",
}
_EVENT_PATH = re.compile(r"^events\[(\d+)\](?:\.(.+))?$")


def add_scenario_error(exc: ScenarioError, form: FleetForm, event_forms: list) -> None:
    """Put the engine's message next to the field its path names, or verbatim at the top."""
    match = _EVENT_PATH.match(exc.path)
    if match and int(match.group(1)) < len(event_forms):
        target, rest = event_forms[int(match.group(1))], match.group(2) or ""
        field = fields.row_for(rest, EVENT_FIELDS) or _EVENT_ALIASES.get(rest)
    else:
        target = form
        field = fields.row_for(exc.path, FLEET_FIELDS) or _FLEET_ALIASES.get(exc.path)
    if field is not None:
        target.add_error(field, exc.message)
    else:
        target.add_error(None, f"{exc.path}: {exc.message}")


def validate_fleet(form: FleetForm, formset: BaseEventFormSet) -> dict | None:
    """Both forms valid on their own: build the scenario and let the engine check it. Returns
    the scenario, or None after putting the engine's error next to its field."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    event_forms = formset.kept_forms()
    if not event_forms:
        form.add_error(None, ERROR_NO_EVENT)
        return None
    scenario = form.changed_scenario()
    scenario["events"] = [f.changed_event() for f in event_forms]
    try:
        validate(scenario)
    except ScenarioError as exc:
        add_scenario_error(exc, form, event_forms)
        return None
    return scenario
