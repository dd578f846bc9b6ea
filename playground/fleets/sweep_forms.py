"""The sweep form: one or two scenario parameters, a few values each; every value must make a
valid scenario, and the whole grid must stay within the web's limits (``sweeps``)."""

from __future__ import annotations

import json

from django import forms

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import validate

from . import sweeps
from .fields import TEXT_ATTRS
from .sizes import vm_count

ERROR_TOO_MANY_POINTS = f"at most {sweeps.MAX_SWEEP_POINTS} runs in a sweep"
ERROR_SWEEP_TOO_BIG = (
    f"a sweep may simulate at most {sweeps.MAX_SWEEP_TOTAL_VMS:,} VMs in all (runs x VMs per run)"
)
ERROR_SWEEP_TOO_MUCH_STORED = (
    f"each run of a sweep stores its own copy of the scenario: at most "
    f"{sweeps.MAX_SWEEP_STORED_CHARS / 1e6:g} MB in all (runs x the scenario's size)"
)
ERROR_SAME_PARAM = "choose two different parameters"


def _text_widget(example: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": example, **TEXT_ATTRS})


def _param_choices(blank: bool):
    choices = [(k, label) for k, (label, _) in sweeps.SWEEP_PARAMS.items()]
    return ([("", "(none: a line, not a grid)")] if blank else []) + choices


# Each parameter's example values: the values field's placeholder, and what the form puts in
# it when its parameter is chosen (sweep_form.js), so the values always fit their parameter
# (the "1, 2, 4" of a cap left under a downtime limit was refused, 422, as "'1' needs a unit").
EXAMPLES = {
    "policy.max_bandwidth": "64MiB/s, 128MiB/s, 256MiB/s",
    "policy.downtime_limit": "100ms, 300ms, 1s",
    "caps.per_source_host": "1, 2, 4",
    "caps.per_target_host": "1, 2, 4",
    "caps.global": "4, 8, 16",
    "caps.per_rack": "1, 2, 4",
    "fleet.host.nic": "10Gbit/s, 25Gbit/s, 100Gbit/s",
    "network.migration_share": "0.25, 0.5, 1",
    "seed": "1, 2, 3",
}


def _unit_example(param: str) -> str:
    """The middle example (128MiB/s, 300ms, 25Gbit/s: the usual value) for an error message."""
    values = [v.strip() for v in EXAMPLES.get(param, "128MiB/s").split(",")]
    return values[len(values) // 2]


def _is_bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class SweepForm(forms.Form):
    x_param = forms.ChoiceField(label="Parameter 1", choices=_param_choices(False))
    x_values = forms.CharField(
        label="its values",
        max_length=300,
        widget=_text_widget("64MiB/s, 128MiB/s, 256MiB/s"),
        help_text="separated by commas, with units",
    )
    y_param = forms.ChoiceField(label="Parameter 2", choices=_param_choices(True), required=False)
    y_values = forms.CharField(
        label="its values", max_length=300, required=False, widget=_text_widget("1, 2, 4")
    )
    metric = forms.ChoiceField(label="Outcome to chart", choices=list(sweeps.SWEEP_METRICS.items()))

    def __init__(self, *args, scenario: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.scenario = scenario
        for param_field, values_field in (("x_param", "x_values"), ("y_param", "y_values")):
            chosen = self[param_field].value() or ""
            widget = self.fields[values_field].widget
            widget.attrs["placeholder"] = EXAMPLES.get(chosen, "")
            widget.attrs["data-examples-of"] = param_field  # sweep_form.js

    def _values(self, param_field: str, values_field: str) -> list:
        param = self.cleaned_data.get(param_field)
        raw = self.cleaned_data.get(values_field) or ""
        if not param:
            return []
        parse = sweeps.SWEEP_PARAMS[param][1]
        values = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            if parse is str and _is_bare_number(part):  # "1" would silently mean 1 B/s or 1 s
                self.add_error(
                    values_field,
                    f"{part!r} needs a unit (e.g. {_unit_example(param)})",
                )
                return []
            try:
                values.append(parse(part))
            except ValueError:
                self.add_error(
                    values_field,
                    f"{part!r} is not a {'whole number' if parse is int else 'number'}",
                )
                return []
        if not values:
            self.add_error(values_field, "give at least one value")
        if len(set(map(str, values))) != len(values):
            self.add_error(values_field, "each value once")
        return values

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("y_param") and cleaned["y_param"] == cleaned["x_param"]:
            self.add_error("y_param", ERROR_SAME_PARAM)
            return cleaned
        xs = self._values("x_param", "x_values")
        ys = self._values("y_param", "y_values") if cleaned.get("y_param") else []
        if self.errors:
            return cleaned
        points = len(xs) * (len(ys) or 1)
        if points > sweeps.MAX_SWEEP_POINTS:
            self.add_error(None, f"{ERROR_TOO_MANY_POINTS} (this one has {points})")
            return cleaned
        chars = len(json.dumps(self.scenario, separators=(",", ":")))
        if points * chars > sweeps.MAX_SWEEP_STORED_CHARS:  # before any value is validated
            self.add_error(
                None,
                ERROR_SWEEP_TOO_MUCH_STORED + f" (this one: {points} x {chars / 1e6:.1f} MB)",
            )
            return cleaned
        # no swept parameter changes how many VMs there are (at most: a full host takes fewer),
        # so the caps are checked once, before any value is validated
        try:
            at_most = vm_count(self.scenario)
        except (AttributeError, TypeError, ValueError):  # the engine says what is wrong below
            at_most = 0
        if at_most > sweeps.MAX_SWEEP_VMS_PER_RUN or at_most * points > sweeps.MAX_SWEEP_TOTAL_VMS:
            self.add_error(None, ERROR_SWEEP_TOO_BIG + f" (this one: {points} x {at_most:,})")
            return cleaned
        for x in xs:  # each value must make a valid scenario; say which one does not
            try:
                validate(sweeps.set_path(self.scenario, cleaned["x_param"], x))
            except ScenarioError as exc:
                self.add_error("x_values", f"{x}: {exc}")
                return cleaned
        for y in ys:
            try:
                validate(sweeps.set_path(self.scenario, cleaned["y_param"], y))
            except ScenarioError as exc:
                self.add_error("y_values", f"{y}: {exc}")
                return cleaned
        if ys and not self._every_pair_valid(xs, ys):
            return cleaned
        cleaned["xs"], cleaned["ys"] = xs, ys
        return cleaned

    def _every_pair_valid(self, xs: list, ys: list) -> bool:
        """Each value valid alone is not enough: a NIC of 2 bit/s with a migration share of
        0.25 leaves a migration under 1 bit/s, a run that could only fail. Every point of the
        grid is validated (on ``sweeps.validation_probe``: a listed fleet's VMs cut to those
        the rules between parameters read), and the first bad pair is named."""
        x_param, y_param = self.cleaned_data["x_param"], self.cleaned_data["y_param"]
        probe = sweeps.validation_probe(self.scenario)
        for x in xs:
            with_x = sweeps.set_path(probe, x_param, x)
            for y in ys:
                try:
                    validate(sweeps.set_path(with_x, y_param, y))
                except ScenarioError as exc:
                    self.add_error(
                        "y_values",
                        f"{y} with {sweeps.param_name(x_param)} {x}: {exc}",
                    )
                    return False
        return True
