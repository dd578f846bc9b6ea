import json

import pytest
import yaml

from migrationsim.fleet.text import PRESET_NAMES, preset_scenario, validate
from playground.fleets import fields
from playground.fleets import services as fleet_services
from playground.fleets.forms import fleet_forms, validate_fleet
from playground.fleets.models import Fleet

from .fleet_support import fleet_post_data, posted_forms, tiny

pytestmark = pytest.mark.django_db


def _post_back(client, fleet, **changes) -> dict:
    """Post the fleet's form as the page shows it, with ``changes``; the stored scenario after."""
    url = f"/fleets/{fleet.pk}/"
    response = client.post(url, {**fleet_post_data(client, url), **changes})
    assert response.status_code == 302, response.context and (
        response.context["form"].errors,
        response.context["formset"].errors,
    )
    fleet.refresh_from_db()
    return fleet.scenario


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_a_preset_imported_then_posted_back_unchanged_is_the_same_scenario(preset, alice, client):
    original = preset_scenario(preset)
    fleet = fleet_services.create_fleet(scenario=original, visitor=alice)
    assert fleet.to_scenario() == original
    assert _post_back(client, fleet) == original


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_field_written_back_as_shown_gives_the_engine_the_same_scenario(
    preset, alice, client
):
    """The table's conversions read and write faithfully: the scenario with every field of the
    form rewritten from what the form shows is, to the engine, the preset."""
    original = preset_scenario(preset)
    fleet = fleet_services.create_fleet(scenario=original, visitor=alice)
    form, formset = fleet_forms(fleet_post_data(client, f"/fleets/{fleet.pk}/"), scenario=original)
    assert form.is_valid() and formset.is_valid()
    rewritten = fields.written(
        fields.FLEET_FIELDS, original, form.cleaned_data, list(form.fields), fields.DEFAULTS
    )
    rewritten["events"] = [
        fields.written(
            fields.EVENT_FIELDS, {}, f.cleaned_data, list(f.fields), fields.EVENT_DEFAULTS
        )
        for f in formset.forms
    ]
    assert validate(rewritten) == validate(original)


