"""Forms for fleets, maintenance events, scenario uploads and sweeps.

The engine validates: the forms build the scenario and ``parse_scenario`` raises
``ScenarioError(path, message)``; ``add_scenario_error`` puts the message next to the field the
path names (``fleet.racks[0].hosts`` -> hosts per rack, ``events[1].deadline`` -> the second
event's deadline) or, when no field edits that part, shows ``path: message`` verbatim.
"""

from __future__ import annotations

import re

from django import forms
from django.core.validators import MaxLengthValidator
from django.forms import inlineformset_factory

from migrationsim.fleet.scenario import ScenarioError, workload_names
from migrationsim.fleet.text import MAX_SCENARIO_CHARS, parse_text, scenario_size, validate

from . import sweeps
from .fields import fleet_to_scenario
from .models import Fleet, MaintenanceEvent

MAX_HOSTS = 2_000
MAX_VMS = 40_000
MAX_EVENTS = 10  # the form edits at most this many; an upload may not bring more
MAX_DESCRIPTION = 4000
ERROR_TOO_MANY_HOSTS = f"at most {MAX_HOSTS:,} hosts in the web playground (use the CLI for more)"
ERROR_TOO_MANY_VMS = f"at most {MAX_VMS:,} VMs in the web playground (use the CLI for more)"
ERROR_NO_EVENT = "add at least one maintenance event"
ERROR_EMPTY_UPLOAD = "paste a scenario or choose a file"
ERROR_UPLOAD_NOT_TEXT = "the file is not UTF-8 text (JSON or YAML)"
ERROR_TOO_MANY_POINTS = f"at most {sweeps.MAX_SWEEP_POINTS} runs in a sweep"
ERROR_SWEEP_TOO_BIG = (f"a sweep may simulate at most {sweeps.MAX_SWEEP_TOTAL_VMS:,} VMs "
                       f"in all (runs x VMs per run)")
ERROR_SAME_PARAM = "choose two different parameters"

PERCENT = {"min_value": 0, "max_value": 100}
TEXT_ATTRS = {"spellcheck": "false", "autocomplete": "off"}


