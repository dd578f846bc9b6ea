"""The fleet form (issue #14, section 4): seeds over the whole documented range, hints true to
the engine's defaults, several maintenance events added (last) and removed in place."""

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from migrationsim import InvalidParameter, build_spec
from migrationsim.fleet.scenario import (
    DEFAULT_FAILURE_AFTER_S,
    DEFAULT_HOST_DOWNTIME_S,
    DEFAULT_MAX_HOSTS_IN_MAINTENANCE,
    parse_scenario,
)
from migrationsim.spec import PARAMETERS, POLICY_DEFAULTS, SEED_MAX
from migrationsim.units import parse_duration
from playground.anatomy.forms import AnatomyForm
from playground.fleets import services as fleet_services
from playground.fleets.fields import DEFAULTS, EVENT_FIELDS, FLEET_FIELDS, TIMEOUT_ACTIONS
from playground.fleets.models import Fleet
from playground.fleets.paths import ABSENT, put

from .fleet_support import fleet_post_data, tiny

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fleet(alice):
    return fleet_services.create_fleet(scenario=tiny(), visitor=alice)


def _post(client, fleet, data=None, **changes):
    url = f"/fleets/{fleet.pk}/"
    data = data or fleet_post_data(client, url)
    data.update(changes)
    return client.post(url, data)


# --- seeds ------------------------------------------------------------------------------------


def test_the_form_takes_every_seed_of_the_documented_range(client, fleet):
    assert SEED_MAX == 4294967295
    for seed in (0, SEED_MAX):
        assert _post(client, fleet, seed=str(seed)).status_code == 302
        fleet.refresh_from_db()
        assert fleet.scenario["seed"] == seed
    response = _post(client, fleet, seed=str(SEED_MAX + 1))
    assert response.status_code == 422
    assert response.context["form"].errors["seed"]


def test_a_fleet_vms_anatomy_takes_the_fleets_seed(valid_params):
    form = AnatomyForm({**valid_params, "seed": SEED_MAX, "auto_converge": "", "post_copy": ""})
    assert "seed" not in form.errors
    assert not AnatomyForm({**valid_params, "seed": SEED_MAX + 1}).is_valid()
    assert build_spec(memory="1GiB", seed=SEED_MAX).seed == SEED_MAX
    with pytest.raises(InvalidParameter) as refused:
        build_spec(memory="1GiB", seed=-1)
    assert refused.value.field == "seed" and str(SEED_MAX) in refused.value.message


