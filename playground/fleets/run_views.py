"""A fleet run's pages: the live page, its results, its stored frames and a host's per-VM
timeline as JSON, the list of runs, and the comparison of runs."""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from migrationsim import outcomes
from migrationsim.fleet.frame_zones import racks_by_zone
from migrationsim.fleet.frames import HOST_PHASES, PHASES
from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.summary import (
    GOOGLE_BLACKOUT_P50_S,
    GOOGLE_BLACKOUT_P99_S,
    failed_work_sentence,
    moves_sentence,
    unsimulated_failures_sentence,
)
from playground.accounts import access
from playground.ops import errors
from playground.ops.ids import whole_number
from playground.runs.after import ERROR_BAD_AFTER, parse_after
from playground.runs.models import RunStatus

from .models import FleetRun, FleetRunVm
from .plan_vs_run import plan_vs_run
from .scenario_diff import differing_parameters
from .sweeps import point_in_words

ERROR_COMPARE_NEEDS_TWO = "choose at least two finished runs to compare (?runs=1,2)"
ERROR_COMPARE_TOO_MANY = "compare at most 6 runs at once"
ERROR_TIMELINE_NOT_READY = "the per-VM timeline of a host is stored when the run is done"
MESSAGES_PAGE = 500
# a list of runs (and its messages or a host's timeline) never reads these
LIST_DEFERRED = ("scenario", "plan", "series", "sweep__scenario")
# a run's page and its results read the outline kept beside the scenario (``FleetRun.outline``)
# and two figures of its plan, not the scenario (8 MB of JSON for a listed fleet of 100,000
# VMs), the plan or the series; and of its sweep what names its point
PAGE_DEFERRED = ("scenario", "plan", "series", "sweep__scenario")
COMPARE_MAX = 6
# the compare page reads each run's summary, series and outline (``_compared_scenarios``); the
# scenario only when the runs list different VMs, the plan never
COMPARE_DEFERRED = ("scenario", "plan", "sweep__scenario")

# Which way a figure is better, for the compare page's colours: LOWER (a shorter makespan, a
# shorter blackout), HIGHER, or NEUTRAL (counts that say what the scenario asked for, not how
# well it went: a change is shown, neither better nor worse).
LOWER, HIGHER, NEUTRAL = "lower", "higher", ""

COMPARE_ROWS = [
    ("vms", "VMs", NEUTRAL),
    ("makespan_s", "Makespan", LOWER),
    ("migrations", "Migrations", NEUTRAL),
    ("blackout_p50_s", "Blackout median", LOWER),
    ("blackout_p99_s", "Blackout p99", LOWER),
    ("blackout_max_s", "Blackout max", LOWER),
    ("blackout_slo_breaches", "Blackouts over 300 ms", LOWER),
    ("pre_brownout_p50_s", "Pre-migration brownout median", LOWER),
    ("post_brownout_p99_s", "Post-migration brownout p99", LOWER),
    ("queue_wait_p50_s", "Queue wait median", LOWER),
    ("queue_wait_p99_s", "Queue wait p99", LOWER),
    ("peak_concurrent_migrations", "Peak concurrent migrations", NEUTRAL),
    ("bytes_sent", "Bytes sent", NEUTRAL),
    ("failed_bytes_sent", "Bytes sent by migrations that failed or were aborted", LOWER),
    ("not_converged", outcomes.TERMS["not_converged"].label.capitalize(), LOWER),
]
# what became of the VMs: more migrated is better; crashed, aborted and stuck are worse;
# terminated and restarted follow from what the VMs are (GPUs, Spot), neither
OUTCOME_DIRECTIONS = {
    "migrated": HIGHER,
    "terminated": NEUTRAL,
    "restarted": NEUTRAL,
    "crashed": LOWER,
    "aborted": LOWER,
    "stuck": LOWER,
    # the VMs no maintenance asked to leave: with it the rows add up to the run's VMs
    "unaffected": NEUTRAL,
}


def run_or_404(request: HttpRequest, run_id: int, queryset=None) -> FleetRun:
    """The run to watch (its page, fragments, JSON, exports: read only): its owner's, or opened
    through its share link (``access.watch_or_404``)."""
    return access.watch_or_404(
        FleetRun if queryset is None else queryset, access.for_request(request), pk=run_id
    )


