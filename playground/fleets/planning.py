"""Plans: the dry run of a scenario, computed by a worker and kept.

A plan runs the engine (several times, for the binding limit): seconds for a zone of 25,600
VMs, and without bound for a hostile scenario. So no request computes one. ``plan_for`` finds
the scenario's plan by the hash of the scenario, or queues its computation on the one pipeline
(a run of kind ``"plan"``, with its claims, leases, budget and failure sentences); the plan
page shows "planning..." and polls until it is done, and approving reads the stored plan.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction

from migrationsim.fleet.plan import plan as plan_of
from playground.runs import pipeline
from playground.runs.kinds import Outcome

from .models import FleetPlan
from .scenario_keys import scenario_key

__all__ = ["compute_plan", "find_by_key", "plan_again", "plan_for", "scenario_key"]


def plan_for(scenario: dict, *, before_queue=None, key: str = "") -> FleetPlan:
    """The scenario's plan: done, or queued (or being computed) by a worker.
    ``before_queue()``: called before a new plan is queued (a visitor's rate limit: computing a
    plan costs a worker as much as a run); it may raise to refuse."""
    key = key or scenario_key(scenario)  # (a fleet keeps its scenario's key: no hash again)
    found = find_by_key(key)
    if found is not None:
        return found
    if before_queue is not None:
        before_queue()
    try:
        with transaction.atomic():
            row = FleetPlan.objects.create(key=key, scenario=scenario)
    except IntegrityError:  # another request queued it just now
        return FleetPlan.objects.get(key=key)
    pipeline.enqueue(row)
    return row


def find_by_key(key: str) -> FleetPlan | None:
    """The plan row of the scenario with this key (``scenario_key``; a fleet keeps it as
    ``Fleet.scenario_key``), without its copy of the scenario (megabytes of JSON for a listed
    fleet, read on every poll of the plan page otherwise; loaded if used)."""
    return FleetPlan.objects.filter(key=key).defer("scenario").first() if key else None


def plan_again(row: FleetPlan, *, before_queue=None) -> FleetPlan:
    """A failed plan is computed afresh (its failure may have been the worker's, not the
    scenario's)."""
    scenario = row.scenario
    if before_queue is not None:
        before_queue()
    FleetPlan.objects.filter(pk=row.pk, status=row.status).delete()
    return plan_for(scenario)


def compute_plan(run: FleetPlan, sink) -> Outcome:
    """The runner of a ``"plan"`` run: the plan, each engine run announced as a step."""
    result = plan_of(run.scenario, progress=lambda text: sink.add({"kind": "step", "text": text}))
    stored = {k: v for k, v in result.items() if k != "policy"}  # the parsed policy object
    return Outcome(fields={"plan": json.loads(json.dumps(stored))})
