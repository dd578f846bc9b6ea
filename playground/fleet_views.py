"""Fleet pages: configure, plan, watch, results, compare, sweep. Function views with small
private helpers; the work is in ``fleet_services``, the model in ``migrationsim.fleet``; who may
see what is ``access``'s (someone else's fleet, run or sweep is a 404, like an unknown id)."""

from __future__ import annotations

import csv
import io
import json
import re

from django.db import transaction
from django.forms import inlineformset_factory
from django.http import (HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse,
                         StreamingHttpResponse)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from migrationsim.fleet.export import COLUMNS as VM_COLUMNS
from migrationsim.fleet.export import event_log
from migrationsim.fleet.frames import HOST_PHASES, PHASES
from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.summary import GOOGLE_BLACKOUT_P50_S, GOOGLE_BLACKOUT_P99_S
from migrationsim.fleet.text import PRESET_NAMES, dumps_yaml, preset_scenario

from . import access, fleet_services, limits
from .fleet_forms import EVENT_FIELDS, EventForm, FleetForm, ImportForm, SweepForm, validate_fleet
from .models import Fleet, FleetRun, FleetRunVm, MaintenanceEvent, RunStatus, Sweep

ERROR_UNKNOWN_PRESET = "no such preset"
ERROR_BAD_AFTER = "after must be a whole number >= 0"
ERROR_COMPARE_NEEDS_TWO = "choose at least two finished runs to compare (?runs=1,2)"
ERROR_COMPARE_TOO_MANY = "compare at most 6 runs at once"
ERROR_TIMELINE_NOT_READY = "the per-VM timeline of a host is stored when the run is done"
ERROR_UNKNOWN_VM = "this fleet run has no VM named {name!r}"
ID = re.compile(r"[0-9]{1,12}")
MESSAGES_PAGE = 500
COMPARE_MAX = 6

COMPARE_ROWS = [
    ("vms", "VMs"), ("makespan_s", "Makespan"), ("migrations", "Migrations"),
    ("blackout_p50_s", "Blackout median"), ("blackout_p99_s", "Blackout p99"),
    ("blackout_max_s", "Blackout max"), ("blackout_slo_breaches", "Blackouts over 300 ms"),
    ("pre_brownout_p50_s", "Pre-migration brownout median"),
    ("post_brownout_p99_s", "Post-migration brownout p99"),
    ("queue_wait_p50_s", "Queue wait median"), ("queue_wait_p99_s", "Queue wait p99"),
    ("peak_concurrent_migrations", "Peak concurrent migrations"),
    ("bytes_sent", "Bytes sent"), ("not_converged", "Did not converge"),
]


# --- fleets --------------------------------------------------------------------------------

def _presets() -> list[dict]:
    out = []
    for name in PRESET_NAMES:
        data = preset_scenario(name)
        out.append({"name": name, "description": str(data.get("description", "")).strip()})
    return out


def _fleet_list(request: HttpRequest, *, import_form: ImportForm | None = None, status: int = 200):
    visitor = access.for_request(request)
    return render(request, "fleets/list.html", {
        "presets": _presets(), "fleets": access.mine(Fleet, visitor)[:50],
        "import_form": import_form or ImportForm(),
        "runs": access.mine(FleetRun, visitor).filter(sweep=None).select_related("fleet")[:10],
        "sweeps": access.mine(Sweep, visitor)[:5]}, status=status)


def _fleet(request: HttpRequest, fleet_id: int) -> Fleet:
    return access.get_or_404(Fleet, access.for_request(request), pk=fleet_id)


def _run(request: HttpRequest, run_id: int, queryset=None) -> FleetRun:
    return access.get_or_404(FleetRun if queryset is None else queryset,
                             access.for_request(request), pk=run_id)


@require_GET
def fleet_list(request: HttpRequest) -> HttpResponse:
    return _fleet_list(request)


@require_POST
def fleet_from_preset(request: HttpRequest) -> HttpResponse:
    preset = request.POST.get("preset", "")
    if preset not in PRESET_NAMES:
        return HttpResponseBadRequest(f"{ERROR_UNKNOWN_PRESET}: {preset!r}")
    fleet = fleet_services.create_fleet_from_preset(preset=preset, visitor=access.claim(request))
    return redirect(fleet)


