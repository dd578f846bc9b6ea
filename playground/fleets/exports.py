"""A fleet run's exports: the per-VM CSV, the summary JSON, the event log as JSON lines, and
the scenario as run."""

from __future__ import annotations

import csv
import io
import json
import zlib

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from migrationsim import outcomes
from migrationsim.fleet.export import COLUMNS as VM_COLUMNS
from migrationsim.fleet.export import words_of
from migrationsim.fleet.text import dumps_yaml
from playground.ops import errors
from playground.ops.csv_safe import csv_safe_row
from playground.runs.models import RunStatus

from .models import FleetRunLog, FleetRunVm
from .run_views import run_or_404
from .views import fleet_or_404

ERROR_NO_EVENT_LOG = (
    "This run's event log was not stored (it did not finish, or it ran before "
    "the playground stored logs). The command line writes one: python -m "
    "migrationsim fleet SCENARIO --events FILE."
)


def attachment(response: HttpResponse, filename: str) -> HttpResponse:
    """Offer the response as a download named ``filename`` (any name: non-ASCII is encoded)."""
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# Exports answer GET only (not HEAD, unlike the pages): a HEAD would compute a streamed body to
# throw it away.
@require_GET
def fleet_run_vms_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(request, run_id)
    if run.status != RunStatus.DONE:
        return HttpResponse("the run is not done yet", status=409, content_type="text/plain")

    async def rows():  # async: daphne streams it (a sync iterator it would buffer whole)
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=[*VM_COLUMNS, "host", "rack"], extrasaction="ignore"
        )
        writer.writeheader()
        after = 0
        while page := await _vm_rows(run.pk, after):
            for vm_id, data in page:
                # the words from the table now (a row stored before it carried them has none)
                words = words_of(str(data.get("outcome", "")), str(data.get("reason") or ""))
                writer.writerow(csv_safe_row({**data, **words}))
                after = vm_id
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return attachment(
        StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8"),
        f"fleet-run-{run.pk}-vms.csv",
    )


@require_GET
def fleet_run_summary_json(request: HttpRequest, run_id: int) -> JsonResponse:
    run = run_or_404(request, run_id)
    response = JsonResponse(
        {
            "run": run.pk,
            "status": run.status,
            "error": run.error,
            "seed": run.seed,
            "summary": run.summary,
            "plan": run.plan,
            # the codes of the summary in words (``migrationsim.outcomes``, the one table)
            "words": summary_words(run.summary),
        },
        json_dumps_params={"indent": 2},
    )
    return attachment(response, f"fleet-run-{run.pk}-summary.json")


def summary_words(summary: dict | None) -> dict:
    """The summary's outcome and reason codes, and the fleet's counting terms, in words."""
    summary = summary or {}
    said = {code: outcomes.fleet_vm(code) for code in summary.get("outcomes") or {}}
    reasons = summary.get("unfinished_reasons") or {}
    return {
        "outcomes": {
            c: {"label": w["outcome_label"], "sentence": w["outcome_sentence"]}
            for c, w in said.items()
        },
        "unfinished_reasons": {
            c: {"label": outcomes.label(c), "sentence": outcomes.describe(c)} for c in reasons
        },
        "terms": {
            t: {"label": w.label, "definition": w.sentence} for t, w in outcomes.TERMS.items()
        },
    }


@require_GET
def fleet_run_events_jsonl(request: HttpRequest, run_id: int) -> HttpResponse:
    """The engine's whole event log, one JSON object a line, streamed from what the worker
    stored when the run finished (slice by slice: a download holds one slice at a time)."""
    run = run_or_404(request, run_id)
    ids = list(FleetRunLog.objects.filter(run=run).order_by("seq").values_list("id", flat=True))
    if not ids:
        return HttpResponse(ERROR_NO_EVENT_LOG, status=404, content_type="text/plain")

    async def lines():  # async: daphne streams it (a sync iterator it would buffer whole)
        gunzip = zlib.decompressobj(wbits=31)
        for chunk_id in ids:
            data = await _log_slice(chunk_id)
            while data:  # at most OUT_BYTES of text at a time
                yield gunzip.decompress(data, OUT_BYTES)
                data = gunzip.unconsumed_tail
        yield gunzip.flush()

    return attachment(
        StreamingHttpResponse(lines(), content_type="application/x-ndjson"),
        f"fleet-run-{run.pk}-events.jsonl",
    )


OUT_BYTES = 1024 * 1024  # a download's piece
VM_ROWS_PAGE = 2000


@sync_to_async
def _vm_rows(run_id: int, after: int) -> list[tuple[int, dict]]:
    rows = FleetRunVm.objects.filter(run_id=run_id, id__gt=after).order_by("id")
    return list(rows.values_list("id", "data")[:VM_ROWS_PAGE])


@sync_to_async
def _log_slice(chunk_id: int) -> bytes:
    return bytes(FleetRunLog.objects.values_list("data", flat=True).get(id=chunk_id))


# A scenario that lists its VMs one by one may hold 256,000 of them (megabytes of JSON). Writing
# YAML is PyYAML's pure-Python emitter, about 0.3 MB of scenario a second, and so is JSON with
# indentation: seconds to a minute of one request's CPU. Past this many characters (compact
# JSON, written by the C encoder in milliseconds), the JSON download is written compact and the
# YAML one is refused with the reason: the JSON is the same scenario, and every reader of
# scenarios here (the import form, the command line) reads JSON.
SCENARIO_PRETTY_MAX_CHARS = 250_000


@require_GET
def fleet_export(request: HttpRequest, fleet_id: int, fmt: str) -> HttpResponse:
    fleet = fleet_or_404(request, fleet_id)
    return scenario_file(request, fleet.to_scenario(), fleet.name, fmt)


def scenario_file(request: HttpRequest, scenario: dict, name: str, fmt: str) -> HttpResponse:
    """A scenario as a JSON or YAML download named after it."""
    if fmt not in ("json", "yaml"):
        return HttpResponse(
            "the format must be json or yaml", status=404, content_type="text/plain"
        )
    compact = json.dumps(scenario)
    large = len(compact) > SCENARIO_PRETTY_MAX_CHARS
    if fmt == "json":
        body = (compact if large else json.dumps(scenario, indent=2)) + "\n"
        ctype = "application/json"
    elif large:
        return errors.answer(
            request,
            413,
            f"This scenario is {len(compact):,} characters of JSON: a YAML download is written "
            f"up to {SCENARIO_PRETTY_MAX_CHARS:,} (YAML is slow to write). Download it as JSON "
            "instead: the same scenario, and the import form and the command line read it.",
        )
    else:
        body, ctype = dumps_yaml(scenario), "application/yaml"
    response = HttpResponse(body, content_type=f"{ctype}; charset=utf-8")
    return attachment(response, f"{name[:60] or 'scenario'}.{fmt}")


@require_GET
def fleet_run_scenario(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run = run_or_404(request, run_id)
    return scenario_file(request, run.scenario, run.name or f"fleet-run-{run.pk}", fmt)