@pytest.mark.parametrize("plan", [False, True], ids=["run", "plan"])
def test_the_command_line_takes_the_same_seeds_and_refuses_the_rest(plan):
    def fleet(seed):
        args = ["fleet", "--preset", "demo", "--json", "--seed", str(seed)] + (
            ["--plan"] if plan else []
        )
        return subprocess.run(
            [sys.executable, "-m", "migrationsim", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert fleet(SEED_MAX).returncode == 0
    refused = fleet(SEED_MAX + 1)
    assert refused.returncode == 2 and f"--seed: must be a whole number from 0 to {SEED_MAX}" in (
        refused.stderr
    )


# --- hints and defaults -------------------------------------------------------------------------


def _help(rows, name):
    return str(next(r.field for r in rows if r.name == name).help_text)


def test_the_hints_name_the_engines_defaults():
    per_gib = PARAMETERS["completion_timeout"].default
    assert per_gib == "150s"
    assert f"blank: {per_gib} per GiB" in _help(FLEET_FIELDS, "completion_timeout")
    assert "none" not in _help(FLEET_FIELDS, "completion_timeout")
    assert f"blank: {PARAMETERS['downtime_limit'].default}" in _help(FLEET_FIELDS, "downtime_limit")
    cap = POLICY_DEFAULTS["qemu"]["max_bandwidth"]
    assert f"qemu {cap / 2**20:g}MiB/s" in _help(FLEET_FIELDS, "max_bandwidth")
    assert dict(TIMEOUT_ACTIONS)[""] == f"the default ({PARAMETERS['timeout_action'].default})"
    downtime = _help(EVENT_FIELDS, "host_downtime")
    assert all(f"{s / 60:g} min" in downtime for s in DEFAULT_HOST_DOWNTIME_S.values())
    hosts = _help(EVENT_FIELDS, "max_hosts_in_maintenance")
    assert all(share in hosts for share in DEFAULT_MAX_HOSTS_IN_MAINTENANCE.values())
    assert f"{DEFAULT_FAILURE_AFTER_S / 60:g} min" in _help(EVENT_FIELDS, "failure_after")


def test_a_fleet_without_a_completion_timeout_gets_the_hints_value():
    """What the engine does with a blank completion timeout: the per-GiB default the hint names."""
    policy = parse_scenario(tiny()).policy
    assert "completion_timeout" not in policy
    spec = build_spec(memory="1GiB", **policy)
    default = parse_duration(PARAMETERS["completion_timeout"].default)
    assert spec.completion_timeout_s_per_gib == default == 150.0


# a rack group's name and count are read together with the events that name its racks
@pytest.mark.parametrize("path", sorted(p for p in DEFAULTS if not p.startswith("fleet.racks")))
def test_the_forms_defaults_are_the_engines(path):
    """A key left out and the form's default for it give the engine the same scenario."""
    left_out = copy.deepcopy(tiny())
    put(left_out, path, ABSENT, {})
    written = copy.deepcopy(left_out)
    put(written, path, copy.deepcopy(DEFAULTS[path]), DEFAULTS)
    a, b = parse_scenario(left_out), parse_scenario(written)
    if a.policy != b.policy:  # the same policy, spelled with or without its default name
        assert build_spec(memory="1GiB", **a.policy) == build_spec(memory="1GiB", **b.policy)
        a = dataclasses.replace(a, policy=b.policy)
    assert dataclasses.replace(a, raw={}) == dataclasses.replace(b, raw={}), path


# --- several events -------------------------------------------------------------------------------


def _with_added_event(client, data, index, **fields):
    extra = client.get("/fleets/new/event/", {"events-TOTAL_FORMS": str(index)}).context["ef"]
    for name in extra.fields:
        value = extra[name].value()
        if not isinstance(value, bool):
            data[extra.add_prefix(name)] = "" if value is None else value
    data["events-TOTAL_FORMS"] = str(index + 1)
    data.update({f"events-{index}-{k}": v for k, v in fields.items()})
    return data


def test_an_added_event_goes_after_the_others(client, fleet):
    data = fleet_post_data(client, f"/fleets/{fleet.pk}/")
    data = _with_added_event(client, data, 1, name="second", kind="bios_rollout", scope="zone")
    data = _with_added_event(client, data, 2, name="third", kind="urgent_patch", scope="zone")
    assert _post(client, fleet, data).status_code == 302
    fleet.refresh_from_db()
    assert [e["name"] for e in fleet.scenario["events"]] == ["k", "second", "third"]


def test_an_event_is_removed_and_another_added_in_one_save(client, fleet):
    data = fleet_post_data(client, f"/fleets/{fleet.pk}/")
    data = _with_added_event(client, data, 1, name="second", kind="bios_rollout", scope="zone")
    data["events-0-DELETE"] = "on"
    assert _post(client, fleet, data).status_code == 302
    fleet.refresh_from_db()
    assert [e["name"] for e in fleet.scenario["events"]] == ["second"]


def test_an_added_event_removed_before_saving_is_not_stored_even_half_filled(client, fleet):
    data = fleet_post_data(client, f"/fleets/{fleet.pk}/")
    data = _with_added_event(client, data, 1, name="oops", start="not a time", DELETE="on")
    assert _post(client, fleet, data).status_code == 302
    fleet.refresh_from_db()
    assert [e["name"] for e in fleet.scenario["events"]] == ["k"]


def test_each_event_has_a_remove_button_for_scripts_and_a_delete_box_without(client, fleet):
    page = client.get(f"/fleets/{fleet.pk}/").content.decode()
    assert 'id="remove-event-0" hidden' in page and 'name="events-0-DELETE"' in page
    assert "js/fleet_form.js" in page
    added = client.get("/fleets/new/event/", {"events-TOTAL_FORMS": "1"}).content.decode()
    assert 'id="remove-event-1"' in added
    assert Fleet.objects.count() == 1
