"""A run's page and the comparison of runs read what they show, not the run's whole row: a
fleet listed VM by VM (100,000 VMs: 8 MB of scenario) made its run page read and decode that
scenario twice (the run's and its fleet's) and hash it, 0.3 s a view; six such runs compared
took 0.8 s (2.8 s elsewhere) to decode six scenarios and compare six lists of VMs that were the
same. A run keeps beside its scenario the scenario's key, its outline (the listed VMs cut to
the first) and the key of its listed VMs; the page reads those, and the plan's two figures it
shows are read out by the database."""

import random
import re

import pytest
from django.db.models import JSONField
from django.db.models.expressions import Col

from migrationsim.fleet import parse_scenario
from migrationsim.fleet.build import build_fleet
from playground.fleets import planning, sweeps
from playground.fleets import services as fleet_services
from playground.fleets.models import Fleet, FleetPlan, FleetRun, Sweep
from playground.fleets.scenario_keys import listed_key, outline, scenario_key
from playground.runs.pipeline import execute_run
from tests.sim.fleet_support import small_region

from .support import RecordingPublisher

pytestmark = pytest.mark.django_db

BIG_COLUMNS = {
    (FleetRun, "scenario"),
    (FleetRun, "plan"),
    (FleetRun, "series"),
    (Fleet, "scenario"),
    (Sweep, "scenario"),
    (FleetPlan, "scenario"),
}


def listed(seed: int = 1) -> dict:
    """A region of four zones (one rack each), its VMs listed one by one."""
    data = small_region(racks_per_zone=1, per_host=2)
    data["seed"] = seed
    fleet = build_fleet(parse_scenario(data), random.Random(1))
    data["fleet"]["vm_list"] = [
        {
            "name": vm.name,
            "host": fleet.hosts[vm.host].name,
            "memory": f"{round(vm.memory_bytes / 2**30)}GiB",
            "workload": vm.workload,
        }
        for vm in fleet.vms
    ]
    del data["fleet"]["vms"]
    return data


@pytest.fixture
def decoded(monkeypatch):
    """Every (model, column) whose JSON a query decodes, as it happens."""
    seen = []
    real = JSONField.from_db_value

    def recording(self, value, expression, connection):
        if isinstance(expression, Col):
            seen.append((expression.target.model, expression.target.name))
        return real(self, value, expression, connection)

    monkeypatch.setattr(JSONField, "from_db_value", recording)
    return seen


def _approved_run(alice, scenario: dict) -> FleetRun:
    """A run as the plan page starts it (its fleet's plan, computed), done."""
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    row = planning.plan_for(fleet.scenario, key=fleet.scenario_key)
    assert execute_run(kind="plan", run_id=row.pk, publisher=RecordingPublisher())
    row.refresh_from_db()
    run = fleet_services.start_run(
        scenario=fleet.scenario,
        fleet=fleet,
        plan=row.plan,
        visitor=alice,
        queue=False,
        scenario_key=fleet.scenario_key,
    )
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    return run


