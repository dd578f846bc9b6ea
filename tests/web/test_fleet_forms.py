import json

import pytest

from migrationsim.fleet.scenario import workload_names
from playground.fleets import services as fleet_services
from playground.fleets.forms import ERROR_TOO_MANY_HOSTS, FleetForm
from playground.fleets.import_forms import ImportForm
from playground.fleets.models import Fleet
from playground.fleets.sweep_forms import EXAMPLES, SweepForm

from .fleet_support import fleet_post_data, tiny

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(alice):
    return fleet_services.create_fleet(scenario=tiny(), source="test", visitor=alice)


def _post(client, fleet, **changes):
    url = f"/fleets/{fleet.pk}/"
    data = fleet_post_data(client, url)
    data.update(changes)
    return client.post(url, data)


def test_posting_the_form_back_unchanged_saves_and_goes_to_the_plan(client, fleet):
    response = _post(client, fleet)
    assert response.status_code == 302 and response.url == f"/fleets/{fleet.pk}/plan/"


def test_a_bad_size_gets_the_engines_message_next_to_the_field(client, fleet):
    response = _post(client, fleet, host_memory="lots")
    assert response.status_code == 422
    assert "host_memory" in response.context["form"].errors
    assert "cannot read 'lots'" in response.context["form"].errors["host_memory"][0]


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("host_nic", "1e-320B/s", "at least 1bit/s"),
        ("host_nic", "1bit/s", "at least 1bit/s"),  # a migration gets half of it
        ("vm_memory_min", "100B", "4096 B page"),
        ("vm_memory_max", "1e308B", "16.0 TiB"),
    ],
)
def test_what_the_single_vm_model_refuses_is_a_field_error_not_a_failed_plan(
    client, fleet, field, value, words
):
    """Saved, these made every plan and run fail in the worker ("InvalidParameter: bandwidth:
    must be at least 1bit/s"): each migration is the single-VM model's, with its limits."""
    response = _post(client, fleet, **{field: value})
    assert response.status_code == 422
    errors = response.context["form"].errors  # the VM memory range's error is on its first field
    assert words in errors.get(field, errors.get("vm_memory_min"))[0]


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("downtime_limit", "300", "300 alone would be read as 300 s (5 min 0 s); e.g. 300ms"),
        ("host_nic", "50", "50 alone would be read as 50 B/s (400 bit/s); e.g. 10Gbit/s"),
        ("host_memory", "4096", "4096 alone would be read as 4096 B (4.0 KiB); e.g. 256GiB"),
    ],
)
def test_a_quantity_typed_without_its_unit_is_refused_saying_how_it_would_read(
    client, fleet, field, value, said
):
    """`downtime_limit=300` planned a 300 s limit ("downtime limit 5 min 0 s") where the hint
    says 300ms: the engine reads a bare number as seconds, bytes or bytes per second."""
    response = _post(client, fleet, **{field: value})
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [f"give its unit: {said}"]


def test_a_bare_number_the_scenario_already_had_stays_when_other_fields_change(client, alice):
    """An imported file may say `downtime_limit: 0.3` (seconds): posting the form back with
    another change must not refuse the value nobody typed."""
    data = tiny()
    data["policy"] = {"name": "qemu", "downtime_limit": 0.3}
    fleet = fleet_services.create_fleet(scenario=data, source="test", visitor=alice)
    response = _post(client, fleet, seed="7")
    assert response.status_code == 302, response.context["form"].errors


def test_vms_bigger_than_every_host_are_a_field_error_not_a_fleet_of_no_vms(client, fleet):
    response = _post(client, fleet, vm_memory_min="8TiB", vm_memory_max="16TiB")
    assert response.status_code == 422
    assert "fits on no host" in response.context["form"].errors["vm_memory_min"][0]


def test_a_post_claiming_thousands_of_events_builds_at_most_the_forms_allowed(client, fleet):
    """The formset's own count, not the post's: a TOTAL_FORMS of 100000 built 1,010 event
    forms (3 s of daphne's one sync thread) and answered a 5 MB page."""
    from playground.fleets.forms import MAX_EVENTS

    response = _post(client, fleet, **{"events-TOTAL_FORMS": "100000"})
    assert response.status_code == 422
    assert len(response.context["formset"].forms) <= MAX_EVENTS
    assert f"at most {MAX_EVENTS} forms" in str(response.context["formset"].non_form_errors())


