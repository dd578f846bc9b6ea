"""A finished fleet run's figures beside its plan's: the plan stored for the run's scenario
(its hash, the seed included: ``planning.scenario_key``), else the plan the run was approved
with. Both come from the engine by the same code (``migrationsim.fleet.prediction``), so with
the same seed they agree; a row that differs is marked. No plan stored: the page says so.
"""

from __future__ import annotations

from playground.runs.models import RunStatus

from .models import FleetPlan, FleetRun

# (key, label): the figures a planner checks a plan against
ROWS = [
    ("makespan_s", "Makespan"),
    ("migrations", "Migrations"),
    ("terminations", "Terminations"),
    ("blackout_p50_s", "Blackout p50"),
    ("blackout_p99_s", "Blackout p99"),
    ("blackout_slo_breaches", "SLO breaches (blackouts over 300 ms)"),
    ("hosts_not_handled", "Hosts not handled"),
    ("vms_not_handled", "VMs not handled"),
]
RELATIVE_TOLERANCE = 1e-9  # a float that went through JSON is the same figure


def stored_plan(run: FleetRun) -> dict | None:
    """The plan of the run's scenario (seed included), if one is stored."""
    row = (
        FleetPlan.objects.filter(key=run.kept_scenario_key(), status=RunStatus.DONE)
        .only("plan")
        .first()
    )
    if row is not None and row.plan:
        return row.plan
    if "makespan_s" in (run.plan or {}):  # approved with a plan that has since gone
        return run.plan
    return None


def figures(outcome: dict) -> dict:
    """A plan's or a run summary's figures under ``ROWS``' keys (None: not recorded)."""
    not_handled = outcome.get("not_handled") or {}
    return {
        **{key: outcome.get(key) for key, _ in ROWS},
        "hosts_not_handled": not_handled.get("hosts_total"),
        "vms_not_handled": not_handled.get("vms_total"),
    }


def plan_vs_run(run: FleetRun) -> dict:
    """``{"plan": bool, "rows": [...], "agree": bool}`` for the results page."""
    plan = stored_plan(run)
    if plan is None:
        return {"plan": False, "rows": [], "agree": False}
    planned, actual = figures(plan), figures(run.summary or {})
    rows = [
        {
            "key": key,
            "label": label,
            "plan": planned[key],
            "run": actual[key],
            "differs": _differs(planned[key], actual[key]),
        }
        for key, label in ROWS
    ]
    return {"plan": True, "rows": rows, "agree": not any(r["differs"] for r in rows)}


def _differs(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) > RELATIVE_TOLERANCE * max(abs(a), abs(b), 1.0)
    return a != b
