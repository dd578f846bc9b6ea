"""Business logic for fleets: keyword-only functions the views and the tasks call.

A fleet run streams *frames* (aggregated progress, see ``migrationsim.fleet.frames``): each frame is
stored, then published in batches at most every ``PLAYGROUND_FLEET_PUBLISH_INTERVAL_S`` of wall
time, so a viewer gets a few messages a second however many VMs move.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from migrationsim.fleet import plan as fleet_plan
from migrationsim.fleet.frames import FleetStream, bucket_for
from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.single_vm import vm_anatomy_params
from migrationsim.fleet.text import preset_scenario

from . import access, leases, services
from .fleet_scenario import scenario_to_fields
from .models import (Fleet, FleetRun, FleetRunMessage, FleetRunVm, MaintenanceEvent, Run,
                     RunStatus, Sweep, fleet_group_name_for)
from .logs import run_fields
from .publisher import RunEventPublisher

log = logging.getLogger(__name__)

ERROR_INVALID_SCENARIO = "The stored scenario is no longer valid: {error}"
ERROR_ENGINE_FAILED = "The fleet engine failed: {error}"
ERROR_NO_SUCH_VM = "this fleet has no VM named {name!r}"
MAX_FRAMES_PER_MESSAGE = 100
VM_ROWS_BATCH = 2000

# Parameters a sweep may vary: (scenario path, label, how a typed value is read)
SWEEP_PARAMS: dict[str, tuple[str, type]] = {
    "policy.max_bandwidth": ("Bandwidth cap per migration (policy.max_bandwidth)", str),
    "policy.downtime_limit": ("Downtime limit (policy.downtime_limit)", str),
    "caps.per_source_host": ("Migrations per source host (caps.per_source_host)", int),
    "caps.per_target_host": ("Migrations per target host (caps.per_target_host)", int),
    "caps.global": ("Migrations in the zone (caps.global)", int),
    "caps.per_rack": ("Migrations per rack (caps.per_rack)", int),
    "fleet.host.nic": ("Host NIC speed (fleet.host.nic)", str),
    "network.migration_share": ("Share of the NIC for migrations (network.migration_share)", float),
    "seed": ("Seed", int),
}
SWEEP_METRICS = {
    "makespan_s": "Makespan (s)",
    "blackout_p99_s": "Blackout p99 (s)",
    "blackout_p50_s": "Blackout median (s)",
    "blackout_slo_breaches": "SLO breaches (blackouts over 300 ms)",
    "queue_wait_p99_s": "Queue wait p99 (s)",
    "peak_concurrent_migrations": "Peak concurrent migrations",
}


# --- fleets ------------------------------------------------------------------------------------

@transaction.atomic
def create_fleet(*, scenario: dict, source: str = "", visitor: access.Visitor | None = None) -> Fleet:
    """A ``Fleet`` (``visitor``'s) and its events from a valid scenario dict (a preset, an
    upload)."""
    fields, events = scenario_to_fields(scenario)
    fleet = Fleet.objects.create(source=source[:40], **fields, **access.owner_fields(visitor))
    MaintenanceEvent.objects.bulk_create(
        MaintenanceEvent(fleet=fleet, position=i, **ev) for i, ev in enumerate(events))
    return fleet


def create_fleet_from_preset(*, preset: str, visitor: access.Visitor | None = None) -> Fleet:
    return create_fleet(scenario=preset_scenario(preset), source=f"preset {preset}",
                        visitor=visitor)


def unsaved_fleet(*, scenario: dict) -> tuple[Fleet, list[MaintenanceEvent]]:
    """For forms prefilled from a run ("re-run with changes"): not stored."""
    fields, events = scenario_to_fields(scenario)
    return Fleet(**fields), [MaintenanceEvent(position=i, **ev) for i, ev in enumerate(events)]


def plan_for(*, scenario: dict) -> dict:
    return fleet_plan.plan(scenario)


ERROR_PLAN_TOO_LONG = ("This maintenance would take about {eta} of simulated time; the playground "
                       "plays at most {limit} (PLAYGROUND_FLEET_MAX_FRAMES frames of {bucket}). "
                       "Shorten the host downtime, the start or the windows, raise the bandwidth, "
                       "or use the command line (python -m migrationsim fleet).")


def plan_too_long(plan: dict) -> str:
    """Why the run of this plan would be refused for its length ("" if it would not): its
    frames (one per ``bucket_for(eta)`` of simulated time) must fit the run budget."""
    eta = plan.get("eta_s") or 0
    bucket = bucket_for(eta)
    frames = settings.PLAYGROUND_FLEET_MAX_FRAMES
    if frames <= 0 or eta <= frames * bucket:
        return ""
    return ERROR_PLAN_TOO_LONG.format(eta=_span(eta), limit=_span(frames * bucket),
                                      bucket=_span(bucket))


def _span(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:,.0f} s"


# --- runs --------------------------------------------------------------------------------------

def start_run(*, scenario: dict, fleet: Fleet | None = None, plan: dict | None = None,
              sweep: Sweep | None = None, point: dict | None = None, queue: bool = True,
              visitor: access.Visitor | None = None) -> FleetRun:
    """Store a run of this scenario (``visitor``'s) and queue it once the row is committed."""
    from .tasks import run_fleet

    eta = (plan or {}).get("eta_s")
    run = FleetRun.objects.create(
        fleet=fleet, sweep=sweep, sweep_point=point or {}, name=str(scenario.get("name", ""))[:120],
        seed=int(scenario.get("seed", 1)), scenario=scenario, plan=_storable_plan(plan or {}),
        bucket_s=bucket_for(eta), **access.owner_fields(visitor))
    if queue:
        transaction.on_commit(lambda: leases._send(run_fleet, FleetRun, run.pk))
    return run


def _storable_plan(plan: dict) -> dict:
    return {k: v for k, v in plan.items() if k != "policy"}


class FleetRunPublisher(RunEventPublisher):
    """Publishes to ``fleet.<id>``: the frames as ``run.events`` messages (the consumer relays
    them like a single-VM run's events), and the status."""

    def __init__(self, run_id: int, *, layer=None):
        super().__init__(run_id, layer=layer)
        self.group = fleet_group_name_for(run_id)


class _FrameSink:
    """Numbers frames, stores them, publishes what is stored: the first frame at once, then a
    batch when ``interval_s`` of wall time passed or it holds ``max_frames`` frames. Each batch
    is written in one transaction with a lease renewal (fenced, see ``services._EventSink``);
    frames up to ``resume_after`` are stored already and are checked, then skipped."""

    def __init__(self, run_id: int, publisher, *, interval_s: float, max_frames: int,
                 lease: leases.Lease | None = None, resume_after: int = 0,
                 last_stored: dict | None = None, budget: services.RunBudget | None = None):
        self.run_id = run_id
        self.publisher = publisher
        self.interval_s = interval_s
        self.budget = budget
        self.max_frames = max_frames
        self.lease = lease
        self.resume_after = resume_after
        self.last_stored = last_stored
        self.seq = 0
        self.pending: list[FleetRunMessage] = []
        self.last_flush = -math.inf

    def add(self, frame: dict) -> None:
        self.seq += 1
        if self.lease is not None:
            self.lease.check()
        if self.budget is not None:
            self.budget.check(self.seq)
        if self.seq <= self.resume_after:
            if self.seq == self.resume_after and not services.same_event(
                    self.last_stored, {"seq": self.seq, **frame}):
                raise services.ResumeMismatch(services.ERROR_RESUME_MISMATCH.format(seq=self.seq))
            return
        self.pending.append(FleetRunMessage(run_id=self.run_id, seq=self.seq,
                                            kind=frame.get("kind", "frame"), payload=frame))
        if (len(self.pending) >= self.max_frames
                or time.monotonic() - self.last_flush >= self.interval_s):
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with transaction.atomic():
                if self.lease is not None:
                    self.lease.renew()
                FleetRunMessage.objects.bulk_create(self.pending)  # stored first, then announced
            self.publisher.events([row.as_message() for row in self.pending])
            self.last_flush = time.monotonic()
        self.pending = []


def execute_run(*, run_id: int, publisher=None, interval_s: float | None = None) -> bool:
    """Claim a queued fleet run, run the engine, store and publish its frames, then store one
    row per VM and the summary in one transaction with the final status (a run that fails
    leaves no half set of VM rows). False (and nothing done) if the run was not queued. A run
    queued again after its worker died resumes after its last stored frame."""
    attempt = FleetRun.claim(run_id, worker=leases.worker_name())
    if not attempt:
        log.info("not queued; nothing to do", extra=run_fields("fleet_run", run_id))
        return False
    fields = run_fields("fleet_run", run_id, attempt)
    run = FleetRun.objects.get(pk=run_id)
    last = run.messages.order_by("-seq").first()
    log.info("fleet run claimed", extra={**fields, "resume_after": last.seq if last else 0})
    publisher = publisher or FleetRunPublisher(run_id)
    lease = leases.Lease(FleetRun, run_id, attempt).start()
    publisher.status(RunStatus.RUNNING.value)
    sink = _FrameSink(run_id, publisher, max_frames=MAX_FRAMES_PER_MESSAGE,
                      interval_s=settings.PLAYGROUND_FLEET_PUBLISH_INTERVAL_S
                      if interval_s is None else interval_s, lease=lease,
                      resume_after=last.seq if last else 0,
                      last_stored=last.as_message() if last else None,
                      budget=services.RunBudget(settings.PLAYGROUND_FLEET_MAX_FRAMES,
                                                what="progress frames", setting="FLEET_MAX_FRAMES"))
    try:
        try:
            stream = FleetStream(run.scenario, bucket_s=run.bucket_s)
            for frame in stream.frames():
                sink.add(frame)
            sink.flush()
            if last is not None and sink.seq < last.seq:
                raise services.ResumeMismatch(
                    services.ERROR_RESUME_MISMATCH.format(seq=sink.seq + 1))
            vm_rows = stream.vm_rows()
            summary, series = stream.summary(), stream.compare_series()
            lease.check()
            with transaction.atomic():
                lease.renew()
                _store_vms(run_id, vm_rows)
                if not FleetRun.finish(run_id, summary=summary, series=series, attempt=attempt):
                    raise leases.LeaseLost(f"fleet run {run_id}")
        except leases.LeaseLost:
            log.warning("lease lost; stopping without writing", extra=fields)
            return False
        except ScenarioError as exc:
            return _fail(run_id, publisher, sink, ERROR_INVALID_SCENARIO.format(error=exc),
                         attempt=attempt)
        except (services.ResumeMismatch, services.OverBudget) as exc:
            return _fail(run_id, publisher, sink, str(exc), attempt=attempt)
        except Exception as exc:  # the engine broke: say so on the run instead of hanging
            log.exception("fleet run failed", extra=fields)
            return _fail(run_id, publisher, sink,
                         ERROR_ENGINE_FAILED.format(error=f"{type(exc).__name__}: {exc}"),
                         attempt=attempt)
        log.info("fleet run done", extra={**fields, "frames": sink.seq})
        publisher.status(RunStatus.DONE.value)
        return True
    finally:
        lease.stop()
        getattr(publisher, "close", lambda: None)()


def _store_vms(run_id: int, rows: Iterable[dict]) -> None:
    """One row per VM (call inside the transaction that finishes the run)."""
    FleetRunVm.objects.filter(run_id=run_id).delete()  # none, unless an earlier attempt's
    batch = []
    for row in rows:
        batch.append(FleetRunVm(run_id=run_id, name=row["vm"], host=row["host"],
                                rack=row["rack"], outcome=row["outcome"], data=row))
        if len(batch) >= VM_ROWS_BATCH:
            FleetRunVm.objects.bulk_create(batch)
            batch = []
    if batch:
        FleetRunVm.objects.bulk_create(batch)


def _fail(run_id: int, publisher, sink: _FrameSink, error: str, *,
          attempt: int | None = None) -> bool:
    try:
        sink.flush()
    except Exception:
        log.exception("could not store the last frames", extra=run_fields("fleet_run", run_id,
                                                                          attempt))
    if FleetRun.fail(run_id, error, attempt=attempt):
        log.warning("fleet run failed", extra={**run_fields("fleet_run", run_id, attempt),
                                               "error": error})
        publisher.status(RunStatus.FAILED.value, error)
    return True


def anatomy_params(*, run: FleetRun, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of this fleet run (its memory, workload, the
    scenario's policy, its NIC's migration share as the link). None if there is no such VM."""
    params = vm_anatomy_params(run.scenario, vm_name)
    if params is None:
        return None
    params["fleet_vm"]["fleet_run"] = run.pk
    return params


def anatomy_run_for_vm(*, run: FleetRun, vm_name: str, visitor: access.Visitor | None = None,
                       params: dict | None = None) -> Run | None:
    """A single-VM run of one VM of this fleet (``visitor``'s), for the anatomy page. None if
    there is no such VM. ``params``: from ``anatomy_params`` already."""
    params = params or anatomy_params(run=run, vm_name=vm_name)
    if params is None:
        return None
    return services.create_run(params=params, visitor=visitor)


# --- sweeps ------------------------------------------------------------------------------------

MAX_SWEEP_POINTS = 25
MAX_SWEEP_VMS_PER_RUN = 30_000
MAX_SWEEP_TOTAL_VMS = 150_000


def set_path(scenario: dict, path: str, value) -> dict:
    """A copy of the scenario with ``path`` (dotted) set to ``value``."""
    out = copy.deepcopy(scenario)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    if path == "fleet.host.nic":  # a per-group override would hide the sweep's value
        for group in out.get("fleet", {}).get("racks", []):
            (group.get("host") or {}).pop("nic", None)
    return out


def sweep_points(*, x_param: str, x_values: list, y_param: str = "", y_values: list | None = None
                 ) -> list[dict]:
    ys = y_values if y_param else [None]
    return [{"x": x, **({"y": y} if y_param else {})} for x, y in itertools.product(x_values, ys or [None])]


def point_scenario(base: dict, *, x_param: str, y_param: str, point: dict) -> dict:
    scenario = set_path(base, x_param, point["x"])
    if y_param:
        scenario = set_path(scenario, y_param, point["y"])
    return scenario


@transaction.atomic
def create_sweep(*, fleet: Fleet | None, scenario: dict, x_param: str, x_values: list,
                 y_param: str = "", y_values: list | None = None, metric: str,
                 visitor: access.Visitor | None = None) -> Sweep:
    """A sweep and one queued run per combination; the runs fan out as a Celery group, so
    every available worker takes some."""
    from celery import group

    from .tasks import run_fleet

    sweep = Sweep.objects.create(fleet=fleet, name=str(scenario.get("name", ""))[:120],
                                 scenario=scenario, x_param=x_param, x_values=x_values,
                                 y_param=y_param, y_values=y_values or [], metric=metric,
                                 **access.owner_fields(visitor))
    runs = [start_run(scenario=point_scenario(scenario, x_param=x_param, y_param=y_param,
                                              point=point),
                      fleet=fleet, sweep=sweep, point=point, queue=False, visitor=visitor)
            for point in sweep_points(x_param=x_param, x_values=x_values, y_param=y_param,
                                      y_values=y_values)]
    ids = [run.pk for run in runs]
    transaction.on_commit(lambda: group(run_fleet.s(i) for i in ids).apply_async())
    return sweep


def sweep_results(sweep: Sweep) -> dict:
    """The grid of the chosen outcome so far: ``z[y][x]`` (None until that run is done)."""
    runs = list(sweep.runs.all().order_by("id"))
    xs = sweep.x_values
    ys = sweep.y_values if sweep.y_param else [None]
    cell = {}
    for run in runs:
        key = (_key(run.sweep_point.get("x")), _key(run.sweep_point.get("y")))
        value = (run.summary or {}).get(sweep.metric) if run.status == RunStatus.DONE else None
        cell[key] = {"value": value, "status": run.status, "run": run.pk,
                     "url": run.get_absolute_url()}
    grid = [[cell.get((_key(x), _key(y)), {"value": None, "status": "queued", "run": None, "url": ""})
             for x in xs] for y in ys]
    done = sum(1 for r in runs if r.is_finished)
    return {"x_param": sweep.x_param, "x_values": xs, "y_param": sweep.y_param,
            "y_values": sweep.y_values, "metric": sweep.metric,
            "metric_label": SWEEP_METRICS.get(sweep.metric, sweep.metric),
            "grid": grid, "z": [[c["value"] for c in row] for row in grid],
            "done": done, "total": len(runs), "complete": done == len(runs)}


def _key(value) -> str:
    return "" if value is None else str(value)
