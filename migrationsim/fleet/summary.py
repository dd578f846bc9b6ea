"""The numbers a capacity planner asks for, from a finished fleet run."""

from __future__ import annotations

from collections import Counter

import numpy as np

from migrationsim.humanize import count, duration, size
from migrationsim.units import format_long_duration

from . import reasons as why

OUTCOMES = ("migrated", "terminated", "restarted", "crashed", "aborted", "stuck", "unaffected")
BLACKOUT_SLO_S = 0.300  # Google's published p99
GOOGLE_BLACKOUT_P50_S = 0.050  # Google's published median blackout (VEE'18)
GOOGLE_BLACKOUT_P99_S = 0.300  # and its 99th percentile


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(run) -> dict:
    fleet = run.fleet
    # the VMs the engine never touched are unaffected and sent nothing (``VmRecords``): counted,
    # not walked (nine in ten of a big fleet's VMs)
    touched = getattr(run.records, "touched", None)
    records = list(touched()) if touched else list(run.records)
    untouched = len(run.records) - len(records)
    migrated = [r for r in records if r.outcome == "migrated"]
    outcomes = dict.fromkeys(OUTCOMES, 0)
    outcomes["unaffected"] += untouched
    for r in records:
        outcomes[r.outcome] += 1
    blackouts = [r.blackout_s for r in migrated]
    pre = [r.precopy_s for r in migrated]
    post = [r.post_brownout_s for r in migrated]
    waits = [r.queue_wait_s for r in records if r.queued_at is not None]
    rack_of_host = {h.name: h.rack for h in fleet.hosts}
    by_rack: dict[int, list] = {}
    for r in migrated:
        by_rack.setdefault(rack_of_host[r.source], []).append(r.blackout_s)
    # the VMs on each rack now, from the hosts' counts (one column; not a walk over a hundred
    # thousand hosts' sets scattered over memory)
    columns = fleet.table.views()
    vms_now = np.bincount(columns.rack, weights=columns.vm_count, minlength=len(fleet.racks))
    racks = []
    for rack in fleet.racks:
        rb = by_rack.get(rack.id, [])
        racks.append(
            {
                "rack": rack.name,
                "hosts": len(rack.hosts),
                "vms_now": int(vms_now[rack.id]),
                "migrated_out": len(rb),
                "blackout_p50_s": _pct(rb, 50),
                "blackout_p99_s": _pct(rb, 99),
            }
        )
    moves = Counter(r.migrations for r in records)
    if untouched:
        moves[0] += untouched
    reasons: dict[str, int] = {}
    for r in records:
        if r.outcome in ("stuck", "aborted"):
            # an abort after backing out (target failed, authentication) has no stop reason:
            # its reason is the code of the failure
            given_up = r.reason if r.outcome == "aborted" and r.reason in why.SENTENCES else ""
            code = r.stop_reason or r.wait_reason or given_up or "unknown"
            reasons[code] = reasons.get(code, 0) + 1
    return {
        "scenario": run.scenario.name,
        "seed": run.scenario.seed,
        "vms": len(run.records),
        "hosts": len(fleet.hosts),
        "outcomes": outcomes,
        "migrations": sum(n * vms for n, vms in moves.items()),
        # VMs that crashed with their host and were started again elsewhere (whatever became
        # of them after), and VMs that moved more than once, by how many times ("2": 3)
        "crashed_restarted": sum(1 for r in records if r.restarts_after_crash),
        "moved_more_than_once": {str(n): vms for n, vms in sorted(moves.items()) if n > 1},
        "makespan_s": run.makespan_s,
        "blackout_p50_s": _pct(blackouts, 50),
        "blackout_p99_s": _pct(blackouts, 99),
        "blackout_max_s": max(blackouts) if blackouts else None,
        "pre_brownout_p50_s": _pct(pre, 50),
        "pre_brownout_p99_s": _pct(pre, 99),
        "post_brownout_p50_s": _pct(post, 50),
        "post_brownout_p99_s": _pct(post, 99),
        # every migration's bytes, those of migrations that failed or were aborted included;
        # those alone, and the time the failed ones ran (from their start to their failure)
        "bytes_sent": float(sum(r.bytes_sent for r in records)),
        "failed_bytes_sent": float(sum(r.failed_bytes for r in records)),
        "failed_migration_s": float(sum(r.failed_s for r in records)),
        "forwarded_packets": float(sum(r.forwarded_packets for r in records)),
        "lost_packets": float(sum(r.lost_packets for r in records)),
        "forwarding_latency_s": max((r.forwarding_latency_s for r in migrated), default=0.0),
        "peak_concurrent_migrations": run.peak_concurrent,
        "queue_wait_p50_s": _pct(waits, 50),
        "queue_wait_p99_s": _pct(waits, 99),
        "blackout_slo_s": BLACKOUT_SLO_S,
        "blackout_slo_breaches": sum(1 for b in blackouts if b > BLACKOUT_SLO_S),
        "not_converged": sum(1 for r in migrated if r.converged is False),
        "unfinished_reasons": reasons,
        "racks": racks,
        # only when the run reached its ceiling (kernel.py): why, in a sentence
        **({"stopped": run.stopped} if run.stopped else {}),
        # hosts still failing at the end whose failure was drawn beyond that ceiling (engine.py)
        **(
            {"failures_not_simulated": run.failures_not_simulated}
            if run.failures_not_simulated
            else {}
        ),
    }