@require_POST
def fleet_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _fleet_list(request, import_form=form, status=422)
    upload = form.cleaned_data.get("file")
    fleet = fleet_services.create_fleet(scenario=form.cleaned_data["scenario"],
                                        source=f"upload {upload.name}" if upload else "upload",
                                        visitor=access.claim(request))
    return redirect(fleet)


def _formset(*, data=None, instance: Fleet, initial: list[dict] | None = None):
    factory = inlineformset_factory(Fleet, MaintenanceEvent, form=EventForm,
                                    extra=len(initial or []) or (0 if instance.pk else 1),
                                    can_delete=True, min_num=0, max_num=10, validate_max=True)
    return factory(data=data, instance=instance, initial=initial, prefix="events")


def _edit_page(request, form, formset, *, fleet: Fleet | None, status: int = 200, **extra):
    return render(request, "fleets/edit.html", {
        "form": form, "formset": formset, "fleet": fleet, **extra}, status=status)


@require_http_methods(["GET", "POST"])
def fleet_new(request: HttpRequest) -> HttpResponse:
    """An empty fleet, or one prefilled from a run's scenario (``?from_run=<id>``: re-run with
    changes). Nothing is stored until the form is saved."""
    source_run = None
    if request.method == "POST":
        instance = Fleet(**access.owner_fields(access.claim(request)))
        form = FleetForm(request.POST, instance=instance)
        formset = _formset(data=request.POST, instance=instance)
        return _save(request, form, formset, fleet=None)
    if ID.fullmatch(request.GET.get("from_run", "")):
        source_run = access.visible(FleetRun, access.for_request(request)).filter(
            pk=int(request.GET["from_run"])).first()
    if source_run is not None:
        instance, events = fleet_services.unsaved_fleet(scenario=source_run.scenario)
        initial = [{f: getattr(ev, f) for f in EVENT_FIELDS} for ev in events]
    else:
        instance, initial = Fleet(name="my-zone", mix={"web": 60.0, "idle": 40.0}), [
            {"name": "kernel-upgrade", "kind": "kernel_upgrade", "scope": "zone", "start": "0s"}]
    form = FleetForm(instance=instance)
    formset = _formset(instance=Fleet(), initial=initial)
    return _edit_page(request, form, formset, fleet=None, source_run=source_run,
                      extra_kept=bool(instance.extra))


def _save(request, form, formset, *, fleet: Fleet | None) -> HttpResponse:
    scenario = validate_fleet(form, formset)
    if scenario is None:
        return _edit_page(request, form, formset, fleet=fleet, status=422)
    with transaction.atomic():
        saved = form.save()
        formset.instance = saved
        formset.save()
        for i, ev in enumerate(saved.events.all()):
            if ev.position != i:
                MaintenanceEvent.objects.filter(pk=ev.pk).update(position=i)
    return redirect("fleet-plan", saved.pk)


@require_http_methods(["GET", "POST"])
def fleet_edit(request: HttpRequest, fleet_id: int) -> HttpResponse:
    fleet = _fleet(request, fleet_id)
    if request.method == "POST":
        form = FleetForm(request.POST, instance=fleet)
        formset = _formset(data=request.POST, instance=fleet)
        return _save(request, form, formset, fleet=fleet)
    return _edit_page(request, FleetForm(instance=fleet), _formset(instance=fleet), fleet=fleet,
                      extra_kept=bool(fleet.extra))


