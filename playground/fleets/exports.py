"""A fleet run's exports: the per-VM CSV, the summary JSON, the event log as JSON lines, and
the scenario as run."""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from migrationsim.fleet.export import COLUMNS as VM_COLUMNS, event_log

from playground.runs.models import RunStatus

from .run_views import run_or_404
from .views import scenario_file

# --- exports -------------------------------------------------------------------------------

def _csv_safe(row: dict) -> dict:
    """Text cells that a spreadsheet would run as a formula (a VM named ``=HYPERLINK(...)``)
    get a leading apostrophe, as OWASP advises; numbers are untouched."""
    return {k: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
            for k, v in row.items()}


@require_GET
def fleet_run_vms_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(request, run_id)
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
    run = run_or_404(request, run_id)
    response = JsonResponse({"run": run.pk, "status": run.status, "error": run.error,
                             "seed": run.seed, "summary": run.summary, "plan": run.plan},
                            json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="fleet-run-{run.pk}-summary.json"'
    return response


@require_GET
def fleet_run_events_jsonl(request: HttpRequest, run_id: int) -> HttpResponse:
    """The engine's whole event log, one JSON object a line, recomputed from the stored scenario
    (the engine is deterministic: same scenario and seed, same log)."""
    run = run_or_404(request, run_id)
    response = StreamingHttpResponse(event_log(run.scenario),
                                     content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="fleet-run-{run.pk}-events.jsonl"'
    return response


@require_GET
def fleet_run_scenario(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run = run_or_404(request, run_id)
    return scenario_file(run.scenario, run.name or f"fleet-run-{run.pk}", fmt)