def share_url(request: HttpRequest, run: FleetRun) -> str:
    """The run's share link: anyone who opens it may watch the run and its results, read only."""
    return request.build_absolute_uri(f"{run.get_absolute_url()}?share={access.share_token(run)}")


# --- a run ---------------------------------------------------------------------------------


def _page_runs():
    """Runs as their page reads them (``PAGE_DEFERRED``): the plan's two figures the page
    shows are read from it by the database, ``planned_eta_s`` and ``planned_hosts_in_scope``."""
    return (
        FleetRun.objects.select_related("sweep")
        .defer(*PAGE_DEFERRED)
        .annotate(planned_eta_s=F("plan__eta_s"), planned_hosts_in_scope=F("plan__hosts_in_scope"))
    )


def _speed_for(eta_s: float | None) -> str:
    """Playback speed (simulated seconds per second) so the run plays in about 30 s."""
    eta = eta_s or 1800
    for speed in (10, 30, 60, 120, 300, 600, 1200, 3000):
        if eta / speed <= 40:
            return str(speed)
    return "max"


AGAIN = "again"  # (the share link, sent again with the cookie its first answer gave)
ERROR_SHARE_NEEDS_COOKIES = (
    "A share link is kept in a cookie while you watch the run: this browser keeps none from "
    "this site. Allow cookies for it and open the link again."
)


@require_safe
def fleet_run(request: HttpRequest, run_id: int) -> HttpResponse:
    token = request.GET.get("share", "")
    if token:  # the share link: remember it in this browser, then the page without the token
        # its id alone: any token, for any run, read the run's scenario, plan and series
        shared = FleetRun.objects.filter(pk=run_id).only("pk").first()
        if (
            shared is not None
            and access.share_opens(shared, token)
            and not access.keeps_cookies(request)
        ):
            # the share is kept in a session: stored only for a browser that keeps cookies (a
            # client that keeps none stored a session each time it opened the link). Once more
            # with the signed cookie given here; still without it: cookies are off, said so
            if request.GET.get(AGAIN) == "1":
                return errors.answer(request, 400, ERROR_SHARE_NEEDS_COOKIES)
            again = request.GET.copy()
            again[AGAIN] = "1"
            response = redirect(f"{request.path}?{again.urlencode()}")
            access.offer_key(request, response)
            return response
        if shared is not None and access.accept_share(request, shared, token):
            return redirect(shared.get_absolute_url())
    run = run_or_404(request, run_id, _page_runs())
    config = {
        "id": run.pk,
        "ws_path": f"/ws/fleet-runs/{run.pk}/",
        "messages_url": reverse("fleet-run-messages", args=[run.pk]),
        "results_url": reverse("fleet-run-results", args=[run.pk]),
        "timeline_url": reverse("fleet-run-timeline", args=[run.pk]),
        "anatomy_url": reverse("fleet-run-anatomy", args=[run.pk, "VM"]),
        "status": run.status,
        "phases": PHASES,
        "host_phases": HOST_PHASES,
        "speed": _speed_for(run.planned_eta_s),
        "bucket_s": run.bucket_s,
        "google_p50_s": GOOGLE_BLACKOUT_P50_S,
        "google_p99_s": GOOGLE_BLACKOUT_P99_S,
        "hosts_in_scope": run.planned_hosts_in_scope,
        "eta_s": run.planned_eta_s,
        # why VMs wait, in words (the waiting chart's legend): the one table's labels
        "reason_labels": {code: w.label for code, w in outcomes.REASONS.items()},
    }
    return render(
        request,
        "fleets/run.html",
        {
            "run": run,
            "config": config,
            "outline": run.scenario_outline(),  # (the lessons about its events' kinds)
            "shared": access.shared_with(access.for_request(request), run),
            **_results(run),
            "share_url": share_url(request, run),
        },
    )


