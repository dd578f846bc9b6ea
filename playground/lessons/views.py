"""The lessons' pages: the list, and one lesson (``?pick=<choice>``: the learner's prediction,
then the run, its explanation and whether the pick was right). GET only, so a lesson with its
pick is a link to share; no account needed. With htmx the lesson's body is swapped in place."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from migrationsim.lessons import LESSONS, get
from playground.anatomy.runner import PHASES

from . import players, results

ERROR_PICK = "Pick one of the predictions first."


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "lessons/index.html", {"lessons": LESSONS})


@require_safe
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get(slug)
    if lesson is None:
        raise Http404("no such lesson")
    context = {"lesson": lesson, "setup": results.setup_of(lesson), "pick": None}
    status = 200
    if "pick" in request.GET:
        pick = lesson.choice(request.GET["pick"])
        if pick is None:
            context["error"] = ERROR_PICK
            status = 422  # understood, not acceptable; htmx swaps it in (base.html's config)
        else:
            outcome = results.outcome_of(lesson)
            context.update(
                pick=pick,
                outcome=outcome,
                chart=_in_site_colours(outcome.chart),
                players=players.players(lesson),
                right=pick.key == outcome.answer,
                answer=lesson.choice(outcome.answer),
            )
    template = "lessons/_lesson.html" if request.htmx else "lessons/detail.html"
    return render(request, template, context, status=status)


def _in_site_colours(chart: dict) -> dict:
    """A phase keeps the anatomy page's name and colour in a lesson's chart."""
    by_name = {p["name"]: p for p in PHASES}
    traces = []
    for trace in chart["traces"]:
        phase = by_name.get(trace.get("phase"))
        if phase is not None:
            trace = {**trace, "name": phase["label"], "marker": {"color": phase["color"]}}
        traces.append({k: v for k, v in trace.items() if k != "phase"})
    return {**chart, "traces": traces}
