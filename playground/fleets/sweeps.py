"""Sweeps: one or two scenario parameters over a few values each, a fleet run per combination,
and the grid of one outcome over them (the heat map)."""

from __future__ import annotations

import copy
import itertools

from migrationsim import humanize
from migrationsim.fleet.text import validate as validate_scenario
from playground.accounts import access, once
from playground.runs import pipeline
from playground.runs.models import RunStatus

from .models import Fleet, Sweep
from .services import fleet_still_there, start_run

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
    "makespan_s": "Makespan",
    "blackout_p99_s": "Blackout p99",
    "blackout_p50_s": "Blackout median",
    "blackout_slo_breaches": "SLO breaches (blackouts over 300 ms)",
    "queue_wait_p99_s": "Queue wait p99",
    "peak_concurrent_migrations": "Peak concurrent migrations",
}


MAX_SWEEP_POINTS = 25
MAX_SWEEP_VMS_PER_RUN = 30_000
MAX_SWEEP_TOTAL_VMS = 150_000
MAX_SWEEP_STORED_CHARS = 32_000_000  # each run stores its scenario: points x its JSON


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


def validation_probe(scenario: dict) -> dict:
    """The scenario as the sweep form validates each point of its grid: the same, but a listed
    fleet (``fleet.vm_list``, up to tens of thousands of VMs) keeps only its smallest VM of each
    workload, the VMs the rules that a swept parameter meets read (the policy must fit every
    workload at the smallest memory it runs in, ``scenario._policy_fits_every_workload``); each
    value was validated alone with every VM."""
    listed = (scenario.get("fleet") or {}).get("vm_list")
    if not listed:
        return scenario
    vms = validate_scenario(scenario).vm_list  # in the list's order
    smallest: dict[str, int] = {}
    for i, vm in enumerate(vms):
        j = smallest.get(vm.workload)
        if j is None or vm.memory_bytes < vms[j].memory_bytes:
            smallest[vm.workload] = i
    probe = dict(scenario, fleet=dict(scenario["fleet"]))
    probe["fleet"]["vm_list"] = [listed[i] for i in sorted(smallest.values())]
    return probe


def param_name(key: str) -> str:
    """A swept parameter as the sweep form names it, without the key it shows in parentheses
    ("Bandwidth cap per migration" for ``policy.max_bandwidth``)."""
    label = SWEEP_PARAMS.get(key, (key,))[0]
    return label.removesuffix(f" ({key})")


def point_in_words(run) -> str:
    """A sweep member's point: "Bandwidth cap per migration 64MiB/s, Migrations per source
    host 2" ("" for a run that is not part of a sweep)."""
    sweep, point = run.sweep, run.sweep_point or {}
    if sweep is None:
        return ""
    text = f"{param_name(sweep.x_param)} {point.get('x')}"
    if sweep.y_param:
        text += f", {param_name(sweep.y_param)} {point.get('y')}"
    return text


def sweep_points(
    *, x_param: str, x_values: list, y_param: str = "", y_values: list | None = None
) -> list[dict]:
    ys = y_values if y_param else [None]
    return [
        {"x": x, **({"y": y} if y_param else {})}
        for x, y in itertools.product(x_values, ys or [None])
    ]


def point_scenario(base: dict, *, x_param: str, y_param: str, point: dict) -> dict:
    scenario = set_path(base, x_param, point["x"])
    if y_param:
        scenario = set_path(scenario, y_param, point["y"])
    return scenario


def create_sweep(
    *,
    fleet: Fleet | None,
    scenario: dict,
    x_param: str,
    x_values: list,
    y_param: str = "",
    y_values: list | None = None,
    metric: str,
    visitor: access.Visitor | None = None,
    submission: str = "",
) -> Sweep:
    """A sweep and one queued run per combination; each run is a task of its own, so every
    available worker takes some. All or nothing (``Fleet.DoesNotExist`` when ``fleet`` was
    deleted since it was read). ``submission``: the sweep form's one-time token (``once``);
    the same form sent again makes no second sweep: the first is returned (``once.Taken`` if
    that one is another visitor's or another fleet's)."""

    def create() -> Sweep:
        fleet_still_there(fleet)
        sweep = Sweep.objects.create(
            fleet=fleet,
            name=str(scenario.get("name", ""))[:120],
            scenario=scenario,
            x_param=x_param,
            x_values=x_values,
            y_param=y_param,
            y_values=y_values or [],
            metric=metric,
            submission=submission,
            **access.owner_fields(visitor),
        )
        runs = [
            start_run(
                scenario=point_scenario(scenario, x_param=x_param, y_param=y_param, point=point),
                fleet=fleet,
                sweep=sweep,
                point=point,
                queue=False,
                visitor=visitor,
            )
            for point in sweep_points(
                x_param=x_param, x_values=x_values, y_param=y_param, y_values=y_values
            )
        ]
        for run in runs:  # one task each: every available worker takes some
            pipeline.enqueue(run)
        return sweep

    return once.create_once(
        create,
        model=Sweep,
        field="submission",
        token=submission,
        visitor=visitor,
        fleet_id=fleet.pk if fleet is not None else None,
    )