@require_POST
def fleet_delete(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The fleet and its events go; its runs and sweeps stay (they hold their own snapshot)."""
    _fleet(request, fleet_id).delete()
    return redirect("fleet-list")


@require_GET
def fleet_export(request: HttpRequest, fleet_id: int, fmt: str) -> HttpResponse:
    fleet = _fleet(request, fleet_id)
    return _scenario_file(fleet.to_scenario(), fleet.name, fmt)


def _scenario_file(scenario: dict, name: str, fmt: str) -> HttpResponse:
    if fmt not in ("json", "yaml"):
        return HttpResponse("the format must be json or yaml", status=404, content_type="text/plain")
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60] or "scenario"
    if fmt == "json":
        body, ctype = json.dumps(scenario, indent=2) + "\n", "application/json"
    else:
        body, ctype = dumps_yaml(scenario), "application/yaml"
    response = HttpResponse(body, content_type=f"{ctype}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.{fmt}"'
    return response


# --- the plan ------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def fleet_plan(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The dry run. POST approves it: the run starts (unless the plan is beyond what the
    playground plays, or this visitor started too many runs just now)."""
    fleet = _fleet(request, fleet_id)
    scenario = fleet.to_scenario()
    try:
        plan = fleet_services.plan_for(scenario=scenario)
    except ScenarioError as exc:  # edited in the admin into something invalid
        return render(request, "fleets/plan.html", {"fleet": fleet, "error": str(exc)}, status=422)
    context = {"fleet": fleet, "plan": plan, "too_long": fleet_services.plan_too_long(plan)}
    if request.method == "POST":
        if context["too_long"]:
            return render(request, "fleets/plan.html", context, status=422)
        try:
            limits.check(request, limits.RUNS)
        except limits.RateLimited as error:
            return limits.too_many(request, error, "fleets/plan.html",
                                   {**context, "refused": error.message})
        run = fleet_services.start_run(scenario=scenario, fleet=fleet, plan=plan,
                                       visitor=access.claim(request))
        return redirect(run)
    return render(request, "fleets/plan.html", context)


# --- a run ---------------------------------------------------------------------------------

def _speed_for(run: FleetRun) -> str:
    """Playback speed (simulated seconds per second) so the run plays in about 30 s."""
    eta = (run.plan or {}).get("eta_s") or 1800
    for speed in (10, 30, 60, 120, 300, 600, 1200, 3000):
        if eta / speed <= 40:
            return str(speed)
    return "max"


@require_GET
def fleet_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id, FleetRun.objects.select_related("fleet", "sweep"))
    config = {
        "id": run.pk, "ws_path": f"/ws/fleet-runs/{run.pk}/",
        "messages_url": reverse("fleet-run-messages", args=[run.pk]),
        "results_url": reverse("fleet-run-results", args=[run.pk]),
        "timeline_url": reverse("fleet-run-timeline", args=[run.pk]),
        "anatomy_url": reverse("fleet-run-anatomy", args=[run.pk, "VM"]),
        "status": run.status, "phases": PHASES, "host_phases": HOST_PHASES,
        "speed": _speed_for(run), "bucket_s": run.bucket_s,
        "google_p50_s": GOOGLE_BLACKOUT_P50_S, "google_p99_s": GOOGLE_BLACKOUT_P99_S,
        "hosts_in_scope": (run.plan or {}).get("hosts_in_scope"),
        "eta_s": (run.plan or {}).get("eta_s"),
    }
    return render(request, "fleets/run.html", {"run": run, "config": config, **_results(run)})


def _results(run: FleetRun) -> dict:
    summary = run.summary or {}
    outcomes = summary.get("outcomes") or {}
    return {"summary": summary, "outcomes": outcomes,
            "outcome_total": sum(outcomes.values()) or 1,
            "summary_rows": [(label, key, summary.get(key)) for key, label in COMPARE_ROWS
                             if key in summary],
            "racks": summary.get("racks") or [],
            "unfinished": sorted((summary.get("unfinished_reasons") or {}).items(),
                                 key=lambda kv: -kv[1]),
            "problem_vms": list(run.vms.exclude(outcome__in=["migrated", "unaffected"])
                                .order_by("outcome", "id")[:50]) if run.status == RunStatus.DONE else []}