def test_a_bad_policy_value_is_mapped_to_its_field(client, fleet):
    response = _post(client, fleet, downtime_limit="soon")
    assert response.status_code == 422
    assert "downtime_limit" in response.context["form"].errors


def test_an_event_error_lands_on_that_events_field(client, fleet):
    response = _post(client, fleet, **{"events-0-scope": "racks", "events-0-scope_names": "r9"})
    assert response.status_code == 422
    errors = response.context["formset"].forms[0].errors
    assert errors["scope_names"] == ["no rack named 'r9'"]


def test_a_window_that_ends_before_it_starts_is_refused_on_the_window(client, fleet):
    response = _post(client, fleet, **{"events-0-window_start": "2h", "events-0-window_end": "1h"})
    assert response.status_code == 422
    assert (
        "must be after window.start" in response.context["formset"].forms[0].errors["window_end"][0]
    )


def test_a_mix_of_nothing_is_refused(client, fleet):
    names = workload_names()
    response = _post(client, fleet, **{f"mix_{n}": "0" for n in names})
    assert response.status_code == 422
    assert f"mix_{names[0]}" in response.context["form"].errors


def test_percentages_over_100_are_refused(client, fleet):
    response = _post(client, fleet, gpu_share="150")
    assert response.status_code == 422 and "gpu_share" in response.context["form"].errors


def test_fleets_too_big_for_the_web_are_refused_with_a_reason(client, fleet):
    response = _post(client, fleet, racks="200", hosts_per_rack="100")
    assert response.status_code == 422
    assert response.context["form"].errors["racks"] == [ERROR_TOO_MANY_HOSTS]


def test_deleting_every_event_is_refused(client, fleet):
    response = _post(client, fleet, **{"events-0-DELETE": "on"})
    assert response.status_code == 422
    fleet.refresh_from_db()
    assert len(fleet.scenario["events"]) == 1


def test_an_upload_with_a_bad_field_shows_the_engines_path_verbatim():
    bad = tiny()
    bad["fleet"]["racks"][0]["hosts"] = 0
    form = ImportForm({"text": json.dumps(bad)})
    assert not form.is_valid()
    (error,) = form.errors["text"]
    at = json.dumps(bad).index('"hosts": 0') + len('"hosts": ') + 1  # the value's column
    assert error == f"fleet.racks[0].hosts: must be > 0; see line 1, column {at}"


def test_an_upload_that_is_not_yaml_is_refused():
    form = ImportForm({"text": "name: [unclosed"})
    assert not form.is_valid() and form.errors["text"][0].startswith("scenario: not valid YAML")


def test_a_file_and_a_pasted_scenario_together_are_refused_not_one_dropped():
    """The file was imported and the paste silently ignored."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from playground.fleets.import_forms import ERROR_FILE_AND_TEXT

    upload = SimpleUploadedFile("zone.yaml", json.dumps(tiny()).encode())
    form = ImportForm({"text": json.dumps(tiny(seed=9))}, {"file": upload})
    assert not form.is_valid() and form.errors["text"] == [ERROR_FILE_AND_TEXT]


def test_an_upload_never_reads_a_file_named_in_it():
    form = ImportForm({"text": "/etc/passwd.json"})
    assert not form.is_valid()
    assert "must be a mapping" in form.errors["text"][0]


def test_an_upload_the_form_could_not_edit_as_it_comes_is_refused_with_its_path():
    data = tiny()
    data["fleet"]["host"]["memory"] = "00000000000000000064GiB"  # 64GiB to the engine
    form = ImportForm({"text": json.dumps(data)})
    assert not form.is_valid()
    assert form.errors["text"] == [
        "fleet.host.memory: Ensure this value has at most 20 characters (it has 23)."
    ]


def test_an_uploaded_policy_spelled_the_other_way_shows_in_the_form():
    data = tiny(policy={"policy": "xen", "max-bandwidth": "1GB/s"})
    form = ImportForm({"text": json.dumps(data)})
    assert form.is_valid(), form.errors
    shown = FleetForm(scenario=form.cleaned_data["scenario"]).initial
    assert (shown["policy"], shown["max_bandwidth"]) == ("xen", "1GB/s")


def test_importing_creates_a_fleet_and_opens_its_form(client):
    import yaml

    response = client.post("/fleets/import/", {"text": yaml.safe_dump(tiny(name="imported"))})
    fleet = Fleet.objects.get(scenario__name="imported")
    assert response.status_code == 302 and response.url == f"/fleets/{fleet.pk}/"


def test_a_bad_import_is_a_422_with_the_error_next_to_the_field(client):
    response = client.post("/fleets/import/", {"text": "fleet: {racks: []}\nevents: []"})
    assert response.status_code == 422
    assert b"fleet.racks: must be a non-empty list" in response.content


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_an_import_giving_a_key_twice_is_a_422_naming_the_key(client, fmt):
    """It was imported with the last value, the first one dropped unsaid."""
    import yaml

    if fmt == "yaml":
        pasted = yaml.safe_dump(tiny(seed=1)) + "seed: 2\n"
    else:
        pasted = json.dumps(tiny(seed=1))[:-1] + ', "seed": 2}'
    response = client.post("/fleets/import/", {"text": pasted})
    assert response.status_code == 422
    assert "seed: the key &quot;seed&quot; is given twice" in response.content.decode()
    assert not Fleet.objects.exists()


@pytest.mark.parametrize(
    "pasted",
    [
        json.dumps(tiny(name="x")).replace('"x"', '"\\ud800"'),  # a value
        json.dumps(tiny(name="x")).replace('"name"', '"\\udfff"'),  # a key
    ],
)
def test_an_import_holding_a_lone_surrogate_is_a_422_and_the_list_still_opens(client, pasted):
    """Imported, "\\ud800" (half a UTF-16 pair) was stored; no page can write it as UTF-8, so
    the visitor's fleet list, the fleet, its plan and its exports were a 500 from then on."""
    response = client.post("/fleets/import/", {"text": pasted})
    assert response.status_code == 422
    assert "lone surrogate" in response.content.decode()
    assert not Fleet.objects.exists()
    assert client.get("/fleets/").status_code == 200