def sweep_results(sweep: Sweep) -> dict:
    """The grid of the chosen outcome so far: ``z[y][x]`` (None until that run is done)."""
    runs = list(sweep.runs.all().order_by("id"))
    xs = sweep.x_values
    ys = sweep.y_values if sweep.y_param else [None]
    cell = {}
    for run in runs:
        key = (_key(run.sweep_point.get("x")), _key(run.sweep_point.get("y")))
        done_ok = run.status == RunStatus.DONE
        value = (run.summary or {}).get(sweep.metric) if done_ok else None
        counts = (run.summary or {}).get("outcomes") or {}
        cell[key] = {
            "value": value,
            # VMs the run left where they were: a point that "finishes sooner" by leaving VMs
            # stuck or aborted says so in its cell, not as a plain better makespan
            "left": counts.get("stuck", 0) + counts.get("aborted", 0) if done_ok else None,
            "status": run.status,
            "run": run.pk,
            "url": run.get_absolute_url(),
        }
    grid = [
        [
            cell.get(
                (_key(x), _key(y)),
                {"value": None, "left": None, "status": "queued", "run": None, "url": ""},
            )
            for x in xs
        ]
        for y in ys
    ]
    done = sum(1 for r in runs if r.is_finished)
    shown = _shown(
        sweep.metric,
        [[c["value"] for c in row] for row in grid],
        [[c["status"] for c in row] for row in grid],
    )
    shown["text"] = [
        [t + _left_words(c["left"]) for t, c in zip(trow, row, strict=True)]
        for trow, row in zip(shown["text"], grid, strict=True)
    ]
    # ... and takes no colour on the heat map (nor a point on the lines): a shorter makespan
    # got by leaving VMs where they were is not better, and a colour would rank it so
    shown["z"] = [
        [None if c["left"] else v for v, c in zip(zrow, row, strict=True)]
        for zrow, row in zip(shown["z"], grid, strict=True)
    ]
    return {
        "x_param": sweep.x_param,
        "x_label": param_name(sweep.x_param),  # the parameter in words, for the page
        "x_values": xs,
        "y_param": sweep.y_param,
        "y_label": param_name(sweep.y_param) if sweep.y_param else "",
        "y_values": sweep.y_values,
        "metric": sweep.metric,
        "metric_label": shown["label"],  # the table's: each cell says its own unit
        # the charts' axis: one unit for every number on it (not s for one and h for the next)
        "axis_label": shown["axis_label"],
        "metric_unit": shown["unit"],
        "z_shown": shown["z"],
        "text": shown["text"],
        "grid": grid,
        "z": [[c["value"] for c in row] for row in grid],
        "done": done,
        "total": len(runs),
        "complete": done == len(runs),
    }


def _shown(metric: str, z: list[list], statuses: list[list]) -> dict:
    """The metric's label, each cell in words (a duration as everywhere else,
    ``humanize.duration``: "2 h 13 min"), and the numbers the charts draw with their axis's
    label: a duration metric's in the one unit its largest value reads best in
    (``humanize.common_duration_unit``), said on the axis. A cell without a value says why: its
    run failed, its run is done and has no such figure (no VM migrated: "–"), or it is still to
    come ("…")."""
    name = SWEEP_METRICS.get(metric, metric)
    if metric.endswith("_s"):
        unit, scale_s = humanize.common_duration_unit(v for row in z for v in row)
        axis_label = f"{name} ({unit})"
        shown = [[None if v is None else v / scale_s for v in row] for row in z]
    else:
        unit, axis_label, shown = "", name, z

    def say(v):
        return humanize.value(metric, v)

    text = [
        [_no_value(status) if v is None else say(v) for v, status in zip(row, srow, strict=True)]
        for row, srow in zip(z, statuses, strict=True)
    ]
    return {"label": name, "axis_label": axis_label, "unit": unit, "z": shown, "text": text}


def _left_words(left: int | None) -> str:
    """' (24 VMs stuck or aborted)' after a cell whose run left VMs where they were."""
    if not left:
        return ""
    return f" ({humanize.count(left, 'VM')} stuck or aborted)"


def _no_value(status: str) -> str:
    if status == RunStatus.FAILED:
        return "failed"
    return "–" if status == RunStatus.DONE else "…"


def _key(value) -> str:
    return "" if value is None else str(value)
