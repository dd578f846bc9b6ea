"""The single-VM pages: the form, past runs, a run's page and its events as JSON. Function views
with small private helpers; who may see what is ``access``'s to say (a run of someone else is a
404, like one that does not exist)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import HttpResponseClientRedirect

from migrationsim import humanize, outcomes
from playground.accounts import access, limits
from playground.ops.ids import whole_number
from playground.runs.after import ERROR_BAD_AFTER, parse_after

from . import runner as simulation
from . import services
from .forms import DEFAULTS, AnatomyForm
from .models import Run, RunEvent, Scenario

ERROR_UNKNOWN_RUN = "no such run"
EVENTS_PAGE = 1000


def _initial(request: HttpRequest) -> tuple[dict, Run | None, Scenario | None]:
    """Defaults, or a past run's values (``?from=<id>``: re-run), or a scenario's."""
    initial, source, scenario = dict(DEFAULTS), None, None
    if (source_id := whole_number(request.GET.get("from", ""))) is not None:
        source = access.visible(Run, access.for_request(request)).filter(pk=source_id).first()
        if source is not None:
            initial.update({k: v for k, v in source.params.items() if k in DEFAULTS})
    elif request.GET.get("scenario"):
        scenario = Scenario.objects.filter(slug=request.GET["scenario"]).first()
        if scenario is not None:
            initial.update({k: v for k, v in scenario.params.items() if k in DEFAULTS})
    return initial, source, scenario


def _form_page(
    request: HttpRequest, form: AnatomyForm, *, status: int = 200, **extra
) -> HttpResponse:
    context = {
        "form": form,
        "scenarios": Scenario.objects.all(),
        "phases": simulation.PHASES,
        "recent_runs": _with_results(list(access.mine(Run, access.for_request(request))[:5])),
        **extra,
    }
    template = "anatomy/_form.html" if request.htmx else "anatomy/index.html"
    return render(request, template, context, status=status)


@require_safe
def anatomy(request: HttpRequest) -> HttpResponse:
    initial, source, scenario = _initial(request)
    return _form_page(request, AnatomyForm(initial=initial), rerun_of=source, scenario=scenario)


@require_http_methods(["GET", "HEAD", "POST"])
def runs(request: HttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _run_list(request)
    form = AnatomyForm(request.POST)
    if not form.is_valid():
        # 422: the request was understood, the values were not acceptable; htmx swaps it in
        return _form_page(request, form, status=422)
    try:
        limits.check(request, limits.RUNS)
    except limits.RateLimited as error:
        return limits.in_form(error, form, lambda status: _form_page(request, form, status=status))
    run = services.create_run(params=form.run_params(), visitor=access.claim(request))
    if request.htmx:
        return HttpResponseClientRedirect(run.get_absolute_url())
    return redirect(run)


def _with_results(runs: list[Run]) -> list[Run]:
    """Each run with ``result``: its summary ({} until it has one), read in one query."""
    summaries = {
        row.run_id: row.payload.get("result", {})
        for row in RunEvent.objects.filter(run__in=runs, kind="summary")
    }
    for run in runs:
        run.result = summaries.get(run.pk) or {}
    return runs


def _run_list(request: HttpRequest) -> HttpResponse:
    """The visitor's runs; the list refreshes itself (htmx) while one is unfinished."""
    runs = _with_results(list(access.mine(Run, access.for_request(request))[:200]))
    template = "runs/_list.html" if request.htmx else "runs/list.html"
    return render(
        request, template, {"runs": runs, "polling": any(not r.is_finished for r in runs)}
    )


@require_safe
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access.get_or_404(Run, access.for_request(request), pk=run_id)
    phases = simulation.phases_for(run.params)
    summary = run.summary()
    config = {
        "id": run.pk,
        "ws_path": f"/ws/runs/{run.pk}/",
        "events_url": f"/runs/{run.pk}/events.json",
        "speed": str(run.params.get("speed", "10")),
        "status": run.status,
        "phases": phases,
        # the summary in words and humanised numbers, rendered here (one formatter, one table)
        "summary_url": reverse("run-summary", args=[run.pk]),
        "outcome": outcomes.of_result(summary),
    }
    return render(
        request,
        "runs/detail.html",
        {
            "run": run,
            "config": config,
            "phases": phases,
            "summary": summary,
            "params": _param_rows(run.params),
        },
    )


@require_safe
def run_summary(request: HttpRequest, run_id: int) -> HttpResponse:
    """The summary of a finished run as the page shows it (its outcome in the words of
    ``migrationsim.outcomes``, its numbers humanised): the playback fetches it when it plays
    the summary event. 404 until the run has one."""
    run = access.get_or_404(Run, access.for_request(request), pk=run_id)
    summary = run.summary()
    if summary is None:
        return HttpResponse("this run has no summary yet", status=404, content_type="text/plain")
    return render(request, "runs/_summary.html", {"summary": summary})


def _param_rows(params: dict) -> list[tuple[str, object]]:
    labels = {name: field.label for name, field in AnatomyForm.base_fields.items()}
    shown = {True: "yes", False: "no"}
    return [
        (labels.get(k, k), shown.get(v, v) if isinstance(v, bool) else humanize.parameter(k, v))
        for k, v in params.items()
        if v not in ("", None) and k in labels
    ]


@require_safe
def run_events(request: HttpRequest, run_id: int) -> JsonResponse:
    """The stored events as JSON, ``?after=<seq>``, for scripts and for clients without
    WebSockets."""
    after = parse_after(request.GET.get("after", "0"))
    if after is None:
        return JsonResponse({"error": ERROR_BAD_AFTER}, status=400)
    run = access.visible(Run, access.for_request(request)).filter(pk=run_id).first()
    if run is None:  # unknown, or someone else's: the same answer
        return JsonResponse({"error": ERROR_UNKNOWN_RUN}, status=404)
    events = run.events_after(after, limit=EVENTS_PAGE)
    return JsonResponse(
        {
            "run": run.pk,
            "status": run.status,
            "error": run.error,
            "events": events,
            "complete": len(events) < EVENTS_PAGE,
        }
    )