def test_sweep_values_must_parse_and_make_valid_scenarios():
    form = SweepForm(
        {"x_param": "caps.per_source_host", "x_values": "1, two", "metric": "makespan_s"},
        scenario=tiny(),
    )
    assert not form.is_valid() and "'two' is not a whole number" in form.errors["x_values"][0]
    form = SweepForm(
        {"x_param": "policy.max_bandwidth", "x_values": "64MiB/s, fast", "metric": "makespan_s"},
        scenario=tiny(),
    )
    assert not form.is_valid()
    assert form.errors["x_values"][0].startswith("fast: policy.max_bandwidth:")


def test_every_point_of_a_sweeps_grid_must_make_a_valid_scenario_not_only_each_value():
    """2 bit/s is a NIC, 0.25 a migration share, but together they leave a migration under
    1 bit/s: that member could only fail, so the form refuses the pair, naming both."""
    form = SweepForm(
        {
            "x_param": "fleet.host.nic",
            "x_values": "2bit/s, 10Gbit/s",
            "y_param": "network.migration_share",
            "y_values": "0.25, 0.5",
            "metric": "makespan_s",
        },
        scenario=tiny(),
    )
    assert not form.is_valid()
    error = form.errors["y_values"][0]
    assert error.startswith("0.25 with ") and "2bit/s" in error and "fleet.host.nic" in error


def test_a_listed_fleets_grid_is_checked_on_its_smallest_vm_of_each_workload():
    """A sweep of a fleet that lists its VMs validates every point on the VMs the rules between
    parameters read (the smallest of each workload), not on every listed VM again."""
    from playground.fleets.sweeps import validation_probe

    listed = tiny()
    listed["fleet"]["vm_list"] = [
        {"host": "r1-h1", "memory": "8GiB", "workload": "web"},
        {"host": "r1-h1", "memory": "2GiB", "workload": "web"},
        {"host": "r1-h2", "memory": "4GiB", "workload": "idle"},
        {"host": "r1-h2", "memory": "1GiB", "workload": "web"},
    ]
    probe = validation_probe(listed)
    assert probe["fleet"]["vm_list"] == [listed["fleet"]["vm_list"][i] for i in (2, 3)]
    assert len(listed["fleet"]["vm_list"]) == 4  # the fleet's own scenario is left alone
    assert validation_probe(tiny()) == tiny()


def test_sweep_values_with_units_need_them():
    form = SweepForm(
        {"x_param": "policy.max_bandwidth", "x_values": "64MiB/s, 2", "metric": "makespan_s"},
        scenario=tiny(),
    )
    assert not form.is_valid()
    assert form.errors["x_values"][0] == "'2' needs a unit (e.g. 128MiB/s)"
    form = SweepForm(
        {"x_param": "policy.downtime_limit", "x_values": "100ms, 300ms", "metric": "makespan_s"},
        scenario=tiny(),
    )
    assert form.is_valid(), form.errors