@require_GET
def fleet_run_results(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if request.headers.get("Sec-Fetch-Mode") == "navigate":  # opened in a tab, not fetched: the page
        response = redirect(f"{run.get_absolute_url()}#results")
    else:
        response = render(request, "fleets/_results.html", {"run": run, **_results(run)})
    patch_vary_headers(response, ["Sec-Fetch-Mode"])
    return response


@require_GET
def fleet_run_messages(request: HttpRequest, run_id: int) -> JsonResponse:
    after = request.GET.get("after", "0")
    if not ID.fullmatch(after):
        return JsonResponse({"error": ERROR_BAD_AFTER}, status=400)
    run = _run(request, run_id)
    messages = run.messages_after(int(after), limit=MESSAGES_PAGE)
    return JsonResponse({"run": run.pk, "status": run.status, "error": run.error,
                         "events": messages, "complete": len(messages) < MESSAGES_PAGE})


@require_GET
def fleet_run_timeline(request: HttpRequest, run_id: int) -> JsonResponse:
    """One host's VMs and their phases (zoom into a host of a big fleet), once the run is done."""
    run = _run(request, run_id)
    host = request.GET.get("host", "")
    if not host:
        return JsonResponse({"error": "host is required (?host=rack1-h1)"}, status=400)
    if run.status != RunStatus.DONE:
        return JsonResponse({"error": ERROR_TIMELINE_NOT_READY}, status=409)
    vms = FleetRunVm.objects.filter(run=run, host=host).order_by("id")
    return JsonResponse({"host": host, "vms": [
        {"vm": vm.name, "outcome": vm.outcome, "segments": vm.data.get("segments", [])}
        for vm in vms]})


@require_POST
def fleet_run_anatomy(request: HttpRequest, run_id: int, vm: str) -> HttpResponse:
    run = _run(request, run_id)
    params = fleet_services.anatomy_params(run=run, vm_name=vm)
    if params is None:
        return HttpResponse(ERROR_UNKNOWN_VM.format(name=vm), status=404, content_type="text/plain")
    try:
        limits.check(request, limits.RUNS)
    except limits.RateLimited as error:
        return limits.too_many(request, error)
    created = fleet_services.anatomy_run_for_vm(run=run, vm_name=vm, params=params,
                                                visitor=access.claim(request))
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(created.get_absolute_url())
    return redirect(created)


# --- exports -------------------------------------------------------------------------------

def _csv_safe(row: dict) -> dict:
    """Text cells that a spreadsheet would run as a formula (a VM named ``=HYPERLINK(...)``)
    get a leading apostrophe, as OWASP advises; numbers are untouched."""
    return {k: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
            for k, v in row.items()}


@require_GET
def fleet_run_vms_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if run.status != RunStatus.DONE:
        return HttpResponse("the run is not done yet", status=409, content_type="text/plain")

    def rows():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*VM_COLUMNS, "host", "rack"],
                                extrasaction="ignore")
        writer.writeheader()
        for vm in run.vms.order_by("id").iterator(chunk_size=2000):
            writer.writerow(_csv_safe(vm.data))
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fleet-run-{run.pk}-vms.csv"'
    return response