# --- the summary's counts in words (the CLI's run summary and the web's results say them alike)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n:,} times")


def moves_sentence(summary: dict) -> str:
    """The restarts after a crash and the VMs that moved more than once, the engine's counts in
    words ("10 VMs that crashed with their host were restarted on another host; 3 VMs moved
    twice"); "" when there are none (and for a summary stored before these keys existed)."""
    parts = []
    crashed = summary.get("crashed_restarted") or 0
    if crashed:
        were = "was" if crashed == 1 else "were"
        their = "its" if crashed == 1 else "their"
        # "that crashed": they keep the outcome crashed (never "restarted", which is a VM
        # stopped because it cannot live-migrate), so the sentence says which they are
        parts.append(
            f"{count(crashed, 'VM')} that crashed with {their} host {were} restarted on another host"
        )
    moved = summary.get("moved_more_than_once") or {}
    if moved:
        parts.append(
            ", ".join(
                f"{count(n, 'VM')} moved {_times(int(k))}"
                for k, n in sorted(moved.items(), key=lambda kv: int(kv[0]))
            )
        )
    return "; ".join(parts)


def unsimulated_failures_sentence(summary: dict) -> str:
    """Hosts still due to fail when the run ended, whose failure was drawn beyond the ceiling on
    simulated time, so never simulated ("rack1-h3 (dimm-failure) would fail only after 31,700
    years, beyond the 10 years this simulator follows: that failure is not simulated, and its 2
    VMs keep running on it"); "" when none."""
    failures = summary.get("failures_not_simulated") or []
    if not failures:
        return ""
    first = failures[0]
    said = (
        f"{first['host']} ({first['event']}) would fail only after "
        f"{format_long_duration(first['fails_at_s'])}"
    )
    if len(failures) > 1:
        said += f", and {count(len(failures) - 1, 'more host')} later still"
    vms = sum(f["vms"] for f in failures)
    return (
        f"{said}, beyond the {format_long_duration(first['ceiling_s'])} this simulator follows: "
        f"{'that failure is' if len(failures) == 1 else 'those failures are'} not simulated, "
        f"and {count(vms, 'VM')} keep running on {'it' if len(failures) == 1 else 'them'}"
    )


def failed_work_sentence(summary: dict) -> str:
    """What migrations that did not complete cost the network ("migrations that failed or were
    aborted sent 8.2 GiB of the total and ran 3 min 27 s in all"); "" when none did."""
    if not summary.get("failed_bytes_sent"):
        return ""
    return (
        f"migrations that failed or were aborted sent {size(summary['failed_bytes_sent'])} of "
        f"the total and ran {duration(summary['failed_migration_s'])} in all"
    )
