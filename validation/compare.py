"""The model's prediction for a recorded migration, and the errors between them.

The guest is given to the model as measured, never as configured: its memory is QEMU's
`ram.total`, its zero pages QEMU's `duplicate` count (the guest fills its working set before the
migration, so a page sent as zero was never written), its write rate what the guest itself
reported over the seconds before `migrate`, its working set and pattern what it was told. The
link is the loopback's rate measured by an uncapped migration (`calibration` in results.json).
Nothing here is fitted to a case.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from migrationsim import build_spec, simulate
from migrationsim.units import PAGE_SIZE_BYTES

from .cases import Case
from .qmp import (
    MigrationResult,
    guest_pause_s,
    migration_span_s,
    parse_query_migrate,
    rate_between,
    with_elapsed,
)

MODEL_PATTERNS = {"seq": "sequential", "random": "random"}


@dataclass(frozen=True)
class Link:
    """The loopback as the migration thread sees it (measured, see run.calibrate)."""

    rate_bps: float
    device_state_bytes: float
    # the migration thread's time per page (reading and testing it): the source host's, like
    # the link (0 in recordings made before it was measured)
    page_time_s: float = 0.0
    # how late the migration thread wakes from a rate-limit sleep: the source host's, like the
    # link (0 in recordings made before it was measured)
    wake_latency_s: float = 0.0
    # the source socket's send buffer plus the destination's window (``sockets.py``) and how
    # fast the source alone writes its stream (into `cat`): QEMU's downtime counter stops once
    # the final copy is in that buffer (0 and None in recordings made before they were measured)
    send_buffer_bytes: float = 0.0
    sender_bps: float | None = None
    # the source's own work from the guest's stop to its last byte, beside the bytes (vm_stop,
    # the last bitmap sync, saving the devices): the source host's (0 in recordings made
    # before it was measured)
    stop_time_s: float = 0.0


@dataclass(frozen=True)
class Measured:
    converged: bool
    time_s: float  # QEMU's total-time minus its setup-time (or the time until the cancel)
    ram_bytes: int  # ram.transferred
    precopy_bytes: int  # ram.precopy-bytes: sent while the guest ran
    syncs: int  # dirty-sync-count
    blackout_s: float | None  # QEMU's downtime
    page_writes_per_s: float
    zero_pages: int
    ram_total_bytes: int
    throttle_percentage: int
    # the guest's pause: the source's STOP to the destination's RESUME (None in recordings made
    # before the harness kept QMP's events, and for migrations that did not complete)
    pause_s: float | None = None
    # where the sequential writer's pointer was when pre-copy started, in pages from its set's
    # first page, not yet wrapped (None in recordings made before the harness read it)
    writer_pointer_pages: float | None = None
    # time_s from the MIGRATION events' microseconds (else QEMU's whole-millisecond counters)
    time_from_events: bool = False


@dataclass(frozen=True)
class Predicted:
    converged: bool
    stop_reason: str
    time_s: float
    ram_bytes: float  # bytes sent minus the device state: what QEMU counts as ram.transferred
    precopy_bytes: float  # the live rounds' bytes: what QEMU counts as ram.precopy-bytes
    syncs: int
    blackout_s: float  # QEMU's downtime counter: the source's stop to its last byte sent
    throttle_max: float
    # the guest's pause: the stop until the destination has every byte (the model's blackout;
    # its resume time is 0 here, the destination's own work after that is not modelled)
    pause_s: float = 0.0


def measured_from_record(record: dict) -> Measured:
    """What a recorded run measured (see harness.run_migration for the record's keys)."""
    result: MigrationResult = parse_query_migrate(record["query_migrate"])
    if "cancelled_after_s" in record:
        # a cancelled migration reports no RAM figures: those of the last poll before the cancel
        active = parse_query_migrate(record["query_migrate_last_active"])
        result = with_elapsed(
            replace(active, status=result.status), record["cancelled_after_s"], active.setup_time_s
        )
    reports = record["serial_before"]
    rate = rate_between(reports[0], reports[-1]).page_writes_per_s if len(reports) >= 2 else 0.0
    span_s = (
        migration_span_s(record["events"]["source"])
        if result.converged and "events" in record
        else None
    )
    return Measured(
        converged=result.converged,
        time_s=span_s if span_s is not None else result.migration_time_s,
        time_from_events=span_s is not None,
        writer_pointer_pages=writer_pointer_pages(record, rate, result.setup_time_s),
        ram_bytes=result.ram_transferred_bytes,
        precopy_bytes=result.precopy_bytes or 0,
        syncs=result.dirty_sync_count,
        blackout_s=result.downtime_s,
        pause_s=(
            guest_pause_s(record["events"]["source"], record["events"]["destination"])
            if result.converged and "events" in record
            else None
        ),
        page_writes_per_s=rate,
        zero_pages=result.zero_pages,
        ram_total_bytes=result.ram_total_bytes,
        throttle_percentage=result.throttle_percentage,
    )


def writer_pointer_pages(
    record: dict, page_writes_per_s: float, setup_time_s: float
) -> float | None:
    """The sequential writer's pointer when pre-copy started: the EDI the harness read before
    `migrate`, moved on by the guest's rate over the time from that read to the end of QEMU's
    setup (the first bitmap sync, where the model's pre-copy starts). Pages, not wrapped."""
    pointer = record.get("guest_pointer")
    if pointer is None:
        return None
    return pointer["edi"] + page_writes_per_s * (pointer["read_before_migrate_s"] + setup_time_s)


def write_start(case: Case, measured: Measured) -> float:
    """The model's ``write_start``: the measured pointer as a share of the working set, for a
    sequential writer (0 for the others, and for recordings without the pointer)."""
    if case.pattern != "seq" or measured.writer_pointer_pages is None:
        return 0.0
    pages = case.working_set_pages
    return (measured.writer_pointer_pages % pages) / pages


def model_parameters(case: Case, measured: Measured, link: Link) -> dict:
    """The model's parameters for a case's guest as measured (build_spec's keywords)."""
    memory = measured.ram_total_bytes
    pages = memory // PAGE_SIZE_BYTES
    zero_fraction = min(measured.zero_pages / pages, 1.0)
    writes = case.pattern in MODEL_PATTERNS and measured.page_writes_per_s > 0
    working_set = case.working_set_pages * PAGE_SIZE_BYTES if writes else 0
    zero_fraction = min(zero_fraction, 1.0 - working_set / memory)
    return dict(
        memory=memory,
        dirty_rate=measured.page_writes_per_s * PAGE_SIZE_BYTES if writes else 0,
        working_set=working_set,
        write_pattern=MODEL_PATTERNS.get(case.pattern, "random"),
        write_start=write_start(case, measured),
        zero_fraction=zero_fraction,
        policy="qemu",
        bandwidth=link.rate_bps,
        max_bandwidth=case.max_bandwidth_bps,
        downtime_limit=case.downtime_limit_ms / 1000.0,
        auto_converge=case.auto_converge,
        # the harness cancels at the case's time limit: the operator's timeout, per GiB
        completion_timeout=case.time_limit_s / (memory / 2**30),
        timeout_action="abort",
        device_state=link.device_state_bytes,
        page_time=link.page_time_s,
        wake_latency=link.wake_latency_s,
        send_buffer=link.send_buffer_bytes,
        sender_rate=link.sender_bps,
        stop_time=link.stop_time_s,
        resume_time=0,  # QEMU's downtime ends on the source, before the target resumes
        target_setup=0,
        cleanup=0,
        fabric_convergence=0,
    )


def predict(case: Case, measured: Measured, link: Link) -> Predicted:
    result = simulate(build_spec(**model_parameters(case, measured, link))).to_dict()
    migrated = result["outcome"] == "migrated"
    return Predicted(
        converged=migrated,
        stop_reason=result["stop_reason"],
        # QEMU's clock and downtime counter are the source's: both stop once its last byte is
        # in the socket (the model's ``source_*`` figures; the same as the guest's without a
        # send buffer)
        time_s=result["source_time_s"],
        ram_bytes=result["bytes_sent"] - (link.device_state_bytes if migrated else 0),
        precopy_bytes=sum(
            r["bytes"] * r["repeat"] for r in result["rounds"] if r["phase"] == "live"
        ),
        syncs=predicted_syncs(result),
        blackout_s=result["source_downtime_s"] if migrated else 0.0,
        pause_s=result["blackout_s"] if migrated else 0.0,
        throttle_max=result["throttle_max"],
    )


def predicted_syncs(result: dict) -> int:
    """QEMU's dirty-sync-count for the model's run: one sync at setup (`ram_init_bitmaps`), one at
    the end of every live round that ended with a sync, and one at completion
    (`ram_save_complete`). A live round ends with a sync unless the run stopped inside it (the
    operator's deadline) or the pass ran dry before the first bandwidth measurement (threshold
    0: `ram_save_pending` syncs only when pending is below the threshold)."""
    live = [r for r in result["rounds"] if r["phase"] == "live"]
    syncs = 1 + sum(r["repeat"] for r in live)
    migrated = result["outcome"] == "migrated"
    if live and (not migrated or live[-1]["threshold_bytes"] == 0):
        syncs -= 1
    return syncs + (1 if migrated else 0)


def relative_error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured if measured else 0.0


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median, min and max of the repetitions."""
    return statistics.median(values), min(values), max(values)


def blackout_ok(predicted_s: float, measured_s: float) -> bool:
    """The issue's target: within 20 % or 2 ms."""
    return abs(predicted_s - measured_s) <= max(0.2 * measured_s, 0.002)


def compare_case(
    case: Case, records: list[dict], link: Link, sender_link: Link | None = None
) -> dict:
    """One row of the table: the repetitions' median and spread, the prediction for the median
    guest and the errors. Each repetition is predicted from its own measured guest; the row's
    prediction is the median of those predictions. With `sender_link`, the row also carries the
    model's time and blackout with the link at that speed (a sensitivity, not the validation)."""
    measured = [measured_from_record(r) for r in records]
    predicted = [predict(case, m, link) for m in measured]

    def med(values):
        return statistics.median(values)

    row = {
        "case": case.name,
        "why": case.why,
        "repetitions": len(records),
        "measured": {
            "converged": [m.converged for m in measured],
            "time_s": spread([m.time_s for m in measured]),
            "ram_bytes": spread([m.ram_bytes for m in measured]),
            "precopy_bytes": spread([m.precopy_bytes for m in measured]),
            "syncs": spread([m.syncs for m in measured]),
            "blackout_s": spread([m.blackout_s for m in measured if m.blackout_s is not None])
            if any(m.blackout_s is not None for m in measured)
            else None,
            "pause_s": spread([m.pause_s for m in measured if m.pause_s is not None])
            if any(m.pause_s is not None for m in measured)
            else None,
            "page_writes_per_s": spread([m.page_writes_per_s for m in measured]),
            "throttle_percentage": spread([m.throttle_percentage for m in measured]),
        },
        "predicted": {
            "converged": [p.converged for p in predicted],
            "stop_reason": predicted[0].stop_reason,
            "time_s": med([p.time_s for p in predicted]),
            "ram_bytes": med([p.ram_bytes for p in predicted]),
            "precopy_bytes": med([p.precopy_bytes for p in predicted]),
            "syncs": med([p.syncs for p in predicted]),
            "blackout_s": med([p.blackout_s for p in predicted]),
            "pause_s": med([p.pause_s for p in predicted]),
            "throttle_max": med([p.throttle_max for p in predicted]),
        },
    }
    if sender_link is not None:
        at_sender = [predict(case, m, sender_link) for m in measured]
        row["predicted_at_sender_speed"] = {
            "time_s": med([p.time_s for p in at_sender]),
            "blackout_s": med([p.blackout_s for p in at_sender]),
        }
    row["errors"] = {
        "time": relative_error(row["predicted"]["time_s"], row["measured"]["time_s"][0]),
        "bytes": relative_error(row["predicted"]["ram_bytes"], row["measured"]["ram_bytes"][0]),
        "precopy_bytes": relative_error(
            row["predicted"]["precopy_bytes"], row["measured"]["precopy_bytes"][0]
        ),
        "time_vs_fastest": relative_error(row["predicted"]["time_s"], row["measured"]["time_s"][1]),
        "syncs": row["predicted"]["syncs"] - row["measured"]["syncs"][0],
        "blackout_s": (
            row["predicted"]["blackout_s"] - row["measured"]["blackout_s"][0]
            if row["measured"]["blackout_s"]
            else None
        ),
        "blackout_ok": (
            blackout_ok(row["predicted"]["blackout_s"], row["measured"]["blackout_s"][0])
            if row["measured"]["blackout_s"]
            else None
        ),
        "outcome_agrees": [p.converged for p in predicted] == [m.converged for m in measured],
    }
    return row


def summary(rows: list[dict]) -> dict:
    """Mean and worst absolute errors over the rows, and the count of blackouts on target."""
    time_errors = [abs(r["errors"]["time"]) for r in rows]
    byte_errors = [abs(r["errors"]["bytes"]) for r in rows]
    blackouts = [r["errors"]["blackout_ok"] for r in rows if r["errors"]["blackout_ok"] is not None]
    return {
        "mean_time_error": statistics.mean(time_errors),
        "worst_time_error": max(time_errors),
        "mean_bytes_error": statistics.mean(byte_errors),
        "worst_bytes_error": max(byte_errors),
        "blackouts_on_target": sum(blackouts),
        "blackouts": len(blackouts),
        "outcomes_agree": sum(r["errors"]["outcome_agrees"] for r in rows),
        "cases": len(rows),
    }
