"""The exports of a fleet run: per-VM rows (CSV) of a finished run, and its event log."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from .engine import FleetRun
from .scenario import parse_scenario

COLUMNS = (
    "vm",
    "workload",
    "memory_bytes",
    "customer",
    "outcome",
    "reason",
    "source",
    "target",
    "migrations",
    "notice_s",
    "queue_wait_s",
    "precopy_s",
    "blackout_s",
    "post_brownout_s",
    "rounds",
    "bytes_sent",
    "failed_s",
    "failed_bytes",
    "forwarded_packets",
    "lost_packets",
    "forwarding_latency_s",
    "converged",
    "stop_reason",
    "outcome_words",
    "reason_words",
)


# How finely a row's numbers are written: seconds to the microsecond (a blackout is tens of ms,
# a forwarding hop 50 us: whole ms would turn it into 0), bytes and packets whole.
SECONDS_DECIMALS = 6
WHOLE = ("memory_bytes", "bytes_sent", "failed_bytes", "forwarded_packets", "lost_packets")


def rounded(key: str, value):
    """A row's number as the export writes it: ``blackout_s`` 0.08724280391544953 -> 0.087243,
    ``bytes_sent`` 876738907.93 -> 876738908; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    if key in WHOLE:
        return round(value)
    if key.endswith("_s"):
        return round(value, SECONDS_DECIMALS)
    return value


def vm_rows(run) -> list[dict]:
    """One row per VM, its numbers rounded (``rounded``): the CSV, and what a web run stores."""
    rows = []
    for vm, rec in zip(run.fleet.vms, run.records, strict=False):
        rows.append(
            {
                "vm": vm.name,
                "workload": vm.workload,
                "memory_bytes": vm.memory_bytes,
                "customer": vm.customer,
                "outcome": rec.outcome,
                "reason": rec.reason,
                "source": rec.source,
                "target": rec.target,
                "migrations": rec.migrations,
                "notice_s": rec.notice_s,
                "queue_wait_s": rec.queue_wait_s,
                "precopy_s": rec.precopy_s,
                "blackout_s": rec.blackout_s,
                "post_brownout_s": rec.post_brownout_s,
                "rounds": rec.rounds,
                "bytes_sent": rec.bytes_sent,
                "failed_s": rec.failed_s,
                "failed_bytes": rec.failed_bytes,
                "forwarded_packets": rec.forwarded_packets,
                "lost_packets": rec.lost_packets,
                "forwarding_latency_s": rec.forwarding_latency_s,
                "converged": "" if rec.converged is None else rec.converged,
                "stop_reason": rec.stop_reason,
                **words_of(rec.outcome, rec.reason),
            }
        )
    return [{k: rounded(k, v) for k, v in row.items()} for row in rows]


def words_of(outcome: str, reason: str) -> dict:
    """The ``outcome_words`` and ``reason_words`` columns: the outcome table's words for a
    row's codes (``outcomes.py``); a reason that is already a sentence stays as it is."""
    from migrationsim import outcomes  # the table imports this package's reasons

    said = outcomes.fleet_vm(outcome, reason)
    return {"outcome_words": said["outcome_label"], "reason_words": said["reason_words"]}


def vm_rows_csv(run) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(vm_rows(run))
    return out.getvalue()


def event_log(data: dict) -> Iterator[str]:
    """Every engine event of a scenario dict's run as a JSON line (the CLI's ``--events``)."""
    run = FleetRun(parse_scenario(data))
    for event in run.events():
        if line := event_line(event):
            yield line


def event_line(event: dict) -> str:
    """One event of the log as a JSON line ("" for the link samples a viewer's run takes, which
    are not events of the maintenance)."""
    if event["kind"] == "links":
        return ""
    return json.dumps(event, separators=(",", ":")) + "\n"
