"""Fleet pages: the list, presets and imports, the fleet form, scenario files, and the plan
(the dry run, whose approval starts a run). Function views with small private helpers; the work
is in ``services``; who may see what is ``access``'s (someone else's fleet is a 404, like an
unknown id). A run's pages are in ``run_views``, its exports in ``exports``, sweeps in
``sweep_views``."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import PRESET_NAMES, preset_scenario, validate
from playground.accounts import access, limits, once
from playground.ops import errors
from playground.ops.ids import whole_number
from playground.runs.models import RunStatus

from . import fields, planning, services
from .forms import MAX_EVENTS, EventFormSet, fleet_forms, validate_fleet
from .import_forms import ImportForm
from .models import Fleet, FleetRun, Sweep
from .run_views import LIST_DEFERRED

ERROR_UNKNOWN_PRESET = "no such preset"
ERROR_EVENT_COUNT = (
    "The number of events on the form (events-TOTAL_FORMS) is missing or not a whole number: "
    "reload the fleet form and add the event again."
)
ERROR_DELETED_MEANWHILE = (
    "This fleet was deleted while you edited it (in another tab?): nothing was saved. Create "
    "it again from the fleet list."
)
ERROR_NOT_PLANNED = "The plan is still being computed: approve it once it is shown."
ERROR_PLAN_CHANGED = (
    "The fleet was changed since this plan was shown (another tab?): nothing was started. "
    "This is the plan of the fleet as it is now: approve it if it is what you want."
)
ERROR_PLAN_FAILED = (
    "The plan could not be computed, so there is nothing to approve: change the fleet, or plan "
    "again."
)


# --- fleets --------------------------------------------------------------------------------


def _presets() -> list[dict]:
    out = []
    for name in PRESET_NAMES:
        data = preset_scenario(name)
        out.append({"name": name, "description": str(data.get("description", "")).strip()})
    return out


def _fleet_list(request: HttpRequest, *, import_form: ImportForm | None = None, status: int = 200):
    visitor = access.for_request(request)
    # each form that makes a fleet has its own one-time token (``once``): a preset clicked twice
    # makes one fleet; another preset clicked after going back makes its own
    presets = [{**p, "submission": once.new_token()} for p in _presets()]
    response = render(
        request,
        "fleets/list.html",
        {
            "presets": presets,
            "import_submission": submission_of(request),
            "fleets": access.mine(Fleet, visitor).defer("scenario")[:50],  # listed_* instead
            "import_form": import_form or ImportForm(),
            "runs": access.mine(FleetRun, visitor).filter(sweep=None).defer(*LIST_DEFERRED)[:10],
            "sweeps": access.mine(Sweep, visitor).defer("scenario")[:5],
        },
        status=status,
    )
    # a first-time visitor's preset clicked twice, or import sent twice: both sends carry the
    # key offered here (``access.offer_key``), so the second is led to the first's fleet
    access.offer_key(request, response)
    return response


def fleet_or_404(request: HttpRequest, fleet_id: int) -> Fleet:
    return access.get_or_404(Fleet, access.for_request(request), pk=fleet_id)


@require_safe
def fleet_list(request: HttpRequest) -> HttpResponse:
    return _fleet_list(request)


@require_POST
def fleet_from_preset(request: HttpRequest) -> HttpResponse:
    preset = request.POST.get("preset", "")
    if preset not in PRESET_NAMES:
        return errors.answer(request, 400, f"{ERROR_UNKNOWN_PRESET}: {preset!r}")
    sent_before = made_before(request, Fleet, Fleet.get_absolute_url)  # clicked twice: one fleet
    if sent_before is not None:
        return sent_before
    try:
        limits.check(request, limits.FLEETS)  # a new fleet: a stored scenario (limits.py)
    except limits.RateLimited as error:
        return limits.too_many(request, error)
    try:
        fleet = services.create_fleet_from_preset(
            preset=preset,
            visitor=access.claim(request),
            submission=request.POST.get("submission", ""),
        )
    except once.Taken as taken:
        return errors.answer(request, 409, str(taken))
    return redirect(fleet)


@require_POST
def fleet_import(request: HttpRequest) -> HttpResponse:
    sent_before = made_before(request, Fleet, Fleet.get_absolute_url)  # sent twice: one fleet
    if sent_before is not None:  # (before the upload is read: a double click costs nothing)
        return sent_before
    try:  # before the upload is read and validated: seconds of CPU for one of megabytes
        limits.ensure_room(request, limits.FLEETS)
        limits.check(request, limits.CHECKS)  # counted, refused or not: it costs the same
    except limits.RateLimited as error:
        empty = ImportForm()
        empty.cleaned_data = {}  # (an unbound form, to carry the message at its top)
        return limits.in_form(
            error, empty, lambda status: _fleet_list(request, import_form=empty, status=status)
        )
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _fleet_list(request, import_form=form, status=422)
    try:
        limits.check(request, limits.FLEETS)
    except limits.RateLimited as error:
        return limits.in_form(
            error, form, lambda status: _fleet_list(request, import_form=form, status=status)
        )
    upload = form.cleaned_data.get("file")
    try:
        fleet = services.create_fleet(
            scenario=form.cleaned_data["scenario"],
            source=f"upload {upload.name}" if upload else "upload",
            visitor=access.claim(request),
            submission=request.POST.get("submission", ""),
        )
    except once.Taken as taken:
        return errors.answer(request, 409, str(taken))
    return redirect(fleet)


def _edit_page(
    request,
    form,
    formset,
    *,
    fleet: Fleet | None,
    source_run: FleetRun | None = None,
    status: int = 200,
) -> HttpResponse:
    """The fleet form; an htmx request gets the form alone (swapped in place)."""
    context = {
        "form": form,
        "formset": formset,
        "fleet": fleet,
        "source_run": source_run,
        "kept": fields.unmodelled_paths(form.scenario),
        # a new fleet's form: one fleet, however often it is sent (the token sent, if the form
        # comes back with its errors: nothing was made of it yet)
        "submission": "" if fleet is not None else submission_of(request),
    }
    template = "fleets/_form.html" if request.htmx else "fleets/edit.html"
    return render(request, template, context, status=status)


def _source_run(request: HttpRequest) -> FleetRun | None:
    run_id = whole_number(request.GET.get("from_run", ""))
    if run_id is None:
        return None
    return access.visible(FleetRun, access.for_request(request)).filter(pk=run_id).first()


def submission_of(request: HttpRequest) -> str:
    """The form's one-time token (``once``): the one it was sent with, or a new one."""
    sent = request.POST.get("submission", "") if request.method == "POST" else ""
    return sent if sent and once.well_formed(sent) else once.new_token()


