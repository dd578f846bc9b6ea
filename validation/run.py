"""Run every validation case against real QEMU and compare with the model (docs/validation.md).

    python -m validation.run                 # calibrate, all cases x3, write results.json, print
    python -m validation.run --cases idle,seq-8M --repetitions 1
    python -m validation.run --from-results validation/results.json   # re-analyse, no QEMU

Needs Debian's qemu-system-x86 and gcc (multilib -m32). It takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from migrationsim.layout import WIRE_COST_BYTES

from .cases import CASES, CASES_BY_NAME, Case
from .compare import Link, compare_case, measured_from_record, predict, summary
from .harness import (
    build_guest,
    device_state_bytes,
    migrate_to_socket_sink,
    qemu_version,
    run_migration,
    sender_run,
)
from .qmp import stop_span_s
from .sockets import send_buffer_from_runs

RESULTS = Path(__file__).parent / "results.json"
ZERO_PAGE_WIRE_BYTES = WIRE_COST_BYTES["qemu"]["zero"]
UNCAPPED_BPS = 100 * 10**9  # QEMU's max-bandwidth far above what loopback carries


# The calibrations' downtime limit: 1 ms keeps QEMU's threshold (the bandwidth x the limit) below
# what is pending until the pass is over, so pre-copy carries every page (with 300 ms an
# uncapped migration may stop after its first window and send the rest, zero pages included, in
# the downtime, where QEMU's counters do not say which pages went when).
CALIBRATION_DOWNTIME_LIMIT_MS = 1


def calibration_case() -> Case:
    return replace(
        CASES_BY_NAME["write-once-64M"],
        name="calibration-uncapped",
        max_bandwidth_bps=UNCAPPED_BPS,
        downtime_limit_ms=CALIBRATION_DOWNTIME_LIMIT_MS,
    )


def page_time_case() -> Case:
    """An idle guest four times the cases' size, uncapped: a pass of 131,000 zero pages, whose
    time is the migration thread's (testing each page), not the link's. It is none of the
    cases: a property of the host, measured once for all of them like the link."""
    return replace(
        CASES_BY_NAME["idle"],
        name="calibration-page-time",
        max_bandwidth_bps=UNCAPPED_BPS,
        downtime_limit_ms=CALIBRATION_DOWNTIME_LIMIT_MS,
        memory_mib=512,
    )


WINDOW_CALIBRATION_BPS = 512 * 1024  # 52,428.8 B a window: the big idle guest's pass, 31.5 windows


def wake_latency_case() -> Case:
    """The big idle guest capped at 512 KiB/s: a pass of 31 windows that each end asleep (the
    thread sends 52 kB of zero-page markers in a millisecond, then sleeps to the window's end),
    then half a window. Its pre-copy lasts 3.1 s plus 31 times the host's wake-up latency. It
    is none of the cases (no case is capped below 16 MiB/s): measured once for all of them."""
    return replace(
        page_time_case(), name="calibration-wake-latency", max_bandwidth_bps=WINDOW_CALIBRATION_BPS
    )


def solve_wake_latency(records: list[dict], link: Link) -> float:
    """How late the thread wakes from a rate-limit sleep, from the capped idle migrations
    (``wake_latency_case``), the median of their runs: each run's time (its MIGRATION events)
    beyond the model's on-time prediction for the same guest and link, over the number of
    windows that end asleep (the model's time grows by exactly that many latencies)."""
    case = wake_latency_case()
    latencies = []
    for record in records:
        measured = measured_from_record(record)
        on_time = predict(case, measured, link).time_s
        probe_s = 0.001
        sleeps = predict(case, measured, replace(link, wake_latency_s=probe_s)).time_s - on_time
        sleeps /= probe_s
        if sleeps < 1.0:
            raise ValueError("the wake-up calibration had no window that ended asleep")
        latencies.append((measured.time_s - on_time) / sleeps)
    latency_s = statistics.median(latencies)
    if not latency_s >= 0.0:
        raise ValueError(
            f"the wake-up calibration ran {-latency_s * 1e6:.0f} us a window faster than its "
            "windows allow: run it again on a quiet host"
        )
    return latency_s


def solve_stop_time(calibration: dict, link: Link) -> float | None:
    """The source's own work once the guest is stopped, from the calibration migrations (none
    of the cases; each sends nothing in its final copy but the device state): the span from
    the source's ``STOP`` event to its ``completed`` (``qmp.stop_span_s``) beyond what the
    model's source downtime is for the same run without it (the device state into the socket),
    the median over the runs. None for recordings made without QMP events."""
    spans = []
    for case, key in (
        (calibration_case(), "link_runs"),
        (page_time_case(), "page_time_runs"),
        (wake_latency_case(), "wake_latency_runs"),
    ):
        for record in calibration.get(key, []):
            span_s = stop_span_s((record.get("events") or {}).get("source", []))
            if span_s is None:
                continue
            measured = measured_from_record(record)
            spans.append(
                span_s - predict(case, measured, replace(link, stop_time_s=0.0)).blackout_s
            )
    if not spans:
        return None
    stop_s = statistics.median(spans)
    if not stop_s >= 0.0:
        raise ValueError(
            f"the calibrations stopped {-stop_s * 1e6:.0f} us faster than their device state "
            "can be written: run them again on a quiet host"
        )
    return stop_s


def _precopy_s(answer: dict) -> float:
    return (answer["total-time"] - answer["setup-time"] - answer["downtime"]) / 1000.0


def _zero_and_other_bytes(answer: dict) -> tuple[int, int]:
    """(zero pages, wire bytes of everything else) of a migration's pre-copy."""
    zero = int(answer["ram"]["duplicate"])
    return zero, int(answer["ram"]["precopy-bytes"]) - zero * ZERO_PAGE_WIRE_BYTES


def solve_link_and_page_time(
    link_answers: list[dict], page_answers: list[dict]
) -> tuple[float, float]:
    """(link rate in bytes/s, time per page in s) from two kinds of uncapped migration whose
    pre-copy takes ``zero pages x page time + other wire bytes / link`` (a zero page's 9 B
    take less than the thread's test at these rates; a written page's 4104 B far more): the
    write-once guest (mostly link) and the big idle guest (mostly page time), each the median
    of its runs, solved as two equations in two unknowns."""
    for answer in (*link_answers, *page_answers):
        if answer["ram"]["precopy-bytes"] != answer["ram"]["transferred"]:
            raise ValueError(
                "a calibration migration sent pages in its downtime (precopy-bytes "
                f"{answer['ram']['precopy-bytes']} of {answer['ram']['transferred']}): "
                "which of them were zero pages is unknown, so its pre-copy time cannot be split"
            )
    z1, n1 = map(statistics.median, zip(*map(_zero_and_other_bytes, page_answers), strict=True))
    t1 = statistics.median(map(_precopy_s, page_answers))
    z2, n2 = map(statistics.median, zip(*map(_zero_and_other_bytes, link_answers), strict=True))
    t2 = statistics.median(map(_precopy_s, link_answers))
    det = z1 * n2 - z2 * n1  # [z1 n1; z2 n2] [page time; 1 / link] = [t1; t2]
    page_time_s = (t1 * n2 - t2 * n1) / det
    seconds_per_byte = (z1 * t2 - z2 * t1) / det
    if not (page_time_s >= 0.0 and seconds_per_byte > 0.0):
        raise ValueError(
            f"the calibrations disagree (time per page {page_time_s * 1e9:.0f} ns, link "
            f"{1e-6 / seconds_per_byte:.0f} MB/s): run them again on a quiet host"
        )
    return 1.0 / seconds_per_byte, page_time_s


def uncapped_rate_bps(answers: list[dict]) -> float:
    """RAM bytes over pre-copy time of uncapped migrations, median."""
    rates = []
    for answer in answers:
        seconds = (answer["total-time"] - answer["setup-time"] - answer["downtime"]) / 1000.0
        rates.append(answer["ram"]["precopy-bytes"] / seconds)
    return statistics.median(rates)


def link_from_calibration(calibration: dict) -> Link:
    """The loopback's rate and the thread's time per page: uncapped write-once and big idle
    migrations to a destination QEMU (``solve_link_and_page_time``); the device state measured
    through a file. Recordings without the idle runs give the link alone (page time 0)."""
    link_answers = [r["query_migrate"] for r in calibration["link_runs"]]
    if "page_time_runs" not in calibration:
        return Link(
            rate_bps=uncapped_rate_bps(link_answers),
            device_state_bytes=calibration["device_state_bytes"],
        )
    rate_bps, page_time_s = solve_link_and_page_time(
        link_answers, [r["query_migrate"] for r in calibration["page_time_runs"]]
    )
    link = Link(
        rate_bps=rate_bps,
        device_state_bytes=calibration["device_state_bytes"],
        page_time_s=page_time_s,
    )
    # the source's own speed into a socket whose reader keeps up (recordings of session 16's
    # first run have only the pipe into `cat`)
    senders = calibration.get("socket_sender_runs") or calibration.get("sender_runs")
    if "socket_buffer_runs" in calibration and senders:
        # the socket's buffer as the calibration streams left it, and the source's own speed:
        # what QEMU's downtime counter sees of the final copy (point 2)
        link = replace(
            link,
            send_buffer_bytes=send_buffer_from_runs(calibration["socket_buffer_runs"]),
            sender_bps=max(uncapped_rate_bps(senders), link.rate_bps),
        )
    # the stop's own work, beside the device state written as the buffer and sender allow;
    # then the wake-up latency, from a migration whose time holds a stop too
    stop_s = solve_stop_time(calibration, link)
    if stop_s is not None:
        link = replace(link, stop_time_s=stop_s)
    if "wake_latency_runs" in calibration:
        link = replace(
            link, wake_latency_s=solve_wake_latency(calibration["wake_latency_runs"], link)
        )
    return link


def sender_link_from_calibration(calibration: dict, link: Link | None = None) -> Link | None:
    """The source's own speed: uncapped migrations into `cat > /dev/null` (a reader that keeps
    up). Only for the sensitivity table; None in recordings made before it was measured.
    ``link``: the calibration's link, if already solved (its solve runs the model)."""
    if "sender_runs" not in calibration:
        return None
    link = link if link is not None else link_from_calibration(calibration)
    # the whole stream at the source's speed: no buffer to fill first
    return replace(
        link,
        rate_bps=uncapped_rate_bps(calibration["sender_runs"]),
        send_buffer_bytes=0.0,
        sender_bps=None,
    )


def measure(cases: list[Case], repetitions: int, accel: str = "tcg") -> dict:
    with tempfile.TemporaryDirectory(prefix="mig-validation-guest-") as tmp:
        guest = build_guest(Path(tmp))
        calibration = {
            "link_runs": [
                run_migration(calibration_case(), guest, accel) for _ in range(repetitions)
            ],
            "page_time_runs": [
                run_migration(page_time_case(), guest, accel) for _ in range(repetitions)
            ],
            "wake_latency_runs": [
                run_migration(wake_latency_case(), guest, accel) for _ in range(repetitions)
            ],
            "device_state_bytes": device_state_bytes(CASES_BY_NAME["idle"], guest, accel),
            "sender_runs": [
                sender_run(CASES_BY_NAME["write-once-64M"], guest, UNCAPPED_BPS, accel)
                for _ in range(repetitions)
            ],
            # the source alone into a socket that a reader empties as fast as it can
            "socket_sender_runs": [
                migrate_to_socket_sink(CASES_BY_NAME["write-once-64M"], guest, UNCAPPED_BPS, accel)
                for _ in range(repetitions)
            ],
            # the link's calibration again, reading the socket's buffers as it streams (apart:
            # the reads cost CPU, and the link's own runs must not pay for them)
            "socket_buffer_runs": [
                run_migration(calibration_case(), guest, accel, sample_socket=True)
                for _ in range(repetitions)
            ],
        }
        records: dict[str, list[dict]] = {case.name: [] for case in cases}
        for repetition in range(repetitions):
            for case in cases:
                print(f"[{repetition + 1}/{repetitions}] {case.name}", file=sys.stderr, flush=True)
                records[case.name].append(run_migration(case, guest, accel))
    return {
        "qemu": qemu_version(),
        "accel": accel,
        "calibration": calibration,
        "records": records,
    }


def analyse(measurements: dict) -> dict:
    link = link_from_calibration(measurements["calibration"])
    sender = sender_link_from_calibration(measurements["calibration"], link)
    rows = [
        compare_case(CASES_BY_NAME[name], records, link, sender)
        for name, records in measurements["records"].items()
    ]
    return {
        "link": {
            "rate_bps": link.rate_bps,
            "device_state_bytes": link.device_state_bytes,
            "page_time_s": link.page_time_s,
            # None in recordings made before it was measured
            "wake_latency_s": (
                link.wake_latency_s if "wake_latency_runs" in measurements["calibration"] else None
            ),
            # None in recordings made before it was measured
            "send_buffer_bytes": link.send_buffer_bytes or None,
            "sender_bps": link.sender_bps,
            # None in recordings made before it was measured (no QMP events)
            "stop_time_s": link.stop_time_s or None,
        },
        "sender_rate_bps": sender.rate_bps if sender else None,
        "rows": rows,
        "summary": summary(rows),
    }


def table(analysis: dict) -> str:
    """The table of docs/validation.md: QEMU's median [min-max] of the repetitions, the model,
    the error of the model against the median."""
    lines = [
        "| case | writes/s (guest) | time s: QEMU | model | err | RAM MB: QEMU | model | err "
        "| pre-copy MB: QEMU | model | err | syncs: QEMU / model | blackout ms: QEMU | model "
        "| guest pause ms: QEMU | model | converged: QEMU / model |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in analysis["rows"]:
        m, p, e = row["measured"], row["predicted"], row["errors"]
        t, b, c, s, w = (
            m["time_s"],
            m["ram_bytes"],
            m["precopy_bytes"],
            m["syncs"],
            m["page_writes_per_s"],
        )
        blackout = (
            f"{m['blackout_s'][0] * 1e3:.0f} [{m['blackout_s'][1] * 1e3:.0f}-"
            f"{m['blackout_s'][2] * 1e3:.0f}] | {p['blackout_s'] * 1e3:.1f}"
            if m["blackout_s"]
            else f"- | {p['blackout_s'] * 1e3:.1f}"
        )
        syncs = f"{s[0]:.0f} [{s[1]}-{s[2]}] / {p['syncs']:.0f}"
        pause = m.get("pause_s")
        pause = (
            f"{pause[0] * 1e3:.0f} [{pause[1] * 1e3:.0f}-{pause[2] * 1e3:.0f}]" if pause else "-"
        )
        pause += f" | {p['pause_s'] * 1e3:.1f}"
        converged = (
            f"{sum(m['converged'])}/{len(m['converged'])} / "
            f"{sum(p['converged'])}/{len(p['converged'])} ({p['stop_reason']})"
        )
        lines.append(
            f"| {row['case']} | {w[0]:.0f} | {t[0]:.3f} [{t[1]:.3f}-{t[2]:.3f}] | "
            f"{p['time_s']:.3f} | {e['time'] * 100:+.1f} % | {_mb(b)} | "
            f"{p['ram_bytes'] / 1e6:.2f} | {e['bytes'] * 100:+.1f} % | {_mb(c)} | "
            f"{p['precopy_bytes'] / 1e6:.2f} | {e['precopy_bytes'] * 100:+.1f} % | {syncs} | "
            f"{blackout} | {pause} | {converged} |"
        )
    s = analysis["summary"]
    lines.append("")
    lines.append(
        f"Mean |error|: time {s['mean_time_error'] * 100:.1f} %, bytes "
        f"{s['mean_bytes_error'] * 100:.1f} %. Worst: time {s['worst_time_error'] * 100:.1f} %, "
        f"bytes {s['worst_bytes_error'] * 100:.1f} %. Blackouts within 20 % or 2 ms: "
        f"{s['blackouts_on_target']}/{s['blackouts']}. Outcomes agree: "
        f"{s['outcomes_agree']}/{s['cases']}. Link (loopback, measured): "
        f"{analysis['link']['rate_bps'] / 1e6:.0f} MB/s, device state "
        f"{analysis['link']['device_state_bytes']} B, time per page "
        f"{analysis['link'].get('page_time_s', 0.0) * 1e9:.0f} ns{_wake_latency(analysis['link'])}."
    )
    return "\n".join(lines)


def _wake_latency(link: dict) -> str:
    latency_s = link.get("wake_latency_s")
    words = "" if latency_s is None else f", wake-up latency {latency_s * 1e6:.0f} us a window"
    buffer_bytes = link.get("send_buffer_bytes")
    if buffer_bytes:
        words += f", socket buffer {buffer_bytes / 1e6:.2f} MB"
        if link.get("sender_bps"):
            words += f" filled at {link['sender_bps'] / 1e6:.0f} MB/s"
    stop_s = link.get("stop_time_s")
    if stop_s:
        words += f", stop {stop_s * 1e3:.2f} ms"
    return words


def sensitivity_table(analysis: dict) -> str:
    """The model again with the link at the source's own speed (what the socket buffer hides):
    not the validation, a check of which mechanism the errors come from."""
    if not analysis.get("sender_rate_bps"):
        return ""
    lines = [
        f"| case | time s: QEMU median [min] | model, link {analysis['link']['rate_bps'] / 1e6:.0f}"
        f" MB/s | model, link {analysis['sender_rate_bps'] / 1e6:.0f} MB/s | blackout ms: QEMU "
        "median | model, sustained link (and buffer) | model, sender's speed |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in analysis["rows"]:
        m, p, q = row["measured"], row["predicted"], row["predicted_at_sender_speed"]
        blackout = f"{m['blackout_s'][0] * 1e3:.0f}" if m["blackout_s"] else "-"
        lines.append(
            f"| {row['case']} | {m['time_s'][0]:.3f} [{m['time_s'][1]:.3f}] | {p['time_s']:.3f} | "
            f"{q['time_s']:.3f} | {blackout} | {p['blackout_s'] * 1e3:.1f} | "
            f"{q['blackout_s'] * 1e3:.1f} |"
        )
    return "\n".join(lines)


def run_name(path: Path) -> str:
    """A recording's name in the run-to-run table: the published one is ``published``."""
    return "published" if path.resolve() == RESULTS.resolve() else path.stem


def runs_table(runs: list[tuple[str, dict]]) -> str:
    """The same cases in several recorded runs, side by side (each run predicted with its own
    calibration): QEMU's median and the model's, time and blackout, then each run's summary.
    How far QEMU's own medians move from run to run is the floor under any model's error."""
    names = [name for name, _ in runs]
    lines = [
        "| case | "
        + " | ".join(f"time s: {n} (QEMU / model)" for n in names)
        + " | "
        + " | ".join(f"blackout ms: {n} (QEMU / model)" for n in names)
        + " |",
        "|---|" + "---|" * (2 * len(runs)),
    ]
    rows_by_run = [{row["case"]: row for row in analysis["rows"]} for _, analysis in runs]
    for case in rows_by_run[0]:
        rows = [by_case.get(case) for by_case in rows_by_run]
        times = [
            f"{r['measured']['time_s'][0]:.3f} / {r['predicted']['time_s']:.3f}" if r else "-"
            for r in rows
        ]
        blackouts = [
            f"{r['measured']['blackout_s'][0] * 1e3:.0f} / {r['predicted']['blackout_s'] * 1e3:.1f}"
            if r and r["measured"]["blackout_s"]
            else "-"
            for r in rows
        ]
        lines.append(f"| {case} | " + " | ".join(times + blackouts) + " |")
    lines.append("")
    for name, analysis in runs:
        s, link = analysis["summary"], analysis["link"]
        lines.append(
            f"- {name}: mean |error| time {s['mean_time_error'] * 100:.1f} %, bytes "
            f"{s['mean_bytes_error'] * 100:.1f} %; blackouts within 20 % or 2 ms "
            f"{s['blackouts_on_target']}/{s['blackouts']}; outcomes {s['outcomes_agree']}/"
            f"{s['cases']}; link {link['rate_bps'] / 1e6:.0f} MB/s, time per page "
            f"{link.get('page_time_s', 0.0) * 1e9:.0f} ns{_wake_latency(link)}."
        )
    return "\n".join(lines)


def _mb(values: tuple) -> str:
    return f"{values[0] / 1e6:.2f} [{values[1] / 1e6:.2f}-{values[2] / 1e6:.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--from-results", type=Path, help="recompute from a recorded results.json")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--runs",
        type=Path,
        nargs="+",
        metavar="RESULTS",
        help="compare recorded runs side by side (no QEMU): the run-to-run table",
    )
    parser.add_argument(
        "--accel",
        choices=("tcg", "kvm"),
        default="tcg",
        help="QEMU's accelerator: tcg (any host) or kvm (where /dev/kvm works)",
    )
    args = parser.parse_args(argv)
    if args.runs:
        runs = [
            (run_name(path), analyse(json.loads(path.read_text())["measurements"]))
            for path in args.runs
        ]
        print(runs_table(runs))
        return 0
    if args.from_results:
        measurements = json.loads(args.from_results.read_text())["measurements"]
    else:
        names = args.cases.split(",") if args.cases else [case.name for case in CASES]
        measurements = measure([CASES_BY_NAME[n] for n in names], args.repetitions, args.accel)
        args.output.write_text(json.dumps({"measurements": measurements}, indent=1) + "\n")
    analysis = analyse(measurements)
    output = args.from_results or args.output  # a recomputed analysis replaces the recorded one
    output.write_text(
        json.dumps({"measurements": measurements, "analysis": analysis}, indent=1) + "\n"
    )
    print(table(analysis))
    sensitivity = sensitivity_table(analysis)
    if sensitivity:
        print()
        print(sensitivity)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