def test_sweeps_are_capped_in_size():
    form = SweepForm(
        {
            "x_param": "seed",
            "x_values": ",".join(map(str, range(1, 7))),
            "y_param": "caps.per_source_host",
            "y_values": "1,2,3,4,5",
            "metric": "makespan_s",
        },
        scenario=tiny(),
    )
    assert not form.is_valid() and "at most 25 runs" in form.non_field_errors()[0]


def test_a_sweep_is_capped_in_the_scenario_copies_it_stores(monkeypatch):
    """Each run stores its scenario: 25 runs of a scenario of 8 MB (a description, events'
    host lists) stored 200 MB for one sweep. Refused, before any value is validated."""
    from playground.fleets import sweep_forms

    data = tiny(description="x" * 2_000_000)  # a fleet well under the VM caps
    validated = []
    monkeypatch.setattr(sweep_forms, "validate", lambda s: validated.append(1))
    form = SweepForm(
        {"x_param": "seed", "x_values": ",".join(map(str, range(1, 21))), "metric": "makespan_s"},
        scenario=data,
    )
    assert not form.is_valid()
    assert "each run of a sweep stores its own copy of the scenario" in form.non_field_errors()[0]
    assert "(this one: 20 x 2.0 MB)" in form.non_field_errors()[0]
    assert validated == []
    few = SweepForm({"x_param": "seed", "x_values": "1,2", "metric": "makespan_s"}, scenario=tiny())
    assert few.is_valid(), few.errors


def test_a_sweep_of_too_many_vms_is_refused_before_any_value_is_validated(monkeypatch):
    """A listed fleet of 130,000 VMs (7.9 MB, under the stored-size cap at 3 runs) was
    validated once per value (3.2 s of CPU, before any limit counted the request) only to be
    refused for its VMs, which no swept parameter changes. Refused first now."""
    from playground.fleets import sweep_forms

    data = tiny()
    data["fleet"]["vm_list"] = [{"name": f"v{i}", "host": "r1-h1"} for i in range(40_000)]
    validated = []
    monkeypatch.setattr(sweep_forms, "validate", lambda s: validated.append(1))
    form = SweepForm({"x_param": "seed", "x_values": "1,2", "metric": "makespan_s"}, scenario=data)
    assert not form.is_valid()
    assert "(this one: 2 x 40,000)" in form.non_field_errors()[0] and validated == []


def test_a_sweep_over_one_parameter_twice_is_refused():
    form = SweepForm(
        {
            "x_param": "seed",
            "x_values": "1,2",
            "y_param": "seed",
            "y_values": "3",
            "metric": "makespan_s",
        },
        scenario=tiny(),
    )
    assert not form.is_valid() and "y_param" in form.errors


@pytest.mark.parametrize("param", list(EXAMPLES))
def test_every_parameters_example_values_make_a_sweep_as_either_parameter(param):
    """The values the form offers for a parameter always fit it: nothing the page puts in a
    field is refused (a cap's '1, 2, 4' left under a downtime limit was, with a 422)."""
    other = "seed" if param != "seed" else "caps.per_source_host"
    for x, y in ((param, other), (other, param)):
        form = SweepForm(
            {
                "x_param": x,
                "x_values": EXAMPLES[x],
                "y_param": y,
                "y_values": EXAMPLES[y],
                "metric": "makespan_s",
            },
            scenario=tiny(),
        )
        assert form.is_valid(), (x, y, form.errors)


def test_the_sweep_page_offers_each_parameters_examples(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    html = client.get(f"/fleets/{fleet.pk}/sweep/").content.decode()
    assert 'id="sweep-examples"' in html and "sweep_form.js" in html
    assert f'placeholder="{EXAMPLES["caps.per_source_host"]}"' in html
    assert 'data-examples-of="y_param"' in html


def test_an_event_scoped_to_zones_by_name_is_stored_as_a_list_of_zones(client, fleet):
    response = _post(client, fleet, **{"events-0-scope": "zones", "events-0-scope_names": "z"})
    assert response.status_code == 302
    fleet.refresh_from_db()
    assert fleet.scenario["events"][0]["scope"] == {"zones": ["z"]}


def test_a_zone_the_fleet_does_not_have_is_refused_next_to_the_names(client, fleet):
    response = _post(client, fleet, **{"events-0-scope": "zones", "events-0-scope_names": "zz"})
    assert response.status_code == 422
    assert "no zone named 'zz'" in response.context["formset"].forms[0].errors["scope_names"][0]