def made_before(request: HttpRequest, model, url, **same) -> HttpResponse | None:
    """The answer to a form sent with a token that already made a row of ``model`` (a double
    click, a POST sent again): to ``url(row)``, the row the first send made; 400 for a token
    no page gives; 409 if the row is another visitor's (or ``same`` differs). None: a form to
    handle (no token, or a new one)."""
    token = request.POST.get("submission", "")
    if not once.well_formed(token):  # (a NUL in it was PostgreSQL's ValueError, a 500)
        return errors.answer(request, 400, ERROR_BAD_SUBMISSION)
    earlier = once.made_by(model, "submission", token)
    if earlier is None:
        return None
    if not once.answers(earlier, access.as_claimed(request), **same):
        return errors.answer(request, 409, once.ERROR_TAKEN)
    return _to(request, url(earlier))


def _to(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


ERROR_BAD_SUBMISSION = (
    "This form's token (submission: 32 hex digits) is not one a page gives: nothing was made. "
    "Reload the page and send the form again."
)


def _plan_url(fleet: Fleet) -> str:
    return reverse("fleet-plan", args=[fleet.pk])


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


@require_http_methods(["GET", "HEAD", "POST"])
def fleet_new(request: HttpRequest) -> HttpResponse:
    """A new fleet, or one prefilled from a run's scenario (``?from_run=<id>``: re-run with
    changes; the form posts back to the same address, so what it does not edit comes from the
    run). Nothing is stored until the form is saved; the form sent twice makes one fleet
    (``once``)."""
    if request.method == "POST":
        sent_before = made_before(request, Fleet, _plan_url)
        if sent_before is not None:  # (before the limits: a double click costs nothing more)
            return sent_before
    source_run = _source_run(request)
    form, formset = fleet_forms(
        _posted(request), scenario=source_run.scenario if source_run else services.NEW_FLEET
    )
    if request.method == "POST":
        return _save(request, form, formset, fleet=None, source_run=source_run)
    response = _edit_page(request, form, formset, fleet=None, source_run=source_run)
    # the page's token goes with its visitor: a double click of an anonymous visitor's first
    # fleet finds it theirs (both sends carry the key offered here, in a signed cookie: a
    # session stored on every GET grew without bound for a client that keeps no cookies)
    access.offer_key(request, response)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def fleet_edit(request: HttpRequest, fleet_id: int) -> HttpResponse:
    fleet = fleet_or_404(request, fleet_id)
    form, formset = fleet_forms(_posted(request), scenario=fleet.scenario)
    if request.method == "POST":
        return _save(request, form, formset, fleet=fleet)
    return _edit_page(request, form, formset, fleet=fleet)


def _save(request, form, formset, *, fleet: Fleet | None, source_run: FleetRun | None = None):
    try:  # the scenario is validated whether it is saved or refused: seconds for a big one
        limits.check(request, limits.CHECKS)
    except limits.RateLimited as error:
        form.is_valid()  # (bound: the message goes on top of what was posted)
        return limits.in_form(
            error,
            form,
            lambda status: _edit_page(
                request, form, formset, fleet=fleet, source_run=source_run, status=status
            ),
        )
    scenario = validate_fleet(form, formset)
    if scenario is None:
        return _edit_page(request, form, formset, fleet=fleet, source_run=source_run, status=422)
    if fleet is None:
        try:
            limits.check(request, limits.FLEETS)
        except limits.RateLimited as error:
            return limits.in_form(
                error,
                form,
                lambda status: _edit_page(
                    request, form, formset, fleet=None, source_run=source_run, status=status
                ),
            )
        try:
            fleet = services.create_fleet(
                scenario=scenario,
                visitor=access.claim(request),
                submission=request.POST.get("submission", ""),
            )
        except once.Taken as taken:  # the same token sent by another visitor, at that moment
            return errors.answer(request, 409, str(taken))
    else:
        try:
            services.update_fleet(fleet=fleet, scenario=scenario)
        except Fleet.DoesNotExist:
            return errors.answer(request, 404, ERROR_DELETED_MEANWHILE)
    return _to(request, _plan_url(fleet))


@require_safe
def fleet_event_form(request: HttpRequest) -> HttpResponse:
    """One more blank maintenance event for the form (htmx: "Add an event"); ``events-TOTAL_FORMS``
    is the number of event forms on the page, which becomes this form's index."""
    index = whole_number(request.GET.get("events-TOTAL_FORMS", ""))
    if index is None:  # a tampered or hand-made request: the form always sends it
        return errors.answer(request, 400, ERROR_EVENT_COUNT)
    if index >= MAX_EVENTS:
        return HttpResponse(status=204)
    return render(
        request,
        "fleets/_event.html",
        {"ef": EventFormSet(events=[]).new_form(index), "index": index, "total": index + 1},
    )


@require_POST
def fleet_delete(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The fleet and its events go; its runs and sweeps stay (they hold their own snapshot)."""
    fleet_or_404(request, fleet_id).delete()
    return redirect("fleet-list")


# --- the plan ------------------------------------------------------------------------------


def _plan_page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The plan; an htmx request gets the plan alone (a preview in place)."""
    template = "fleets/_plan.html" if request.htmx else "fleets/plan.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def fleet_plan(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The dry run, computed by a worker (``planning``): the page says "planning..." until it is
    there. POST approves it: the run starts with the stored plan (unless the plan is still
    being computed, is beyond what the playground plays, or this visitor started too many
    runs just now)."""
    fleet = fleet_or_404(request, fleet_id)
    # read only here (a run stores its own copy): a deep copy of a listed fleet of 256,000
    # VMs took a second, and validating it two more, on every visit of the page
    scenario = fleet.scenario
    known = planning.find_by_key(fleet.scenario_key)
    if request.method == "POST" or known is None or known.status == RunStatus.FAILED:
        try:  # seconds of CPU for a fleet listing its VMs: counted like any scenario checked
            limits.check(request, limits.CHECKS)
        except limits.RateLimited as error:
            return limits.too_many(request, error)
        try:  # a done plan of this very scenario validated it (but a run is checked afresh)
            validate(scenario)
        except ScenarioError as exc:  # edited in the admin into something invalid
            return _plan_page(request, {"fleet": fleet, "error": str(exc)}, status=422)
    counted = lambda: limits.check(request, limits.PLANS)  # noqa: E731
    try:
        row = planning.plan_for(scenario, before_queue=counted, key=fleet.scenario_key)
        if request.method == "POST" and row.status == RunStatus.FAILED and "again" in request.POST:
            planning.plan_again(row, before_queue=counted)
            return redirect("fleet-plan", fleet.pk)
    except limits.RateLimited as error:
        return limits.too_many(request, error)
    context = _plan_context(fleet, row)
    if request.method == "POST":
        if row.status != RunStatus.DONE:
            refused = ERROR_PLAN_FAILED if row.status == RunStatus.FAILED else ERROR_NOT_PLANNED
            return _plan_page(request, {**context, "refused": refused}, status=409)
        if context["too_long"]:
            return _plan_page(request, context, status=422)
        approval, shown = request.POST.get("approval", ""), request.POST.get("plan", "")
        if not once.well_formed(approval) or (
            shown and not _PLAN_KEY.fullmatch(shown)
        ):  # not what a plan page sends (a NUL in it was PostgreSQL's ValueError, a 500)
            return _plan_page(request, {**context, "refused": ERROR_BAD_APPROVAL}, status=400)
        if shown and shown != row.key:  # approved a plan of the fleet as it was before an edit
            return _plan_page(request, {**context, "refused": ERROR_PLAN_CHANGED}, status=409)
        earlier = once.made_by(FleetRun, "approval", approval)
        if earlier is not None:  # the same approval sent again (a double click): its run
            if not once.answers(earlier, access.for_request(request), fleet_id=fleet.pk):
                refused = once.ERROR_TAKEN  # another fleet's or visitor's: no run
                return _plan_page(request, {**context, "refused": refused}, status=409)
            return redirect(earlier)
        try:
            limits.check(request, limits.RUNS)
        except limits.RateLimited as error:
            return limits.too_many(
                request, error, "fleets/plan.html", {**context, "refused": error.message}
            )
        try:
            run = services.start_run(
                scenario=scenario,
                fleet=fleet,
                plan=row.plan,
                visitor=access.claim(request),
                approval=approval,
                scenario_key=fleet.scenario_key,
            )
        except Fleet.DoesNotExist:
            return errors.answer(request, 404, ERROR_DELETED_MEANWHILE)
        except once.Taken as taken:  # the same approval elsewhere, at that moment
            return _plan_page(request, {**context, "refused": str(taken)}, status=409)
        return redirect(run)
    return _plan_page(request, context)


@require_safe
def fleet_plan_status(request: HttpRequest, fleet_id: int) -> HttpResponse:
    """The "planning..." fragment the plan page (or the edit page's preview) polls with htmx:
    the worker's current step, or, once the plan is done or failed, the whole plan fragment in
    its place."""
    # polled every second: the plan found by the key kept beside the scenario, not by reading
    # and hashing the scenario (megabytes for a listed fleet), which is read only to queue a plan
    fleet = access.get_or_404(
        Fleet.objects.defer("scenario"), access.for_request(request), pk=fleet_id
    )
    row = planning.find_by_key(fleet.scenario_key)
    if row is None:
        try:
            row = planning.plan_for(
                fleet.scenario,
                before_queue=lambda: limits.check(request, limits.PLANS),
                key=fleet.scenario_key,
            )
        except limits.RateLimited as error:
            return limits.too_many(request, error)
    if row.is_finished:
        response = render(request, "fleets/_plan.html", _plan_context(fleet, row))
        response["HX-Retarget"], response["HX-Reswap"] = "#plan", "outerHTML"
        return response
    return render(request, "fleets/_planning.html", _plan_context(fleet, row))


_PLAN_KEY = re.compile("[0-9a-f]{64}")
ERROR_BAD_APPROVAL = (
    "This approval is not one a plan page gives (approval: 32 hex digits, plan: 64): nothing "
    "was started. Approve the plan below."
)


def _plan_context(fleet: Fleet, row) -> dict:
    done = row.status == RunStatus.DONE
    return {
        "approval": once.new_token(),  # this page's: one run, however sent
        "fleet": fleet,
        "planning": row,
        "plan": row.plan if done else None,
        "too_long": services.plan_too_long(row.plan) if done else "",
    }