def _text_widget(example: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": example, **TEXT_ATTRS})


class FleetForm(forms.ModelForm):
    class Meta:
        model = Fleet
        fields = ["name", "description", "seed", "zone", "rack_prefix", "racks", "hosts_per_rack",
                  "host_vcpus", "host_memory", "host_nic", "uplink", "oversubscription", "spine",
                  "migration_share", "vms_per_host", "vm_memory_min", "vm_memory_max",
                  "vm_vcpus_min", "vm_vcpus_max", "customers", "anti_affinity_groups",
                  "anti_affinity_share", "gpu_share", "spot_share", "terminate_share",
                  "watching_share", "automatic_restart_share", "policy", "downtime_limit",
                  "max_bandwidth", "auto_converge", "post_copy", "completion_timeout",
                  "timeout_action", "cap_per_source_host", "cap_per_target_host", "cap_per_rack",
                  "cap_per_customer", "cap_global", "headroom"]
        labels = {
            "racks": "Racks", "hosts_per_rack": "Hosts per rack", "host_vcpus": "vCPUs per host",
            "host_memory": "Memory per host", "host_nic": "Host NIC speed",
            "uplink": "Rack uplink", "oversubscription": "Oversubscription (hosts x NIC : uplink)",
            "spine": "Spine capacity", "migration_share": "NIC share for migrations (%)",
            "vms_per_host": "VMs per host", "vm_memory_min": "VM memory from",
            "vm_memory_max": "to", "vm_vcpus_min": "VM vCPUs from", "vm_vcpus_max": "to",
            "anti_affinity_groups": "Anti-affinity groups",
            "anti_affinity_share": "VMs in an anti-affinity group (%)",
            "gpu_share": "GPU VMs (%)", "spot_share": "Spot VMs (%)",
            "terminate_share": "Terminate on maintenance (%)",
            "watching_share": "Guests watching maintenance-event (%)",
            "automatic_restart_share": "automaticRestart (%)", "policy": "Convergence policy",
            "downtime_limit": "Downtime limit", "max_bandwidth": "Bandwidth cap per migration",
            "auto_converge": "Auto-converge", "post_copy": "Post-copy",
            "completion_timeout": "Completion timeout", "timeout_action": "At the timeout",
            "cap_per_source_host": "Per source host", "cap_per_target_host": "Per target host",
            "cap_per_rack": "Per rack", "cap_per_customer": "Per customer",
            "cap_global": "In the zone (global)", "headroom": "Capacity headroom (%)",
            "rack_prefix": "Rack name prefix",
        }
        help_texts = {
            "uplink": "blank: hosts x NIC / oversubscription", "spine": "blank: non-blocking",
            "downtime_limit": "e.g. 300ms", "max_bandwidth": "blank: the policy's default (qemu 128MiB/s)",
            "completion_timeout": "blank: none; e.g. 150s", "cap_per_rack": "blank: no cap",
            "cap_per_customer": "blank: no cap", "cap_global": "blank: no cap",
            "watching_share": "they get the 60 s notice", "terminate_share": "onHostMaintenance: TERMINATE",
            "seed": "same seed and scenario: same run",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "host_memory": _text_widget("256GiB"), "host_nic": _text_widget("10Gbit/s"),
            "uplink": _text_widget("40Gbit/s"), "spine": _text_widget("1.6Tbit/s"),
            "vm_memory_min": _text_widget("1GiB"), "vm_memory_max": _text_widget("16GiB"),
            "downtime_limit": _text_widget("300ms"), "max_bandwidth": _text_widget("128MiB/s"),
            "completion_timeout": _text_widget("150s"),
        }

    policy = forms.ChoiceField(label="Convergence policy", choices=[
        ("qemu", "qemu: stop when pending < bandwidth x downtime limit"),
        ("xen", "xen: at most 29 rounds or 3x memory"), ("textbook", "textbook: Liu/Akoush"),
        ("gce", "gce: diminishing returns")])
    timeout_action = forms.ChoiceField(label="At the timeout", required=False, choices=[
        ("", "the policy's default (abort)"), ("abort", "abort: the VM stays on its source"),
        ("force-complete", "force-complete: pause and finish"),
        ("post-copy", "post-copy: switch and pull the rest")])
    cap_per_source_host = forms.IntegerField(label="Per source host", min_value=1, max_value=1000,
                                             help_text="migrations leaving one host at once")
    cap_per_target_host = forms.IntegerField(label="Per target host", min_value=1, max_value=1000,
                                             help_text="migrations arriving on one host at once")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("migration_share", "anti_affinity_share", "gpu_share", "spot_share",
                     "terminate_share", "watching_share", "automatic_restart_share", "headroom"):
            self.fields[name] = forms.FloatField(label=self.fields[name].label, **PERCENT,
                                                 help_text=self.fields[name].help_text)
        self.fields["description"].validators.append(MaxLengthValidator(MAX_DESCRIPTION))
        self.fields["description"].widget.attrs["maxlength"] = MAX_DESCRIPTION
        self.fields["racks"].validators.append(_at_most(10_000))
        self.fields["hosts_per_rack"].validators.append(_at_most(1000))
        mix = (self.instance.mix if self.instance and self.instance.mix else {"web": 100.0})
        self.mix_names = workload_names()
        for name in self.mix_names:
            self.fields[f"mix_{name}"] = forms.FloatField(
                label=name, required=False, initial=mix.get(name, 0), **PERCENT,
                widget=forms.NumberInput(attrs={"step": "any"}))

    @property
    def mix_fields(self):
        return [self[f"mix_{name}"] for name in self.mix_names]

    def clean(self):
        cleaned = super().clean()
        mix = {name: cleaned.get(f"mix_{name}") or 0.0 for name in self.mix_names}
        if not any(v > 0 for v in mix.values()):
            self.add_error(f"mix_{self.mix_names[0]}", "give at least one workload a share above 0 %")
        cleaned["mix"] = {k: v for k, v in mix.items() if v > 0}
        if self.errors:
            return cleaned
        hosts = cleaned["racks"] * cleaned["hosts_per_rack"] + sum(
            int(g.get("count", 1)) * int(g.get("hosts", 0))
            for g in (self.instance.extra or {}).get("more_racks", []))
        if hosts > MAX_HOSTS:
            self.add_error("racks", ERROR_TOO_MANY_HOSTS)
        elif hosts * cleaned["vms_per_host"] > MAX_VMS:
            self.add_error("vms_per_host", ERROR_TOO_MANY_VMS)
        return cleaned

    def save(self, commit=True):
        self.instance.mix = self.cleaned_data["mix"]
        return super().save(commit=commit)


def _at_most(limit: int):
    def check(value):
        if value is not None and value > limit:
            raise forms.ValidationError(f"at most {limit:,}")
    return check


EVENT_FIELDS = ("name", "kind", "scope", "scope_names", "start", "deadline", "window_start",
                "window_end", "max_hosts_in_maintenance", "host_downtime", "failure_after")


class EventForm(forms.ModelForm):
    class Meta:
        model = MaintenanceEvent
        fields = list(EVENT_FIELDS)
        labels = {"scope_names": "Racks or hosts", "max_hosts_in_maintenance": "Hosts out at once",
                  "window_start": "Window opens", "window_end": "Window closes",
                  "host_downtime": "Host downtime", "failure_after": "Mean time to failure"}
        help_texts = {"scope_names": "e.g. rack1, rack2 or rack1-h3 (not for the whole zone)",
                      "start": "after the run starts, e.g. 0s",
                      "deadline": "urgent patches: hosts still busy then are rebooted anyway",
                      "max_hosts_in_maintenance": "a count (2) or a share (10%); blank: the kind's default",
                      "host_downtime": "blank: the kind's default (5-60 min)",
                      "failure_after": "hardware failures only, e.g. 30min",
                      "window_start": "migrations start only in the window (daily)"}
        widgets = {"scope_names": forms.TextInput(attrs={"placeholder": "rack1, rack2", **TEXT_ATTRS}),
                   "start": _text_widget("0s"), "deadline": _text_widget("12h"),
                   "window_start": _text_widget("1h"), "window_end": _text_widget("5h"),
                   "max_hosts_in_maintenance": _text_widget("10%"),
                   "host_downtime": _text_widget("10min"), "failure_after": _text_widget("30min")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope_names"].validators.append(MaxLengthValidator(MAX_DESCRIPTION))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") in ("racks", "hosts") and not (cleaned.get("scope_names") or "").strip():
            self.add_error("scope_names", f"name the {cleaned['scope']} (separated by commas)")
        return cleaned


EventFormSet = inlineformset_factory(Fleet, MaintenanceEvent, form=EventForm, extra=0,
                                     can_delete=True, min_num=1, validate_min=True, max_num=10,
                                     validate_max=True)

# scenario paths to form fields
_FLEET_PATHS = {
    "name": "name", "description": "description", "seed": "seed", "fleet.zone": "zone",
    "fleet.host.vcpus": "host_vcpus", "fleet.host.memory": "host_memory",
    "fleet.host.nic": "host_nic", "fleet.oversubscription": "oversubscription",
    "fleet.spine": "spine", "fleet.racks": "racks", "fleet.racks[0].name": "rack_prefix",
    "fleet.racks[0].count": "racks", "fleet.racks[0].hosts": "hosts_per_rack",
    "fleet.racks[0].uplink": "uplink", "fleet.vms.per_host": "vms_per_host",
    "fleet.vms.memory": "vm_memory_min", "fleet.vms.vcpus": "vm_vcpus_min",
    "fleet.vms.customers": "customers", "fleet.vms.anti_affinity_groups": "anti_affinity_groups",
    "policy.policy": "policy", "policy.name": "policy", "caps.per_source_host": "cap_per_source_host",
    "caps.per_target_host": "cap_per_target_host", "caps.per_rack": "cap_per_rack",
    "caps.per_customer": "cap_per_customer", "caps.global": "cap_global",
    "caps.headroom": "headroom", "network.migration_share": "migration_share",
}
_EVENT_PATHS = {"window.start": "window_start", "window.end": "window_end", "window": "window_start",
                "scope.racks": "scope_names", "scope.hosts": "scope_names"}
_EVENT_RE = re.compile(r"^events\[(\d+)\](?:\.(.+))?$")


def fleet_field_for(path: str, form: FleetForm) -> str | None:
    if path in _FLEET_PATHS:
        return _FLEET_PATHS[path]
    head, _, last = path.rpartition(".")
    if head == "fleet.vms" and last in form.fields:
        return last
    if head == "fleet.vms.mix" and f"mix_{last}" in form.fields:
        return f"mix_{last}"
    if head == "policy" and last in form.fields:
        return last
    return None


def add_scenario_error(exc: ScenarioError, form: FleetForm, event_forms: list) -> None:
    """Put the engine's message next to the field its path names, or verbatim at the top."""
    match = _EVENT_RE.match(exc.path)
    if match and int(match.group(1)) < len(event_forms):
        event_form = event_forms[int(match.group(1))]
        rest = match.group(2) or ""
        field = _EVENT_PATHS.get(rest, rest)
        if field in event_form.fields:
            event_form.add_error(field, exc.message)
        else:
            event_form.add_error(None, f"{exc.path}: {exc.message}")
        return
    field = fleet_field_for(exc.path, form)
    if field is not None:
        form.add_error(field, exc.message)
    else:
        form.add_error(None, f"{exc.path}: {exc.message}")


def validate_fleet(form: FleetForm, formset) -> dict | None:
    """Both forms valid on their own: build the scenario and let the engine check it. Returns
    the scenario, or None after putting the engine's error next to its field."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    fleet = form.save(commit=False)
    event_forms = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    if not event_forms:
        form.add_error(None, ERROR_NO_EVENT)
        return None
    events = [f.save(commit=False) for f in event_forms]
    scenario = fleet_to_scenario(fleet, events)
    try:
        validate(scenario)
    except ScenarioError as exc:
        add_scenario_error(exc, form, event_forms)
        return None
    return scenario


class ImportForm(forms.Form):
    file = forms.FileField(label="Scenario file (JSON or YAML)", required=False)
    text = forms.CharField(label="or paste it", required=False,
                           widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                                        "placeholder": "name: my-zone\nfleet: ..."}))

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = cleaned.get("text") or ""
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
            scenario = parse_text(text, max_events=MAX_EVENTS, max_list=MAX_VMS)
            hosts, vms = scenario_size(scenario)
        except ScenarioError as exc:
            self.add_error(field, str(exc))  # "fleet.racks[3].hosts: must be > 0", verbatim
            return cleaned
        if hosts > MAX_HOSTS:
            self.add_error(field, f"fleet.racks: {ERROR_TOO_MANY_HOSTS}")
        elif vms > MAX_VMS:
            self.add_error(field, f"fleet.vms: {ERROR_TOO_MANY_VMS}")
        elif problem := storable_problem(scenario):
            self.add_error(field, problem)
        cleaned["scenario"] = scenario
        return cleaned


_FIELD_PATHS = {field: path for path, field in _FLEET_PATHS.items()} | {
    "rack_prefix": "fleet.racks[0].name", "racks": "fleet.racks[0].count",
    "vm_memory_max": "fleet.vms.memory", "vm_vcpus_max": "fleet.vms.vcpus",
    "downtime_limit": "policy.downtime_limit", "max_bandwidth": "policy.max_bandwidth",
    "completion_timeout": "policy.completion_timeout", "timeout_action": "policy.timeout_action"}
_EVENT_FIELD_PATHS = {"window_start": "window.start", "window_end": "window.end",
                      "scope_names": "scope"}


def storable_problem(scenario: dict) -> str:
    """What of a valid scenario the web's tables cannot hold ("" if nothing): a value longer
    than its column (sizes and durations are kept as typed, in 20 characters), a number out of
    a column's range. Said with the scenario path, like the engine's own errors."""
    from django.core.exceptions import ValidationError

    from .fields import scenario_to_fields

    fields, events = scenario_to_fields(scenario)
    checks = [(Fleet(**fields), "", _FIELD_PATHS, ["owner", "visitor_key"])]
    checks += [(MaintenanceEvent(position=i, **ev), f"events[{i}].", _EVENT_FIELD_PATHS, ["fleet"])
               for i, ev in enumerate(events)]
    for row, prefix, paths, exclude in checks:
        try:
            row.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            return f"{prefix}{paths.get(name, name)}: {messages[0]}"
    return ""


def _param_choices(blank: bool):
    choices = [(k, label) for k, (label, _) in sweeps.SWEEP_PARAMS.items()]
    return ([("", "(none: a line, not a grid)")] if blank else []) + choices


_UNIT_EXAMPLES = {"policy.max_bandwidth": "128MiB/s", "policy.downtime_limit": "300ms",
                  "fleet.host.nic": "25Gbit/s"}


def _is_bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class SweepForm(forms.Form):
    x_param = forms.ChoiceField(label="Parameter 1", choices=_param_choices(False))
    x_values = forms.CharField(label="its values", max_length=300,
                               widget=_text_widget("64MiB/s, 128MiB/s, 256MiB/s"),
                               help_text="separated by commas, with units")
    y_param = forms.ChoiceField(label="Parameter 2", choices=_param_choices(True), required=False)
    y_values = forms.CharField(label="its values", max_length=300, required=False,
                               widget=_text_widget("1, 2, 4"))
    metric = forms.ChoiceField(label="Outcome to chart", choices=list(sweeps.SWEEP_METRICS.items()))

    def __init__(self, *args, scenario: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.scenario = scenario

    def _values(self, param_field: str, values_field: str) -> list:
        param = self.cleaned_data.get(param_field)
        raw = self.cleaned_data.get(values_field) or ""
        if not param:
            return []
        parse = sweeps.SWEEP_PARAMS[param][1]
        values = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            if parse is str and _is_bare_number(part):  # "1" would silently mean 1 B/s or 1 s
                self.add_error(values_field, f"{part!r} needs a unit (e.g. {_UNIT_EXAMPLES.get(param, '64MiB/s')})")
                return []
            try:
                values.append(parse(part))
            except ValueError:
                self.add_error(values_field, f"{part!r} is not a {'whole number' if parse is int else 'number'}")
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
        for x in xs:  # each value must make a valid scenario; say which one does not
            try:
                s = sweeps.set_path(self.scenario, cleaned["x_param"], x)
                hosts, vms = scenario_size(s)
            except ScenarioError as exc:
                self.add_error("x_values", f"{x}: {exc}")
                return cleaned
        for y in ys:
            try:
                validate(sweeps.set_path(self.scenario, cleaned["y_param"], y))
            except ScenarioError as exc:
                self.add_error("y_values", f"{y}: {exc}")
                return cleaned
        if vms > sweeps.MAX_SWEEP_VMS_PER_RUN or vms * points > sweeps.MAX_SWEEP_TOTAL_VMS:
            self.add_error(None, ERROR_SWEEP_TOO_BIG + f" (this one: {points} x {vms:,})")
        cleaned["xs"], cleaned["ys"] = xs, ys
        return cleaned