def test_it_writes_only_the_paths_of_the_fields_that_changed(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    saved = _post_back(
        client, fleet, racks="3", gpu_share="50", downtime_limit="", **{"events-0-deadline": "2h"}
    )
    expected = tiny()
    expected["fleet"]["racks"][0]["count"] = 3
    expected["fleet"]["vms"]["gpu_share"] = 0.5
    del expected["policy"]["downtime_limit"]  # blank means absent
    expected["events"][0]["deadline"] = "2h"
    assert saved == expected


def test_it_keeps_keys_the_form_does_not_model():
    data = tiny()
    data["fleet"]["racks"].append(
        {"name": "big", "count": 1, "hosts": 3, "host": {"nic": "25Gbit/s"}}
    )
    data["fleet"]["vm_list"] = [{"name": "db-1", "host": "r1-h1", "memory": "8GiB"}]
    data["placement"] = {"scoring": "least_loaded"}
    data["failures"] = {"auth_failure": 0.1}
    data["timing"] = {"cleanup": "2s"}
    data["policy"]["max_rounds"] = 12
    data["network"] = {"migration_share": 0.4, "fabric_convergence": "2s"}
    form, formset = fleet_forms(
        _as_posted(data, hosts_per_rack="3", **{"events-0-name": "k2"}), scenario=data
    )
    saved = _validated(form, formset)
    data["fleet"]["racks"][0]["hosts"] = 3
    data["events"][0]["name"] = "k2"
    assert saved == data


def test_the_form_says_which_parts_of_the_scenario_it_does_not_edit(alice, client):
    data = tiny(timing={"cleanup": "2s"})
    data["fleet"]["racks"].append({"name": "big", "count": 1, "hosts": 3})
    data["fleet"]["vms"]["memory"] = "4GiB"  # a pair written as one value: edited
    fleet = fleet_services.create_fleet(scenario=data, visitor=alice)
    response = client.get(f"/fleets/{fleet.pk}/")
    assert response.context["kept"] == ["fleet.racks[1]", "timing.cleanup"]
    assert "(fleet.racks[1], timing.cleanup)" in response.content.decode()
    plain = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    assert 'id="kept-parts"' not in client.get(f"/fleets/{plain.pk}/").content.decode()


def test_writing_one_end_of_a_single_value_pair_keeps_the_other_end():
    data = tiny()
    data["fleet"]["vms"]["memory"] = "4GiB"
    form, formset = fleet_forms(_as_posted(data, vm_memory_max="8GiB"), scenario=data)
    assert _validated(form, formset)["fleet"]["vms"]["memory"] == ["4GiB", "8GiB"]


def test_a_share_added_to_the_engines_default_mix_keeps_the_default():
    data = tiny()
    del data["fleet"]["vms"]["mix"]  # the engine's default: all web
    form, _ = fleet_forms(scenario=data)
    assert form.initial["mix_web"] == 100 and form.initial["mix_idle"] == 0
    form, formset = fleet_forms(_as_posted(data, mix_idle="50"), scenario=data)
    assert _validated(form, formset)["fleet"]["vms"]["mix"] == {"web": 1, "idle": 0.5}


def test_a_mix_that_does_not_add_up_to_100_says_what_share_of_the_vms_each_workload_gets(
    alice, client
):
    """The mix is the engine's weights, shown as "% of VMs": an import with weights 0.9, 0.4,
    0.25, 0.1, 0.05 (the VMs drawn in proportion: idle 53 %) read "idle 90" and four more
    numbers adding up to 170, and the form let them be saved as they were, unexplained."""
    data = tiny()
    data["fleet"]["vms"]["mix"] = {
        "idle": 0.9,
        "web": 0.4,
        "oltp": 0.25,
        "cache": 0.1,
        "analytics": 0.05,
    }
    fleet = fleet_services.create_fleet(scenario=data, visitor=alice)
    page = client.get(f"/fleets/{fleet.pk}/").content.decode()
    assert 'id="mix-in-proportion"' in page
    assert "These shares add up to 170 %" in page
    assert "idle 52.9 %, web 23.5 %, oltp 14.7 %, cache 5.88 %, analytics 2.94 %" in page
    fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    plain = Fleet.objects.order_by("-pk").first()
    assert 'id="mix-in-proportion"' not in client.get(f"/fleets/{plain.pk}/").content.decode()


def test_an_event_keeps_what_no_field_changed_and_events_can_be_added_and_removed():
    data = tiny()
    data["events"][0]["scope"] = {"racks": ["r1"], "hosts": ["r2-h1"]}
    data["events"].append({"name": "second", "kind": "bios_rollout", "scope": {"zone": True}})
    new_event = {
        "events-2-name": "third",
        "events-2-kind": "hw_failure",
        "events-2-scope": "hosts",
        "events-2-scope_names": "r1-h1, r1-h2",
        "events-2-failure_after": "10min",
    }
    posted = _as_posted(
        data,
        **{
            "events-0-host_downtime": "3min",
            "events-1-DELETE": "on",
            "events-TOTAL_FORMS": "3",
            **new_event,
        },
    )
    form, formset = fleet_forms(posted, scenario=data)
    events = _validated(form, formset)["events"]
    assert events == [
        {**data["events"][0], "host_downtime": "3min"},
        {
            "name": "third",
            "kind": "hw_failure",
            "scope": {"hosts": ["r1-h1", "r1-h2"]},
            "failure_after": "10min",
        },
    ]


def _as_posted(scenario: dict, **changes) -> dict:
    """What a browser posts for the form of ``scenario``, with ``changes``."""
    return {**posted_forms(*fleet_forms(scenario=scenario)), **changes}


def _validated(form, formset) -> dict:
    scenario = validate_fleet(form, formset)
    assert scenario is not None, (form.errors, formset.errors)
    return scenario


def test_the_yaml_and_json_downloads_import_back_to_the_same_fleet(alice, client):
    fleet = fleet_services.create_fleet_from_preset(preset="demo", visitor=alice)
    for fmt, load in (("yaml", yaml.safe_load), ("json", json.loads)):
        response = client.get(f"/fleets/{fleet.pk}/scenario.{fmt}")
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith(f'.{fmt}"')
        text = response.content.decode()
        client.post("/fleets/import/", {"text": text})
        again = Fleet.objects.latest("id")
        assert again.to_scenario() == fleet.to_scenario()
        assert load(text) == fleet.to_scenario()


def test_an_unknown_export_format_is_a_404(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    assert client.get(f"/fleets/{fleet.pk}/scenario.xml").status_code == 404


def test_creating_from_a_preset_stores_it_and_an_unknown_preset_is_a_400(client):
    response = client.post("/fleets/from-preset/", {"preset": "heartbleed"})
    fleet = Fleet.objects.get()
    assert response.url == f"/fleets/{fleet.pk}/" and fleet.vm_count == 25_600
    response = client.post("/fleets/from-preset/", {"preset": "nope"})
    assert response.status_code == 400 and b"no such preset" in response.content
    assert b'id="refused"' in response.content  # the playground's page, with a way back


def test_re_run_with_changes_prefills_the_form_from_the_runs_scenario(alice, client):
    run = fleet_services.start_run(scenario=tiny(name="again"), queue=False, visitor=alice)
    response = client.get(f"/fleets/new/?from_run={run.pk}")
    assert response.status_code == 200
    assert response.context["form"]["name"].value() == "again"
    assert response.context["formset"].forms[0]["scope_names"].value() == "r1"


def test_the_region_preset_is_offered_on_the_dashboard_and_opens_its_form(client):
    assert b'data-preset="region"' in client.get("/fleets/").content
    response = client.post("/fleets/from-preset/", {"preset": "region"})
    fleet = Fleet.objects.latest("id")
    assert response.status_code == 302 and response.url == fleet.get_absolute_url()
    form = client.get(response.url)
    assert form.status_code == 200
    assert [g["zone"] for g in fleet.scenario["fleet"]["racks"]] == [
        "region-1-a",
        "region-1-b",
        "region-1-c",
        "region-1-d",
    ]