def _results(run: FleetRun) -> dict:
    summary = run.summary or {}
    counts = summary.get("outcomes") or {}
    return {
        "summary": summary,
        "outcomes": counts,
        "outcome_total": sum(counts.values()) or 1,
        # (code, words, definition, count): the outcome table's words
        "outcome_rows": outcomes.fleet_outcome_rows(summary),
        "terms": [(outcomes.TERMS[t].label, outcomes.TERMS[t].sentence) for t in outcomes.TERMS],
        # the engine's counts in words, as the CLI says them ("3 VMs moved twice")
        "moves_sentence": moves_sentence(summary),
        "failed_work_sentence": failed_work_sentence(summary),
        "unsimulated_failures_sentence": unsimulated_failures_sentence(summary),
        "summary_rows": [
            (label, key, summary.get(key)) for key, label, _ in COMPARE_ROWS if key in summary
        ],
        "racks": summary.get("racks") or [],
        "zones": _zones(run, summary),
        "unfinished": [
            (code, outcomes.label(code), outcomes.describe(code), n)
            for code, n in sorted(
                (summary.get("unfinished_reasons") or {}).items(), key=lambda kv: -kv[1]
            )
        ],
        "plan_vs_run": plan_vs_run(run) if run.status == RunStatus.DONE else None,
        "not_handled": summary.get("not_handled"),
        "problem_vms": list(
            run.vms.exclude(outcome__in=["migrated", "unaffected"]).order_by("outcome", "id")[:50]
        )
        if run.status == RunStatus.DONE
        else [],
    }


def _zones(run: FleetRun, summary: dict) -> list[dict]:
    """The per-rack rows by zone; none (the racks alone) for a run whose stored scenario the
    model's checks, stricter since it ran, now refuse: its page was a 500."""
    try:
        return racks_by_zone(run.scenario_outline(), summary.get("racks") or [])
    except ScenarioError:
        return []