def _without_csrf(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")\w+', r"\1", html)


def test_a_run_keeps_its_scenarios_key_outline_and_listed_key_beside_it(alice):
    scenario = listed()
    run = fleet_services.start_run(scenario=scenario, visitor=alice, queue=False)
    stored = FleetRun.objects.get(pk=run.pk)
    assert stored.scenario_key == scenario_key(scenario)
    assert stored.outline["fleet"]["vm_list"] == scenario["fleet"]["vm_list"][:1]
    assert {k: v for k, v in stored.outline.items() if k != "fleet"} == {
        k: v for k, v in scenario.items() if k != "fleet"
    }
    assert stored.listed_key == listed_key(listed(seed=2)) != ""  # the same VMs, another seed
    unlisted = fleet_services.start_run(scenario=small_region(1, 2), visitor=alice, queue=False)
    assert unlisted.outline == small_region(1, 2) and unlisted.listed_key == ""


def test_a_runs_scenario_saved_again_takes_its_outline_and_keys_along(alice):
    """The admin edits a run's scenario: what is kept beside it follows, or the page would show
    the old one's zones and plan."""
    run = FleetRun.objects.get(pk=fleet_services.start_run(scenario=listed(), queue=False).pk)
    run.scenario = listed(seed=5)
    run.save()
    stored = FleetRun.objects.get(pk=run.pk)
    assert stored.outline["seed"] == 5 and stored.scenario_key == scenario_key(listed(seed=5))
    run.status = "failed"
    run.save(update_fields=["status"])  # (the scenario not saved: nothing to follow)
    assert FleetRun.objects.get(pk=run.pk).outline["seed"] == 5


def test_the_run_page_and_its_results_read_no_scenario_plan_or_series(alice, client, decoded):
    run = _approved_run(alice, listed())
    decoded.clear()
    page = client.get(f"/fleets/runs/{run.pk}/")
    results = client.get(f"/fleets/runs/{run.pk}/results/")
    assert page.status_code == results.status_code == 200
    assert not BIG_COLUMNS & set(decoded), sorted({name for _, name in decoded})
    config = page.context["config"]
    assert (config["eta_s"], config["hosts_in_scope"]) == (
        run.plan["eta_s"],
        run.plan["hosts_in_scope"],
    )  # (the plan's figures, read by the database, as they are in the plan)
    html = page.content.decode()
    assert 'id="plan-vs-run"' in html and "region-1-d" in html  # the plan beside; the zones


def test_a_sweep_members_page_reads_not_the_sweeps_scenario(alice, client, decoded):
    fleet = fleet_services.create_fleet(scenario=listed(), visitor=alice)
    sweep = sweeps.create_sweep(
        fleet=fleet,
        scenario=fleet.scenario,
        x_param="seed",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=alice,
    )
    member = sweep.runs.first()
    decoded.clear()
    page = client.get(f"/fleets/runs/{member.pk}/").content.decode()
    point = member.sweep_point["x"]
    assert f">sweep {sweep.pk}</a> (Seed {point})" in page
    assert not BIG_COLUMNS & set(decoded)


def test_a_run_stored_before_its_outline_was_kept_shows_the_same_page(alice, client):
    run = _approved_run(alice, listed())
    kept = _without_csrf(client.get(f"/fleets/runs/{run.pk}/").content.decode())
    FleetRun.objects.filter(pk=run.pk).update(outline=None, scenario_key="", listed_key="")
    assert _without_csrf(client.get(f"/fleets/runs/{run.pk}/").content.decode()) == kept


def test_runs_listing_the_same_vms_are_compared_on_their_outlines(alice, client, decoded):
    runs = [_approved_run(alice, listed(seed)) for seed in (1, 2, 3)]
    decoded.clear()
    page = client.get(f"/fleets/runs/compare/?runs={','.join(str(r.pk) for r in runs)}")
    assert page.status_code == 200
    rows = page.context["parameters"]["rows"]
    assert [r["path"] for r in rows] == ["seed"]
    assert not (BIG_COLUMNS - {(FleetRun, "series")}) & set(decoded)  # (the series: its charts)


def test_runs_listing_different_vms_are_compared_on_their_whole_scenarios(alice, client):
    other = listed(seed=2)
    other["fleet"]["vm_list"][-1]["memory"] = "3GiB"
    runs = [_approved_run(alice, listed()), _approved_run(alice, other)]
    page = client.get(f"/fleets/runs/compare/?runs={runs[0].pk},{runs[1].pk}")
    paths = [r["path"] for r in page.context["parameters"]["rows"]]
    last = len(other["fleet"]["vm_list"]) - 1
    assert paths == ["seed", f"fleet.vm_list[{last}].memory"]
    FleetRun.objects.filter(pk=runs[1].pk).update(outline=None)  # stored before: read whole
    again = client.get(f"/fleets/runs/compare/?runs={runs[0].pk},{runs[1].pk}")
    assert [r["path"] for r in again.context["parameters"]["rows"]] == paths


def test_the_outline_of_an_unlisted_scenario_is_the_scenario():
    assert outline(small_region(1, 2)) == small_region(1, 2)
    assert listed_key(small_region(1, 2)) == ""
