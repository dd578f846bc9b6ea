"""The "Anatomy of a live migration" form. Fields are text with units ("4GiB", "10Gbit/s",
"300ms"); the model's own ``build_spec`` parses and checks them, so each rule lives in one
place, and its ``InvalidParameter(field, message)`` becomes an error next to that field."""

from __future__ import annotations

from django import forms

from migrationsim.spec import SEED_MAX
from playground.fleets.field_kinds import DURATION, RATE, SIZE

from . import runner as simulation

SPEEDS = [
    ("1", "real time (1x)"),
    ("10", "10x"),
    ("100", "100x"),
    ("max", "as fast as possible"),
]

DEFAULTS = {
    "memory": "4GiB",
    "workload": "web",
    "dirty_rate": "",
    "working_set": "",
    "bandwidth": "10Gbit/s",
    "max_bandwidth": "",
    "policy": "qemu",
    "downtime_limit": "300ms",
    "auto_converge": False,
    "post_copy": False,
    "guest_watches": True,
    "resolution": "fluid",
    "speed": "10",
    "seed": 1,
}


# the quantity each text field holds (a bare number is bytes, bytes/s or seconds to the model)
QUANTITIES = {
    "memory": SIZE,
    "dirty_rate": RATE,
    "working_set": SIZE,
    "bandwidth": RATE,
    "max_bandwidth": RATE,
    "downtime_limit": DURATION,
}


def _text(label: str, *, example: str, required: bool = True, help_from: str | None = None):
    help_text = simulation.parameter_help(help_from) if help_from else ""
    return forms.CharField(
        label=label,
        required=required,
        max_length=40,
        help_text=help_text or f"e.g. {example}",
        widget=forms.TextInput(
            attrs={"placeholder": example, "spellcheck": "false", "autocomplete": "off"}
        ),
    )


class AnatomyForm(forms.Form):
    memory = _text("VM memory", example="4GiB", help_from="memory")
    workload = forms.ChoiceField(label="Workload", choices=())
    dirty_rate = _text("Dirty rate", example="200MB/s", required=False, help_from="dirty_rate")
    working_set = _text("Working set", example="1GiB", required=False, help_from="working_set")
    bandwidth = _text("Link bandwidth", example="10Gbit/s", help_from="bandwidth")
    max_bandwidth = _text(
        "Live-round cap", example="128MiB/s", required=False, help_from="max_bandwidth"
    )
    policy = forms.ChoiceField(label="Policy", choices=simulation.POLICY_CHOICES)
    downtime_limit = _text("Downtime limit", example="300ms", help_from="downtime_limit")
    auto_converge = forms.BooleanField(
        label="Auto-converge",
        required=False,
        help_text="throttle the vCPUs when dirtying outruns the link",
    )
    post_copy = forms.BooleanField(
        label="Post-copy",
        required=False,
        help_text="switch to post-copy if pre-copy does not converge",
    )
    guest_watches = forms.BooleanField(
        label="Guest watches maintenance-event",
        required=False,
        help_text="the guest gets the 60 s notice",
    )
    resolution = forms.ChoiceField(label="Resolution", choices=simulation.RESOLUTION_CHOICES)
    speed = forms.ChoiceField(
        label="Playback speed",
        choices=SPEEDS,
        help_text="how fast your browser plays the simulated time",
    )
    seed = forms.IntegerField(
        label="Seed",
        min_value=0,
        max_value=SEED_MAX,
        help_text="same seed and parameters: same run",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workload"].choices = [
            (name, f"{label}: {description}" if description else label)
            for name, label, description in simulation.workload_choices()
        ] + [(simulation.CUSTOM_WORKLOAD, "custom: my own dirty rate and working set")]

    def _refuse_bare_numbers(self) -> None:
        """A quantity typed without its unit is refused on this form: ``300`` in the downtime
        limit is 300 s to the model (and to the command line), where the person meant 300 ms;
        ``4096`` memory a 4 KiB VM. The message says how the bare number would read."""
        for name, quantity in QUANTITIES.items():
            if name in self.errors:
                continue
            example = self.fields[name].widget.attrs.get("placeholder", "")
            why = quantity.unit_missing(self.cleaned_data.get(name), example)
            if why:
                self.add_error(name, why)

    def clean(self):
        """The model's rules (its size limits included: the pages resolution's 1 TiB), every
        field's error at once: the model names the first bad field; that field is then taken
        at its example (valid alone: a custom workload's dirty rate must be given, its default
        is blank) and the model asked again, once a field at most (a form with five bad fields
        said one a submit)."""
        cleaned = super().clean()
        self._refuse_bare_numbers()
        values = {**DEFAULTS, **self.cleaned_data}  # a field that failed a check: its default
        named = set(self.errors)
        for _ in range(len(self.fields)):
            try:
                simulation.validate(values)
                break
            except simulation.InvalidParameter as exc:
                field = exc.field if exc.field in self.fields else None
                if field is None:
                    self.add_error(None, f"{exc.field}: {exc.message}")
                    break
                if field in named:  # its default fails the same way (a rule across fields)
                    if field not in self.errors:
                        self.add_error(field, exc.message)
                    break
                self.add_error(field, exc.message)
                named.add(field)
                values[field] = self.fields[field].widget.attrs.get(
                    "placeholder", DEFAULTS.get(field)
                )
        return cleaned

    def run_params(self) -> dict:
        """What a ``Run`` stores: the values as typed, so a re-run shows them unchanged."""
        return {name: self.cleaned_data[name] for name in self.fields}