@require_GET
def fleet_run_summary_json(request: HttpRequest, run_id: int) -> JsonResponse:
    run = _run(request, run_id)
    response = JsonResponse({"run": run.pk, "status": run.status, "error": run.error,
                             "seed": run.seed, "summary": run.summary, "plan": run.plan},
                            json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="fleet-run-{run.pk}-summary.json"'
    return response


@require_GET
def fleet_run_events_jsonl(request: HttpRequest, run_id: int) -> HttpResponse:
    """The engine's whole event log, one JSON object a line, recomputed from the stored scenario
    (the engine is deterministic: same scenario and seed, same log)."""
    run = _run(request, run_id)
    response = StreamingHttpResponse(event_log(run.scenario),
                                     content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="fleet-run-{run.pk}-events.jsonl"'
    return response


@require_GET
def fleet_run_scenario(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run = _run(request, run_id)
    return _scenario_file(run.scenario, run.name or f"fleet-run-{run.pk}", fmt)


# --- lists and comparisons -----------------------------------------------------------------

@require_GET
def fleet_runs(request: HttpRequest) -> HttpResponse:
    runs = access.mine(FleetRun, access.for_request(request)).select_related("fleet", "sweep")[:200]
    return render(request, "fleets/runs.html", {"runs": runs})


def _run_ids(request: HttpRequest) -> list[int] | None:
    raw = ",".join(request.GET.getlist("runs"))
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(ID.fullmatch(p) for p in parts):
        return None
    return list(dict.fromkeys(int(p) for p in parts))


@require_GET
def fleet_compare(request: HttpRequest) -> HttpResponse:
    ids = _run_ids(request)
    if ids is None or len(ids) < 2:
        return render(request, "fleets/compare.html", {"error": ERROR_COMPARE_NEEDS_TWO}, status=400)
    if len(ids) > COMPARE_MAX:
        return render(request, "fleets/compare.html", {"error": ERROR_COMPARE_TOO_MANY}, status=400)
    found = {r.pk: r for r in access.visible(FleetRun, access.for_request(request))
             .filter(pk__in=ids, status=RunStatus.DONE)}
    missing = [i for i in ids if i not in found]
    if missing:
        return render(request, "fleets/compare.html", {
            "error": f"run {', '.join(map(str, missing))}: no such finished run; "
                     + ERROR_COMPARE_NEEDS_TWO}, status=404)
    runs = [found[i] for i in ids]
    rows = []
    for key, label in COMPARE_ROWS:
        values = [(r.summary or {}).get(key) for r in runs]
        base = values[0]
        cells = []
        for v in values:
            differs = _differs(base, v)
            cells.append({"value": v, "differs": differs,
                          "delta": _delta(base, v) if differs else ""})
        rows.append({"key": key, "label": label, "cells": cells,
                     "any_differs": any(c["differs"] for c in cells)})
    outcome_rows = []
    for name in ("migrated", "terminated", "restarted", "crashed", "aborted", "stuck"):
        values = [((r.summary or {}).get("outcomes") or {}).get(name, 0) for r in runs]
        outcome_rows.append({"label": name, "cells": [
            {"value": v, "differs": v != values[0], "delta": _delta(values[0], v) if v != values[0] else ""}
            for v in values]})
    config = {"runs": [{"id": r.pk, "label": f"run {r.pk}: {r.name}" + (
        f" ({_point_label(r)})" if r.sweep_id else ""), "series": r.series or {}} for r in runs],
        "google_p50_s": GOOGLE_BLACKOUT_P50_S, "google_p99_s": GOOGLE_BLACKOUT_P99_S}
    return render(request, "fleets/compare.html", {"runs": runs, "rows": rows,
                                                   "outcome_rows": outcome_rows, "config": config})


def _point_label(run: FleetRun) -> str:
    sweep = run.sweep
    text = f"{sweep.x_param}={run.sweep_point.get('x')}"
    if sweep.y_param:
        text += f", {sweep.y_param}={run.sweep_point.get('y')}"
    return text


def _differs(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        scale = max(abs(a), abs(b))
        return scale > 0 and abs(a - b) / scale > 0.005
    return a != b


def _delta(a, b) -> str:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a:
        return f"{(b - a) / abs(a):+.0%}"
    return ""


# --- sweeps --------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def sweep_new(request: HttpRequest, fleet_id: int) -> HttpResponse:
    fleet = _fleet(request, fleet_id)
    scenario = fleet.to_scenario()
    if request.method == "GET":
        form = SweepForm(scenario=scenario, initial={
            "x_param": "policy.max_bandwidth", "x_values": "64MiB/s, 128MiB/s, 256MiB/s",
            "y_param": "caps.per_source_host", "y_values": "1, 2, 4", "metric": "makespan_s"})
        return render(request, "sweeps/new.html", {"form": form, "fleet": fleet})
    form = SweepForm(request.POST, scenario=scenario)
    if not form.is_valid():
        return render(request, "sweeps/new.html", {"form": form, "fleet": fleet}, status=422)
    try:
        limits.check(request, limits.SWEEPS)
    except limits.RateLimited as error:
        form.add_error(None, error.message)
        return limits.too_many(request, error, "sweeps/new.html", {"form": form, "fleet": fleet})
    data = form.cleaned_data
    sweep = fleet_services.create_sweep(
        fleet=fleet, scenario=scenario, x_param=data["x_param"], x_values=data["xs"],
        y_param=data.get("y_param") or "", y_values=data["ys"], metric=data["metric"],
        visitor=access.claim(request))
    return redirect(sweep)


@require_GET
def sweep_detail(request: HttpRequest, sweep_id: int) -> HttpResponse:
    sweep = access.get_or_404(Sweep, access.for_request(request), pk=sweep_id)
    results = fleet_services.sweep_results(sweep)
    config = {"results_url": reverse("sweep-results", args=[sweep.pk]), "results": results,
              "metrics": fleet_services.SWEEP_METRICS}
    ylabels = results["y_values"] if sweep.y_param else [""]
    return render(request, "sweeps/detail.html", {"sweep": sweep, "results": results,
                                                  "config": config,
                                                  "table_rows": list(zip(ylabels, results["grid"])),
                                                  "run_ids": ",".join(str(c["run"]) for row in results["grid"]
                                                                      for c in row if c["run"])})


@require_GET
def sweep_results(request: HttpRequest, sweep_id: int) -> JsonResponse:
    sweep = access.get_or_404(Sweep, access.for_request(request), pk=sweep_id)
    metric = request.GET.get("metric")
    if metric:
        if metric not in fleet_services.SWEEP_METRICS:
            return JsonResponse({"error": f"metric must be one of {', '.join(fleet_services.SWEEP_METRICS)}"},
                                status=400)
        sweep.metric = metric  # not saved: the chart may show another outcome
    return JsonResponse(fleet_services.sweep_results(sweep))
