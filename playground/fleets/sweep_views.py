"""Sweeps: the form that starts one from a fleet, its page (a heat map), and its grid as JSON."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from playground.accounts import access, limits, once
from playground.ops import errors
from playground.runs.models import RunStatus

from . import sweeps
from .models import Fleet, Sweep
from .sweep_forms import EXAMPLES, SweepForm
from .views import ERROR_DELETED_MEANWHILE, fleet_or_404, made_before, submission_of

# --- sweeps --------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def sweep_new(request: HttpRequest, fleet_id: int) -> HttpResponse:
    fleet = fleet_or_404(request, fleet_id)
    if request.method == "POST":  # the form sent again (a double click): the sweep it made
        sent_before = made_before(request, Sweep, Sweep.get_absolute_url, fleet_id=fleet.pk)
        if sent_before is not None:  # (before the limits and the copy: it costs nothing more)
            return sent_before
    scenario = fleet.to_scenario()
    if request.method in ("GET", "HEAD"):
        form = SweepForm(
            scenario=scenario,
            initial={
                "x_param": "policy.max_bandwidth",
                "x_values": EXAMPLES["policy.max_bandwidth"],
                "y_param": "caps.per_source_host",
                "y_values": EXAMPLES["caps.per_source_host"],
                "metric": "makespan_s",
            },
        )
        return render(request, "sweeps/new.html", _form_context(request, form, fleet))
    try:  # before the grid is validated (seconds of CPU for a fleet listing its VMs)
        limits.ensure_room(request, limits.SWEEPS)
        limits.check(request, limits.CHECKS)
    except limits.RateLimited as error:
        again = SweepForm(initial=request.POST.dict(), scenario=scenario)  # (unbound: not checked)
        again.cleaned_data = {}
        again.add_error(None, error.message)
        return limits.too_many(
            request, error, "sweeps/new.html", _form_context(request, again, fleet)
        )
    form = SweepForm(request.POST, scenario=scenario)
    if not form.is_valid():
        return render(request, "sweeps/new.html", _form_context(request, form, fleet), status=422)
    try:
        limits.check(request, limits.SWEEPS)
    except limits.RateLimited as error:
        form.add_error(None, error.message)
        return limits.too_many(
            request, error, "sweeps/new.html", _form_context(request, form, fleet)
        )
    data = form.cleaned_data
    try:
        sweep = sweeps.create_sweep(
            fleet=fleet,
            scenario=scenario,
            x_param=data["x_param"],
            x_values=data["xs"],
            y_param=data.get("y_param") or "",
            y_values=data["ys"],
            metric=data["metric"],
            visitor=access.claim(request),
            submission=request.POST.get("submission", ""),
        )
    except once.Taken as taken:  # the same token sent by another visitor, at that moment
        return errors.answer(request, 409, str(taken))
    except Fleet.DoesNotExist:  # deleted (another tab) while the grid was checked
        return errors.answer(request, 404, ERROR_DELETED_MEANWHILE)
    return redirect(sweep)


def _form_context(request: HttpRequest, form: SweepForm, fleet) -> dict:
    # the page's one-time token (``once``): one sweep, however often the form is sent
    return {
        "form": form,
        "fleet": fleet,
        "examples": EXAMPLES,
        "submission": submission_of(request),
    }


@require_safe
def sweep_detail(request: HttpRequest, sweep_id: int) -> HttpResponse:
    sweep = access.get_or_404(Sweep, access.for_request(request), pk=sweep_id)
    results = _results(sweep)
    config = {
        "results_url": reverse("sweep-results", args=[sweep.pk]),
        "compare_url": reverse("fleet-compare"),
        "results": results,
        "metrics": sweeps.SWEEP_METRICS,
    }
    ylabels = results["y_values"] if sweep.y_param else [""]
    return render(
        request,
        "sweeps/detail.html",
        {
            "sweep": sweep,
            "results": results,
            "config": config,
            "table_rows": [
                (ylabel, list(zip(row, text, strict=False)))
                for ylabel, row, text in zip(
                    ylabels, results["grid"], results["text"], strict=False
                )
            ],
        },
    )


def _results(sweep: Sweep) -> dict:
    """The sweep's results and its compare links: the page draws both, and again each time it
    polls (links only in the page's HTML appeared, watched live, on a reload)."""
    results = sweeps.sweep_results(sweep)
    results["compare_links"] = _compare_links(sweep, results)
    return results


def _compare_links(sweep: Sweep, results: dict) -> list[tuple[str, str]]:
    """(words, ``?runs=``) for the compare page, each of at least two finished runs and at most
    the page's ``COMPARE_MAX`` (a 3 x 3 sweep's one link asked for 9 and got "compare at most 6
    runs at once"; a run still running got "no such finished run"): all the sweep's finished
    runs in one link when they fit, else a row of the grid a link (a line of the charts), cut
    into pieces of ``COMPARE_MAX`` when longer."""
    from .run_views import COMPARE_MAX

    done = [
        [c["run"] for c in row if c["run"] and c["status"] == RunStatus.DONE]
        for row in results["grid"]
    ]
    every = [pk for row in done for pk in row]
    if len(every) < 2:
        return []
    if len(every) <= COMPARE_MAX:
        words = "all its runs" if len(every) == results["total"] else "its finished runs"
        return [(words, ",".join(map(str, every)))]
    links = []
    labels = [f"{results['y_label']} = {y}" for y in results["y_values"]] if sweep.y_param else [""]
    for label, row in zip(labels, done, strict=False):
        pieces = [row[i : i + COMPARE_MAX] for i in range(0, len(row), COMPARE_MAX)]
        for n, piece in enumerate(pieces):
            if len(piece) < 2:
                continue
            words = label or "runs"
            if len(pieces) > 1:
                words += f" ({n * COMPARE_MAX + 1}-{n * COMPARE_MAX + len(piece)})"
            links.append((words, piece))
    return [(words, ",".join(map(str, ids))) for words, ids in links]


@require_safe
def sweep_results(request: HttpRequest, sweep_id: int) -> JsonResponse:
    sweep = access.get_or_404(Sweep, access.for_request(request), pk=sweep_id)
    metric = request.GET.get("metric")
    if metric:
        if metric not in sweeps.SWEEP_METRICS:
            return JsonResponse(
                {"error": f"metric must be one of {', '.join(sweeps.SWEEP_METRICS)}"}, status=400
            )
        sweep.metric = metric  # not saved: the chart may show another outcome
    return JsonResponse(_results(sweep))
