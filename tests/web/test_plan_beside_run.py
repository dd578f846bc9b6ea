"""Plans the planner can trust (issue #14, section 4): after a run, its actual figures sit
beside its plan's, and the hosts and VMs it did not handle are counted and named with reasons,
by the same code as the plan's."""

import pytest
from django.utils.html import escape

from migrationsim import outcomes
from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.plan import plan as plan_of
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetPlan
from playground.fleets.plan_vs_run import ROWS
from playground.runs.pipeline import execute_run

from .fleet_support import planned, tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def full_hosts():
    """A zone whose hosts are too full to empty: hosts and VMs are left not handled."""
    data = tiny()
    data["fleet"]["vms"].update(per_host=20, memory=["6GiB", "6GiB"])
    data["events"][0].update(scope={"zone": True}, max_hosts_in_maintenance=3)
    return data


def _finished(run):
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


def _approved_run(client, alice, scenario):
    """What a planner does: the plan page (a worker computes the plan), approve, the run."""
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    response = client.post(f"/fleets/{fleet.pk}/plan/")
    assert response.status_code == 302
    return _finished(fleet.runs.get())


def _results(client, run):
    return client.get(f"/fleets/runs/{run.pk}/results/")


# --- 1. the run's figures beside the plan's --------------------------------------------------


@pytest.mark.parametrize("scenario", [tiny, full_hosts], ids=["all-handled", "hosts-full"])
def test_a_run_shows_its_figures_beside_its_plan_and_with_the_same_seed_they_agree(
    scenario, alice, client, settings
):
    run = _approved_run(client, alice, scenario())
    response = _results(client, run)
    comparison = response.context["plan_vs_run"]
    assert comparison["plan"] is True
    assert [row["key"] for row in comparison["rows"]] == [key for key, _ in ROWS]
    stored = FleetPlan.objects.get().plan
    by_key = {row["key"]: row for row in comparison["rows"]}
    assert by_key["makespan_s"]["plan"] == stored["makespan_s"]
    assert by_key["makespan_s"]["run"] == run.summary["makespan_s"]
    assert by_key["hosts_not_handled"]["plan"] == stored["not_handled"]["hosts_total"]
    assert by_key["vms_not_handled"]["run"] == run.summary["not_handled"]["vms_total"]
    assert all(row["plan"] == row["run"] for row in comparison["rows"])
    assert comparison["agree"] is True
    assert b'id="plan-vs-run-table"' in response.content
    assert b"The run did what its plan said" in response.content


def test_a_figure_that_differs_from_the_plan_is_marked(alice, client):
    run = _approved_run(client, alice, tiny())
    row = FleetPlan.objects.get()
    row.plan = {**row.plan, "migrations": row.plan["migrations"] + 5}  # a plan from another engine
    row.save(update_fields=["plan"])
    response = _results(client, run)
    differing = [r["key"] for r in response.context["plan_vs_run"]["rows"] if r["differs"]]
    assert differing == ["migrations"]
    assert b'class="row-differs"' in response.content
    assert b"differ from the plan" in response.content


def test_the_plan_is_found_by_the_runs_scenario_and_seed(alice, client):
    approved = _approved_run(client, alice, tiny())
    other_seed = _finished(
        fleet_services.start_run(scenario=tiny(seed=7), queue=False, visitor=alice)
    )
    same_scenario = _finished(
        fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    )  # started without a plan (a sweep's, the API's): the scenario's stored plan is its plan
    assert _results(client, approved).context["plan_vs_run"]["plan"] is True
    assert _results(client, same_scenario).context["plan_vs_run"]["agree"] is True
    response = _results(client, other_seed)
    assert response.context["plan_vs_run"]["plan"] is False
    assert b'id="plan-vs-run-none"' in response.content
    assert b"No plan is stored for this run" in response.content


def test_without_a_stored_plan_the_results_say_so(alice, client):
    run = _finished(fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice))
    response = _results(client, run)
    assert FleetPlan.objects.count() == 0
    assert b"No plan is stored for this run's scenario and seed (2)" in response.content


