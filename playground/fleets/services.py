"""Business logic for fleets: keyword-only functions the views call (fleets, plans, starting
runs, a VM's anatomy). Sweeps are in ``sweeps.py``, the runner of a fleet run in ``runner.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from migrationsim.fleet.frames import bucket_for
from migrationsim.fleet.text import preset_scenario
from playground.accounts import access, once
from playground.runs import pipeline

from .models import Fleet, FleetRun, Sweep, kept_beside

# --- fleets ------------------------------------------------------------------------------------

# what the form for a new fleet starts from
NEW_FLEET = {
    "name": "my-zone",
    "seed": 1,
    "fleet": {
        "zone": "zone-a",
        "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "rack", "count": 2, "hosts": 4}],
        "vms": {
            "per_host": 8,
            "memory": ["1GiB", "16GiB"],
            "vcpus": [1, 4],
            "mix": {"web": 0.6, "idle": 0.4},
            "customers": 20,
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "caps": {"per_source_host": 2, "per_target_host": 2},
    "events": [
        {"name": "kernel-upgrade", "kind": "kernel_upgrade", "start": "0s", "scope": {"zone": True}}
    ],
}


def create_fleet(
    *,
    scenario: dict,
    source: str = "",
    visitor: access.Visitor | None = None,
    submission: str = "",
) -> Fleet:
    """A ``Fleet`` (``visitor``'s) holding a valid scenario dict (a preset, an upload, the form's).
    ``submission``: the new-fleet form's one-time token (``once``); the same form sent again
    makes no second fleet: the first is returned (``once.Taken`` if that one is another
    visitor's)."""
    return once.create_once(
        lambda: Fleet.objects.create(
            scenario=scenario,
            source=source[:40],
            submission=submission,
            **access.owner_fields(visitor),
        ),
        model=Fleet,
        field="submission",
        token=submission,
        visitor=visitor,
    )


def create_fleet_from_preset(
    *, preset: str, visitor: access.Visitor | None = None, submission: str = ""
) -> Fleet:
    return create_fleet(
        scenario=preset_scenario(preset),
        source=f"preset {preset}",
        visitor=visitor,
        submission=submission,
    )


def update_fleet(*, fleet: Fleet, scenario: dict) -> Fleet:
    """Store the fleet's new scenario; ``Fleet.DoesNotExist`` when the fleet was deleted since
    it was read (another tab): the save's UPDATE found no row (Django's DatabaseError, a 500)."""
    fleet.scenario = scenario
    fleet.updated = timezone.now()
    listed = kept_beside(scenario)
    for field, value in listed.items():
        setattr(fleet, field, value)
    if not Fleet.objects.filter(pk=fleet.pk).update(
        scenario=scenario, updated=fleet.updated, **listed
    ):
        raise Fleet.DoesNotExist(f"fleet {fleet.pk} was deleted")
    return fleet


ERROR_PLAN_TOO_LONG = (
    "This maintenance would take about {eta} of simulated time; the playground "
    "plays at most {limit} (PLAYGROUND_FLEET_MAX_FRAMES frames of {bucket}). "
    "Shorten the host downtime, the start or the windows, raise the bandwidth, "
    "or use the command line (python -m migrationsim fleet)."
)


def plan_too_long(plan: dict) -> str:
    """Why the run of this plan would be refused for its length ("" if it would not): its
    frames (one per ``bucket_for(eta)`` of simulated time) must fit the run budget."""
    eta = plan.get("eta_s") or 0
    bucket = bucket_for(eta)
    frames = settings.PLAYGROUND_FLEET_MAX_FRAMES
    if frames <= 0 or eta <= frames * bucket:
        return ""
    return ERROR_PLAN_TOO_LONG.format(
        eta=_span(eta), limit=_span(frames * bucket), bucket=_span(bucket)
    )


def _span(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:,.0f} s"


# --- runs --------------------------------------------------------------------------------------


def start_run(
    *,
    scenario: dict,
    fleet: Fleet | None = None,
    plan: dict | None = None,
    sweep: Sweep | None = None,
    point: dict | None = None,
    queue: bool = True,
    visitor: access.Visitor | None = None,
    approval: str = "",
    scenario_key: str = "",
) -> FleetRun:
    """Store a run of this scenario (``visitor``'s) and queue it once the row is committed.
    ``Fleet.DoesNotExist`` when ``fleet`` was deleted since it was read (``fleet_still_there``).
    ``approval``: the plan page's one-time token (``once``); a second run of the same approval
    (a double click, a form sent again) is not made: the first is returned (``once.Taken`` if
    that one is another visitor's or another fleet's). ``scenario_key``: the scenario's, if
    known (a fleet keeps it): not hashed again."""
    eta = (plan or {}).get("eta_s")

    def create() -> FleetRun:
        fleet_still_there(fleet)
        run = FleetRun.objects.create(
            fleet=fleet,
            sweep=sweep,
            sweep_point=point or {},
            name=str(scenario.get("name", ""))[:120],
            seed=int(scenario.get("seed", 1)),
            scenario=scenario,
            plan=_storable_plan(plan or {}),
            bucket_s=bucket_for(eta),
            approval=approval,
            scenario_key=scenario_key,  # (and the rest kept beside: ``FleetRun.save``)
            **access.owner_fields(visitor),
        )
        if queue:
            pipeline.enqueue(run)
        return run

    return once.create_once(
        create,
        model=FleetRun,
        field="approval",
        token=approval,
        visitor=visitor,
        fleet_id=fleet.pk if fleet is not None else None,
    )


def fleet_still_there(fleet: Fleet | None) -> None:
    """In a transaction, before rows that point at ``fleet`` are stored: raise
    ``Fleet.DoesNotExist`` if it was deleted since the request read it (another tab, while a
    big scenario was validated), and hold it until the commit. The rows' foreign key to a
    deleted fleet failed at the commit, a 500 (and a sweep was left without its runs)."""
    if fleet is not None and not Fleet.objects.select_for_update().filter(pk=fleet.pk).exists():
        raise Fleet.DoesNotExist(f"fleet {fleet.pk} was deleted")


def _storable_plan(plan: dict) -> dict:
    return {k: v for k, v in plan.items() if k != "policy"}
