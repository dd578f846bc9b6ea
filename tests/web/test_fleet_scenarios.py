import json

import pytest
import yaml

from playground.fleets import services as fleet_services
from migrationsim.fleet.text import PRESET_NAMES, preset_scenario, validate
from playground.fleets.models import Fleet

from .fleet_support import tiny

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_a_preset_imported_then_exported_is_the_same_scenario(preset):
    original = preset_scenario(preset)
    exported = fleet_services.create_fleet(scenario=original).to_scenario()
    assert validate(exported) == validate(original)


def test_what_the_form_does_not_edit_survives_the_round_trip():
    data = tiny()
    data["fleet"]["racks"].append({"name": "big", "count": 1, "hosts": 3, "host": {"nic": "25Gbit/s"}})
    data["failures"] = {"auth_failure": 0.1}
    data["timing"] = {"cleanup": "2s"}
    data["policy"]["max_rounds"] = 12
    data["network"] = {"migration_share": 0.4, "fabric_convergence": "2s"}
    fleet = fleet_services.create_fleet(scenario=data)
    assert validate(fleet.to_scenario()) == validate(data)


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


def test_re_run_with_changes_prefills_the_form_from_the_runs_scenario(alice, client):
    run = fleet_services.start_run(scenario=tiny(name="again"), queue=False, visitor=alice)
    response = client.get(f"/fleets/new/?from_run={run.pk}")
    assert response.status_code == 200
    assert response.context["form"]["name"].value() == "again"
    assert response.context["formset"].forms[0]["scope_names"].value() == "r1"
