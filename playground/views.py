"""Function views with small private helpers. Business logic lives in ``services``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from . import services, simulation
from .forms import DEFAULTS, AnatomyForm
from .models import Run, RunEvent, Scenario

ERROR_BAD_AFTER = "after must be a whole number >= 0"
ERROR_UNKNOWN_RUN = "no such run"
EVENTS_PAGE = 1000


def _initial(request: HttpRequest) -> tuple[dict, Run | None, Scenario | None]:
    """Defaults, or a past run's values (``?from=<id>``: re-run), or a scenario's."""
    initial, source, scenario = dict(DEFAULTS), None, None
    if request.GET.get("from", "").isdigit():
        source = Run.objects.filter(pk=int(request.GET["from"])).first()
        if source is not None:
            initial.update({k: v for k, v in source.params.items() if k in DEFAULTS})
    elif request.GET.get("scenario"):
        scenario = Scenario.objects.filter(slug=request.GET["scenario"]).first()
        if scenario is not None:
            initial.update({k: v for k, v in scenario.params.items() if k in DEFAULTS})
    return initial, source, scenario


def _form_page(request: HttpRequest, form: AnatomyForm, *, status: int = 200, **extra) -> HttpResponse:
    context = {"form": form, "scenarios": Scenario.objects.all(), "phases": simulation.PHASES,
               "recent_runs": Run.objects.all()[:5], **extra}
    template = "anatomy/_form.html" if request.htmx else "anatomy/index.html"
    return render(request, template, context, status=status)


@require_GET
def anatomy(request: HttpRequest) -> HttpResponse:
    initial, source, scenario = _initial(request)
    return _form_page(request, AnatomyForm(initial=initial), rerun_of=source, scenario=scenario)


@require_http_methods(["GET", "POST"])
def runs(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _run_list(request)
    form = AnatomyForm(request.POST)
    if not form.is_valid():
        # 422: the request was understood, the values were not acceptable; htmx swaps it in
        return _form_page(request, form, status=422)
    run = services.create_run(params=form.run_params())
    if request.htmx:
        return HttpResponseClientRedirect(run.get_absolute_url())
    return redirect(run)


def _run_list(request: HttpRequest) -> HttpResponse:
    runs = list(Run.objects.all()[:200])
    summaries = {
        row.run_id: row.payload.get("result", {})
        for row in RunEvent.objects.filter(run__in=runs, kind="summary")
    }
    for run in runs:
        run.result = summaries.get(run.pk) or {}
    return render(request, "runs/list.html", {"runs": runs})


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(Run, pk=run_id)
    config = {
        "id": run.pk,
        "ws_path": f"/ws/runs/{run.pk}/",
        "events_url": f"/runs/{run.pk}/events.json",
        "speed": str(run.params.get("speed", "10")),
        "status": run.status,
        "phases": simulation.PHASES,
    }
    return render(request, "runs/detail.html", {
        "run": run, "config": config, "phases": simulation.PHASES, "summary": run.summary(),
        "params": _param_rows(run.params)})


def _param_rows(params: dict) -> list[tuple[str, object]]:
    labels = {name: field.label for name, field in AnatomyForm.base_fields.items()}
    shown = {True: "yes", False: "no"}
    return [(labels.get(k, k), shown.get(v, v) if isinstance(v, bool) else v)
            for k, v in params.items() if v not in ("", None) and k in labels]


@require_GET
def run_events(request: HttpRequest, run_id: int) -> JsonResponse:
    """The stored events as JSON, ``?after=<seq>``, for scripts and for clients without
    WebSockets."""
    after = request.GET.get("after", "0")
    if not after.isdigit():
        return JsonResponse({"error": ERROR_BAD_AFTER}, status=400)
    try:
        run = Run.objects.get(pk=run_id)
    except Run.DoesNotExist:
        return JsonResponse({"error": ERROR_UNKNOWN_RUN}, status=404)
    events = run.events_after(int(after), limit=EVENTS_PAGE)
    return JsonResponse({"run": run.pk, "status": run.status, "error": run.error,
                         "events": events, "complete": len(events) < EVENTS_PAGE})
