"""Fleet pages: the list, presets and imports, the fleet form, scenario files, and the plan
(the dry run, whose approval starts a run). Function views with small private helpers; the work
is in ``services``; who may see what is ``access``'s (someone else's fleet is a 404, like an
unknown id). A run's pages are in ``run_views``, its exports in ``exports``, sweeps in
``sweep_views``."""

from __future__ import annotations

import re

from django.db import transaction
from django.forms import inlineformset_factory
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import PRESET_NAMES, preset_scenario, validate
from playground.accounts import access, limits

from playground.runs.models import RunStatus

from . import planning, services
from .forms import EVENT_FIELDS, EventForm, FleetForm, ImportForm, validate_fleet
from .models import Fleet, FleetRun, MaintenanceEvent, Sweep

ERROR_UNKNOWN_PRESET = "no such preset"
ERROR_NOT_PLANNED = "The plan is still being computed: approve it once it is shown."
ID = re.compile(r"[0-9]{1,12}")


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


def fleet_or_404(request: HttpRequest, fleet_id: int) -> Fleet:
    return access.get_or_404(Fleet, access.for_request(request), pk=fleet_id)


@require_GET
def fleet_list(request: HttpRequest) -> HttpResponse:
    return _fleet_list(request)


@require_POST
def fleet_from_preset(request: HttpRequest) -> HttpResponse:
    preset = request.POST.get("preset", "")
    if preset not in PRESET_NAMES:
        return HttpResponseBadRequest(f"{ERROR_UNKNOWN_PRESET}: {preset!r}")
    fleet = services.create_fleet_from_preset(preset=preset, visitor=access.claim(request))
    return redirect(fleet)


@require_POST
def fleet_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _fleet_list(request, import_form=form, status=422)
    upload = form.cleaned_data.get("file")
    fleet = services.create_fleet(scenario=form.cleaned_data["scenario"],
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
        instance, events = services.unsaved_fleet(scenario=source_run.scenario)
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
    fleet = fleet_or_404(request, fleet_id)
    if request.method == "POST":
        form = FleetForm(request.POST, instance=fleet)
        formset = _formset(data=request.POST, instance=fleet)
        return _save(request, form, formset, fleet=fleet)
    return _edit_page(request, FleetForm(instance=fleet), _formset(instance=fleet), fleet=fleet,
                      extra_kept=bool(fleet.extra))


@require_POST
def fleet_delete(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The fleet and its events go; its runs and sweeps stay (they hold their own snapshot)."""
    fleet_or_404(request, fleet_id).delete()
    return redirect("fleet-list")


# --- the plan ------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def fleet_plan(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The dry run, computed by a worker (``planning``): the page says "planning..." until it is
    there. POST approves it: the run starts with the stored plan (unless the plan is still
    being computed, is beyond what the playground plays, or this visitor started too many
    runs just now)."""
    fleet = fleet_or_404(request, fleet_id)
    scenario = fleet.to_scenario()
    try:
        validate(scenario)
    except ScenarioError as exc:  # edited in the admin into something invalid
        return render(request, "fleets/plan.html", {"fleet": fleet, "error": str(exc)}, status=422)
    row = planning.plan_for(scenario)
    if request.method == "POST" and row.status == RunStatus.FAILED and "again" in request.POST:
        planning.plan_again(row)
        return redirect("fleet-plan", fleet.pk)
    context = _plan_context(fleet, row)
    if request.method == "POST":
        if row.status != RunStatus.DONE:
            return render(request, "fleets/plan.html", {**context, "refused": ERROR_NOT_PLANNED},
                          status=409)
        if context["too_long"]:
            return render(request, "fleets/plan.html", context, status=422)
        try:
            limits.check(request, limits.RUNS)
        except limits.RateLimited as error:
            return limits.too_many(request, error, "fleets/plan.html",
                                   {**context, "refused": error.message})
        run = services.start_run(scenario=scenario, fleet=fleet, plan=row.plan,
                                 visitor=access.claim(request))
        return redirect(run)
    return render(request, "fleets/plan.html", context)


@require_GET
def fleet_plan_status(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The "planning..." fragment the plan page polls (htmx): the worker's current step, or, once
    the plan is done or failed, a reload of the page."""
    fleet = fleet_or_404(request, fleet_id)
    row = planning.plan_for(fleet.to_scenario())
    if row.is_finished:
        response = HttpResponse("")
        response["HX-Refresh"] = "true"  # the whole page, with the plan or the failure
        return response
    return render(request, "fleets/_planning.html", _plan_context(fleet, row))


def _plan_context(fleet: Fleet, row) -> dict:
    done = row.status == RunStatus.DONE
    return {"fleet": fleet, "planning": row, "plan": row.plan if done else None,
            "too_long": services.plan_too_long(row.plan) if done else ""}