def test_a_run_approved_with_a_plan_since_deleted_keeps_it_beside_its_figures(alice, client):
    run = _approved_run(client, alice, tiny())
    FleetPlan.objects.all().delete()
    assert _results(client, run).context["plan_vs_run"]["agree"] is True


# --- 2. hosts and VMs not handled, in the results ------------------------------------------------


def test_the_results_count_and_name_the_hosts_and_vms_not_handled_with_reasons(
    alice, client, settings
):
    run = _finished(fleet_services.start_run(scenario=full_hosts(), queue=False, visitor=alice))
    not_handled = run.summary["not_handled"]
    assert not_handled["hosts_total"] > 0 and not_handled["vms_total"] > 0
    page = client.get(f"/fleets/runs/{run.pk}/").content.decode()
    assert 'id="run-not-handled"' in page
    host = not_handled["hosts"][0]
    assert host["host"] in page and escape(host["reason"]) in page and host["code"] in page
    group = not_handled["vms"][0]
    assert escape(group["reason"]) in page and ", ".join(group["names"]) in page
    total = f'{not_handled["hosts_total"]}</strong> hosts and <strong class="warn">'
    assert total in page


def test_a_run_that_handled_everything_says_so(alice, client):
    run = _finished(fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice))
    assert run.summary["not_handled"]["hosts_total"] == 0
    assert b"Every host in scope was emptied and patched" in _results(client, run).content


def test_the_run_and_the_plan_name_the_same_hosts_and_vms_by_the_same_rule():
    """One place for the rule: the run's summary and the plan both come from
    ``Prediction.not_handled``; a run of the same scenario and seed names the same."""
    data = full_hosts()
    stream = FleetStream(data, bucket_s=60)
    for _ in stream.frames():
        pass
    summary = stream.summary()
    predicted = plan_of(data, sensitivity=False)
    assert summary["not_handled"] == predicted["not_handled"]
    assert summary["not_handled"]["hosts_total"] == 4
    for key, _ in ROWS[:6]:
        assert summary[key] == predicted[key], key


# --- 3. what became of the VMs not handled, in words ---------------------------------------------


def crashing(**_):
    """Every source host fails: its VMs crash (``crashed``, words 'failed: source crash')."""
    return tiny(failures={"source_failure": 1.0})


def not_converging(**_):
    """Dirty VMs and a two-round limit: they move without converging (``not_converged``)."""
    data = tiny()
    data["fleet"]["vms"]["mix"] = {"muncher": 1.0}
    data["policy"]["max_rounds"] = 2
    return data


@pytest.mark.parametrize("scenario", [crashing, not_converging], ids=["crashed", "not-converged"])
def test_the_plan_and_the_run_say_what_became_of_the_vms_not_handled_in_words(
    alice, client, scenario
):
    fleet = fleet_services.create_fleet(scenario=scenario(), visitor=alice)
    plan_page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    run = _finished(fleet_services.start_run(scenario=scenario(), queue=False, visitor=alice))
    run_page = client.get(f"/fleets/runs/{run.pk}/").content.decode()
    groups = run.summary["not_handled"]["vms"]
    assert groups
    for page in (plan_page, run_page):
        for group in groups:
            words = outcomes.fleet_words(group["outcome"])
            assert words is not None and words.label != group["outcome"]
            assert f'title="{escape(words.sentence)}">{escape(words.label)}</span> ·' in page
            assert f"</strong> {group['outcome']} " not in page


def test_no_group_of_vms_not_handled_gives_a_bare_code_as_its_reason():
    """A VM stuck at the head of its queue kept its wait code as its reason ('no_target')."""
    from migrationsim import outcomes as table

    groups = plan_of(full_hosts(), sensitivity=False)["not_handled"]["vms"]
    assert any(g["code"] == "no_target" for g in groups)
    for group in groups:
        assert group["reason"] != group["code"], group
    no_target = next(g for g in groups if g["code"] == "no_target")
    # the engine's own sentence, with what it found (not only "no host could take it")
    assert no_target["reason"].startswith("no host can take it: of ")
    assert no_target["reason"] != table.describe("no_target")