@require_safe
def fleet_run_results(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(request, run_id, _page_runs())
    if (
        request.headers.get("Sec-Fetch-Mode") == "navigate"
    ):  # opened in a tab, not fetched: the page
        response = redirect(f"{run.get_absolute_url()}#results")
    else:
        response = render(
            request,
            "fleets/_results.html",
            {"run": run, **_results(run), "share_url": share_url(request, run)},
        )
    patch_vary_headers(response, ["Sec-Fetch-Mode"])
    return response


@require_safe
def fleet_run_messages(request: HttpRequest, run_id: int) -> JsonResponse:
    after = parse_after(request.GET.get("after", "0"))
    if after is None:
        return JsonResponse({"error": ERROR_BAD_AFTER}, status=400)
    # polled by clients without WebSockets: the run's snapshots stay in the database
    run = run_or_404(request, run_id, FleetRun.objects.defer(*LIST_DEFERRED, "summary"))
    messages = run.events_after(after, limit=MESSAGES_PAGE)
    return JsonResponse(
        {
            "run": run.pk,
            "status": run.status,
            "error": run.error,
            "events": messages,
            "complete": len(messages) < MESSAGES_PAGE,
        }
    )


@require_safe
def fleet_run_timeline(request: HttpRequest, run_id: int) -> JsonResponse:
    """One host's VMs and their phases (zoom into a host of a big fleet), once the run is done."""
    run = run_or_404(request, run_id, FleetRun.objects.defer(*LIST_DEFERRED, "summary"))
    host = request.GET.get("host", "")
    if not host:
        return JsonResponse({"error": "host is required (?host=rack1-h1)"}, status=400)
    if run.status != RunStatus.DONE:
        return JsonResponse({"error": ERROR_TIMELINE_NOT_READY}, status=409)
    vms = FleetRunVm.objects.filter(run=run, host=host).order_by("id")
    return JsonResponse(
        {
            "host": host,
            "vms": [
                {"vm": vm.name, "outcome": vm.outcome, "segments": vm.data.get("segments", [])}
                for vm in vms
            ],
        }
    )


# --- lists and comparisons -----------------------------------------------------------------


@require_safe
def fleet_runs(request: HttpRequest) -> HttpResponse:
    """The visitor's fleet runs; the list refreshes itself (htmx) while one is unfinished."""
    # the list shows a run's name, status and summary: its scenario, plan and series (megabytes
    # each for a listed fleet: 0.1 s a row to read, on every refresh) are left in the database
    runs = list(
        access.mine(FleetRun, access.for_request(request))
        .select_related("sweep")
        .defer(*LIST_DEFERRED)[:200]
    )
    template = "fleets/_runs.html" if request.htmx else "fleets/runs.html"
    return render(
        request, template, {"runs": runs, "polling": any(not r.is_finished for r in runs)}
    )


def _run_ids(request: HttpRequest) -> list[int] | None:
    """The runs to compare, in the order chosen: ``?runs=3,1`` as written; ticked on the list
    of runs (``?runs=3&runs=1``, which lists the newest first), oldest first."""
    given = request.GET.getlist("runs")
    raw = ",".join(given)
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    numbers = [whole_number(p) for p in parts]
    if None in numbers:
        return None
    chosen = list(dict.fromkeys(numbers))
    return sorted(chosen) if len(given) > 1 else chosen


@require_safe
def fleet_compare(request: HttpRequest) -> HttpResponse:
    ids = _run_ids(request)
    if ids is None or len(ids) < 2:
        return render(
            request, "fleets/compare.html", {"error": ERROR_COMPARE_NEEDS_TWO}, status=400
        )
    if len(ids) > COMPARE_MAX:
        return render(request, "fleets/compare.html", {"error": ERROR_COMPARE_TOO_MANY}, status=400)
    found = {
        r.pk: r
        for r in access.visible(FleetRun, access.for_request(request))
        .filter(pk__in=ids, status=RunStatus.DONE)
        .select_related("sweep")  # (a sweep member's point, in words)
        .defer(*COMPARE_DEFERRED)
    }
    missing = [i for i in ids if i not in found]
    if missing:
        return render(
            request,
            "fleets/compare.html",
            {
                "error": f"run {', '.join(map(str, missing))}: no such finished run; "
                + ERROR_COMPARE_NEEDS_TWO
            },
            status=404,
        )
    runs = [found[i] for i in ids]
    rows = []
    for key, label, direction in COMPARE_ROWS:
        cells = _cells([(r.summary or {}).get(key) for r in runs], direction)
        rows.append(
            {
                "key": key,
                "label": label,
                "cells": cells,
                "any_differs": any(c["differs"] for c in cells),
            }
        )
    outcome_rows = []
    for name, direction in OUTCOME_DIRECTIONS.items():
        cells = _cells(
            [((r.summary or {}).get("outcomes") or {}).get(name, 0) for r in runs], direction
        )
        outcome_rows.append(
            {
                "code": name,
                "label": outcomes.fleet_outcome(name).label,
                "definition": outcomes.fleet_outcome(name).sentence,
                "any_differs": any(c["differs"] for c in cells),
                "cells": cells,
            }
        )
    config = {
        "runs": [
            {
                "id": r.pk,
                "label": f"run {r.pk}: {r.name}"
                + (f" ({point_in_words(r)})" if r.sweep_id else ""),
                "series": r.series or {},
            }
            for r in runs
        ],
        "google_p50_s": GOOGLE_BLACKOUT_P50_S,
        "google_p99_s": GOOGLE_BLACKOUT_P99_S,
    }
    return render(
        request,
        "fleets/compare.html",
        {
            "runs": runs,
            "rows": rows,
            "outcome_rows": outcome_rows,
            "config": config,
            "parameters": differing_parameters(_compared_scenarios(runs)),
            "outcomes_differ": [r for r in rows if r["any_differs"]]
            + [
                {**r, "label": f"VMs {r['label']}", "key": ""}
                for r in outcome_rows
                if r["any_differs"]
            ],
        },
    )


def _compared_scenarios(runs: list[FleetRun]) -> list[dict]:
    """What the runs' parameters are compared on: their outlines when they list the same VMs
    (or none), which is all that can differ between them; else (lists that differ, or a run
    stored before outlines were kept) their whole scenarios, read now."""
    if all(r.outline is not None for r in runs) and len({r.listed_key for r in runs}) == 1:
        return [r.outline for r in runs]
    scenarios = dict(
        FleetRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("pk", "scenario")
    )
    return [scenarios[r.pk] for r in runs]


def _cells(values: list, direction: str) -> list[dict]:
    """Each run's value beside the first run's: whether it differs, by how much, and whether
    that is better or worse ("" when the figure has no better way, or does not differ)."""
    base = values[0]
    cells = []
    for v in values:
        differs = _differs(base, v)
        cells.append(
            {
                "value": v,
                "differs": differs,
                "delta": _delta(base, v) if differs else "",
                "judged": _judged(base, v, direction) if differs else "",
            }
        )
    return cells


def _judged(base, value, direction: str) -> str:
    """'better' or 'worse' than the first run, for a figure with a better way; else ''."""
    if direction == NEUTRAL or not all(isinstance(x, (int, float)) for x in (base, value)):
        return ""
    lower = value < base
    return "better" if lower == (direction == LOWER) else "worse"


def _differs(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        scale = max(abs(a), abs(b))
        return scale > 0 and abs(a - b) / scale > 0.005
    return a != b


def _delta(a, b) -> str:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a:
        return f"{(b - a) / abs(a):+.0%}"
    return ""
