"""The fleet list shows each fleet's name, hosts and VMs from columns kept beside its scenario:
a list of 50 fleets must not read 50 scenarios of up to 8 MB each (255,000 listed VMs parse into
hundreds of megabytes)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from migrationsim.fleet.text import preset_scenario
from playground.fleets import services
from playground.fleets.models import Fleet

from .fleet_support import tiny


@pytest.mark.django_db
def test_a_fleet_keeps_its_listed_name_hosts_and_vms_as_it_is_created_and_edited(alice):
    fleet = services.create_fleet_from_preset(preset="demo", visitor=alice)
    assert (fleet.listed_name, fleet.listed_hosts, fleet.listed_vms) == (
        fleet.name,
        fleet.host_count,
        fleet.vm_count,
    )
    scenario = tiny(name="renamed")
    services.update_fleet(fleet=fleet, scenario=scenario)
    stored = Fleet.objects.get(pk=fleet.pk)
    assert stored.listed_name == "renamed"
    assert (stored.listed_hosts, stored.listed_vms) == (stored.host_count, stored.vm_count)
    assert stored.listed_hosts != 0 and stored.listed_vms != 0


@pytest.mark.django_db
def test_the_list_shows_them_without_reading_a_scenario(client, alice):
    for preset in ("demo", "region"):
        services.create_fleet_from_preset(preset=preset, visitor=alice)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/fleets/").content.decode()
    assert "256000" in page.replace(",", "")  # the region preset's VMs
    reads = [q["sql"] for q in queries if 'FROM "playground_fleet"' in q["sql"]]
    assert reads and not any('"playground_fleet"."scenario"' in sql for sql in reads)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_them_for_fleets_stored_before():
    executor = MigrationExecutor(connection)
    executor.migrate([("fleets", "0006_fleet_run_roster")])
    old = executor.loader.project_state([("fleets", "0006_fleet_run_roster")]).apps
    demo = preset_scenario("demo")
    pk = old.get_model("fleets", "Fleet").objects.create(scenario=demo, source="test").pk
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    stored = Fleet.objects.get(pk=pk)
    assert stored.listed_name == "demo"
    assert (stored.listed_hosts, stored.listed_vms) == (stored.host_count, stored.vm_count)


@pytest.mark.parametrize(
    "fleet",
    [
        "zone-a",
        {"racks": [1]},
        {"racks": [{"count": "many", "hosts": 2}]},
        {"racks": [{"count": -3, "hosts": 2}]},
        {"racks": [{"count": "inf", "hosts": 2}]},
    ],
)
def test_columns_of_a_scenario_the_checks_never_saw_are_zero_not_an_error(fleet):
    """The migration reads every stored fleet's scenario without validating it (and so does
    every save): one stored under older checks, with a rack count that is not a number,
    raised there (the migration stopped, a deploy with it) or gave a negative count that
    PostgreSQL's positive column refuses."""
    from playground.fleets.models import listed_from

    assert listed_from({"name": "old", "fleet": fleet}) == {
        "listed_name": "old",
        "listed_hosts": 0,
        "listed_vms": 0,
    }


def test_the_migration_computes_the_columns_as_the_model_does_today():
    """0007 keeps its own copy of the rule (a later change of ``listed_from`` must not change
    what the migration did); today both give the same columns."""
    import importlib

    from playground.fleets.models import listed_from

    frozen = importlib.import_module("playground.fleets.migrations.0007_fleet_list_columns")
    odd = [{}, {"fleet": {"racks": [{"count": "many", "hosts": 2}]}}, {"name": 12}]
    for scenario in [preset_scenario(p) for p in ("demo", "region", "heartbleed")] + odd:
        assert frozen.listed_as_of_0007(scenario) == listed_from(scenario), scenario


# --- the scenario's key, kept beside it: the plan page's poll ---------------------------------


@pytest.mark.django_db
def test_the_plan_status_poll_finds_the_plan_without_reading_the_scenario(client, alice):
    """Polled every second while a worker plans: it read the fleet's whole scenario and hashed
    it each time (0.12 s for a listed fleet of 130,000 VMs, besides reading 8 MB)."""
    from playground.fleets import planning

    from .fleet_support import planned

    fleet = services.create_fleet(scenario=tiny(), visitor=alice)
    assert fleet.scenario_key == planning.scenario_key(fleet.scenario)
    client.get(f"/fleets/{fleet.pk}/plan/")  # queues the plan; a worker has not taken it yet
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/fleets/{fleet.pk}/plan/status/")
        assert response.status_code == 200 and b'id="planning"' in response.content
        reads = [q["sql"] for q in queries if 'FROM "playground_fleet"' in q["sql"]]
        assert reads and not any('"playground_fleet"."scenario"' in sql for sql in reads), reads
    planned(client, f"/fleets/{fleet.pk}/plan/")  # done: the last poll gives the whole plan
    assert b'id="approve"' in client.get(f"/fleets/{fleet.pk}/plan/status/").content
    edited = tiny(seed=7)
    services.update_fleet(fleet=fleet, scenario=edited)
    assert Fleet.objects.get(pk=fleet.pk).scenario_key == planning.scenario_key(edited)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_keys_of_fleets_stored_before():
    from playground.fleets import planning

    executor = MigrationExecutor(connection)
    before = [("fleets", "0008_one_fleet_run_per_approval")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    demo = preset_scenario("demo")
    pk = old.get_model("fleets", "Fleet").objects.create(scenario=demo, source="test").pk
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Fleet.objects.get(pk=pk).scenario_key == planning.scenario_key(demo)
