"""Importing a scenario: a JSON or YAML file, or pasted text. The engine validates it; the web
adds its limits (hosts, VMs, events) and asks that the fleet form can edit what comes in."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import MAX_SCENARIO_CHARS, parse_text, scenario_size

from . import fields
from .fields import DEFAULTS, EVENT_DEFAULTS, EVENT_FIELDS, FLEET_FIELDS
from .forms import ERROR_TOO_MANY_HOSTS, ERROR_TOO_MANY_VMS, MAX_EVENTS, MAX_HOSTS, MAX_VMS

ERROR_EMPTY_UPLOAD = "paste a scenario or choose a file"
ERROR_UPLOAD_NOT_TEXT = "the file is not UTF-8 text (JSON or YAML)"
ERROR_FILE_AND_TEXT = "choose a file or paste a scenario, not both (which one did you mean?)"


class ImportForm(forms.Form):
    file = forms.FileField(label="Scenario file (JSON or YAML)", required=False)
    text = forms.CharField(
        label="or paste it",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "spellcheck": "false", "placeholder": "name: my-zone\nfleet: ..."}
        ),
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = cleaned.get("text") or ""
        if upload and text.strip():  # the file would win and the paste be dropped unsaid
            self.add_error("text", ERROR_FILE_AND_TEXT)
            return cleaned
        if upload:
            if upload.size > MAX_SCENARIO_CHARS:
                raise forms.ValidationError(f"the file is larger than {MAX_SCENARIO_CHARS:,} bytes")
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", ERROR_UPLOAD_NOT_TEXT)
                return cleaned
        if not text.strip():
            self.add_error("text", ERROR_EMPTY_UPLOAD)
            return cleaned
        field = "file" if upload else "text"
        try:
            scenario = fields.with_policy_spelled_as_the_form_reads_it(
                parse_text(text, max_events=MAX_EVENTS, max_list=MAX_VMS)
            )
            hosts, vms = scenario_size(scenario)
        except ScenarioError as exc:
            self.add_error(field, str(exc))  # "fleet.racks[3].hosts: must be > 0", verbatim
            return cleaned
        if hosts > MAX_HOSTS:
            self.add_error(field, f"fleet.racks: {ERROR_TOO_MANY_HOSTS}")
        elif vms > MAX_VMS:
            self.add_error(field, f"fleet.vms: {ERROR_TOO_MANY_VMS}")
        elif problem := uneditable_value(scenario):
            self.add_error(field, problem)
        cleaned["scenario"] = scenario
        return cleaned


def uneditable_value(scenario: dict) -> str:
    """A value of a valid scenario that the fleet form would refuse as it shows it ("" if none):
    a size longer than its field, a number beyond its field's range. Said with the scenario
    path, like the engine's own errors."""
    checks = [("", FLEET_FIELDS, scenario, DEFAULTS)]
    checks += [
        (f"events[{i}].", EVENT_FIELDS, event, EVENT_DEFAULTS)
        for i, event in enumerate(scenario.get("events") or [])
    ]
    for prefix, rows, part, defaults in checks:
        values, form_fields = fields.initial(rows, part, defaults), fields.form_fields(rows)
        for row in rows:
            for name in row.names:
                try:
                    form_fields[name].clean(values[name])
                except ValidationError as exc:
                    return f"{prefix}{row.path}: {exc.messages[0]}"
    return ""
