"""The cast of the security tests: alice owns things, bob is another signed-in user (a
stranger to alice's things), an anonymous visitor, and staff. ``alices`` holds one of each kind
of thing alice can own: a fleet, a single-VM run with events, a finished fleet run (VM rows,
frames), a sweep."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from migrationsim.fleet.plan import plan as plan_of
from playground.accounts.access import Visitor
from playground.anatomy.models import Run, RunEvent
from playground.fleets import planning, sweeps
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetRun, Sweep
from playground.runs.models import RunStatus
from playground.runs.pipeline import execute_run

from ..fleet_support import compute_plans, tiny
from ..support import RecordingPublisher


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password="sam-password-1", is_staff=True)


@pytest.fixture
def bob_client(bob):
    return signed_in(bob)


@pytest.fixture
def staff_client(staff):
    return signed_in(staff)


@dataclass
class Things:
    fleet: object
    run: Run
    fleet_run: FleetRun  # finished: VM rows, frames, summary
    other_run: FleetRun  # finished too (compare needs two)
    sweep: Sweep
    vm: str
    host: str


def finish(run: FleetRun) -> FleetRun:
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


def things_of(visitor: Visitor) -> Things:
    fleet = fleet_services.create_fleet(scenario=tiny(), source="test", visitor=visitor)
    run = Run.objects.create(
        params={"memory": "4GiB", "workload": "web", "seed": 1},
        status=RunStatus.DONE,
        **{"owner_id": visitor.user_id} if visitor.user_id else {"visitor_key": visitor.key},
    )
    RunEvent.objects.create(run=run, seq=1, kind="notice", payload={"kind": "notice", "t_s": 0.0})
    scenario = fleet.to_scenario()
    planning.plan_for(scenario)
    compute_plans()  # its plan, as a worker computes it: ready to approve
    fleet_run = finish(
        fleet_services.start_run(
            scenario=scenario, fleet=fleet, queue=False, plan=plan_of(scenario), visitor=visitor
        )
    )
    other_run = finish(
        fleet_services.start_run(
            scenario={**scenario, "seed": 9}, fleet=fleet, queue=False, visitor=visitor
        )
    )
    sweep = sweeps.create_sweep(
        fleet=fleet,
        scenario=scenario,
        x_param="seed",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=visitor,
    )
    vm = fleet_run.vms.order_by("id").first()
    return Things(fleet, run, fleet_run, other_run, sweep, vm.name, vm.host)


@pytest.fixture
def alices(alice) -> Things:
    return things_of(alice)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Nothing here talks to a broker: a sweep's Celery group is recorded, not sent."""
    monkeypatch.setattr("celery.group.apply_async", lambda self, *a, **k: None)
