"""Does any single-VM input end within 2 s and under 1 GiB? Issue 15, section 3. Prints one JSON
object as its last line.

    python bench/hostile_guests.py [--cases 200] [--seed 1] [--timeout 120]

Each case is one ``python -m migrationsim migrate ... --json`` in a process of its own, as a
capacity planner would type it; its wall time and peak RSS (``wait4``) are measured. Cases:

- ``named``: the absurd guests the issue and the notes name (16 TiB at 1 bit/s with a 1e30 s
  timeout; the web workload at 10 MB/s with no deadline; oltp hovering above the threshold
  behind a cap; guests whose rounds cycle through QEMU's window; and the kind still slow: the
  hovering oltp guest with a deadline 3.5 days away, its rounds simulated one by one);
- ``no_deadline``: random guests (a preset workload, 256 MiB-16 GiB, a cap of 1-100 MB/s, the
  link at 1-4x the cap, any downtime limit) with no operator's deadline within the year: the
  ones that never converge are what cost;
- ``any_number``: random numbers for up to five parameters anywhere in 0..1e308, as the
  property test draws them (refused ones exit 2 naming the flag, and count too).

``seconds`` is wall time including the interpreter's start (about 0.25 s here); a case that
runs past ``--timeout`` is killed and counted in ``killed``. Keys: ``cases``, ``max_seconds``,
``p99_seconds``, ``median_seconds``, ``max_rss_mib``, ``over_2s`` (each case over 2 s: its
arguments, seconds and outcome), ``over_1gib``, ``killed``, ``stop_reasons`` (how many ended
each way) and ``targets`` (each met or not).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NAMED = [
    args.split()
    for args in (
        "--memory 16TiB --bandwidth 1bit/s --completion-timeout 1e30s",
        "--downtime-ramp-delay 1e7 --bandwidth 1e7 --max-bandwidth 1e7 --completion-timeout 1e7",
        "--workload oltp --memory 1GiB --bandwidth 63443881.1 --max-bandwidth 63443881.1 "
        "--downtime-limit 0.985 --completion-timeout 1e30",
        "--workload oltp --memory 4GiB --bandwidth 143834211.6 --max-bandwidth 71917105.8 "
        "--downtime-limit 0.1789 --completion-timeout 1e30",
        "--max-bandwidth 1e6 --bandwidth 1e6 --working-set 1e6 --completion-timeout 1e30",
        "--memory 4096 --bandwidth 4096 --max-bandwidth 4096 --completion-timeout 1e30",
        # the one kind known to be slow: a finite but absurd deadline (3.5 days) on the guest
        # that hovers above its threshold: its rounds up to the deadline are simulated one by one
        "--workload oltp --memory 1GiB --bandwidth 63443881.1 --max-bandwidth 63443881.1 "
        "--downtime-limit 0.985 --completion-timeout 3e5",
    )
]

WORKLOADS = ("idle", "web", "oltp", "cache", "analytics", "ingest", "muncher")
ANY_NUMBER_FLAGS = (
    "memory", "dirty-rate", "bandwidth", "max-bandwidth", "downtime-limit", "completion-timeout",
    "device-state", "resume-time", "working-set", "zero-fraction", "downtime-ramp-delay",
    "fabric-convergence",
)  # fmt: skip


def no_deadline(rng: random.Random) -> list[str]:
    cap = 10 ** rng.uniform(6, 8)
    return [
        "--workload", rng.choice(WORKLOADS),
        "--memory", rng.choice(["256MiB", "1GiB", "4GiB", "16GiB"]),
        "--max-bandwidth", repr(cap),
        "--bandwidth", repr(cap * rng.choice([1.0, 2.0, 4.0])),
        "--downtime-limit", repr(rng.uniform(0.01, 1.0)),
        "--completion-timeout", "1e30",
    ]  # fmt: skip


def any_number(rng: random.Random) -> list[str]:
    args = []
    for flag in rng.sample(ANY_NUMBER_FLAGS, rng.randint(1, 5)):
        value = rng.choice(
            [0, 1, 4096, 1e-300, 10 ** rng.uniform(-3, 308), 10 ** rng.uniform(0, 12)]
        )
        args += [f"--{flag}", repr(float(value))]
    return args


def run_case(args: list[str], timeout_s: float) -> dict:
    # (to a file: a pipe would fill with a long run's rounds and stop the process)
    with tempfile.TemporaryFile() as out_file:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "migrationsim", "migrate", *args, "--json"],
            cwd=ROOT,
            stdout=out_file,
            stderr=subprocess.DEVNULL,
        )
        killed = False
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline and not killed:
                process.kill()
                killed = True
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        out_file.seek(0)
        out = out_file.read()
    code = os.waitstatus_to_exitcode(status)
    reason = "killed" if killed else "refused (exit 2)" if code == 2 else f"exit {code}"
    if code == 0:
        reason = json.loads(out)["stop_reason"]
    return {
        "args": " ".join(args),
        "seconds": round(seconds, 3),
        "rss_mib": round(usage.ru_maxrss / 1024, 1),
        "stop_reason": reason,
        "killed": killed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="random cases (named ones too)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a kill")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [("named", a) for a in NAMED]
    for i in range(args.cases):
        kind = "no_deadline" if i % 2 == 0 else "any_number"
        cases.append((kind, no_deadline(rng) if kind == "no_deadline" else any_number(rng)))
    results = []
    for kind, case_args in cases:
        result = run_case(case_args, args.timeout)
        result["kind"] = kind
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    seconds = sorted(r["seconds"] for r in results)
    over_2s = [r for r in results if r["seconds"] > 2.0]
    over_1gib = [r for r in results if r["rss_mib"] > 1024]
    max_rss = max(r["rss_mib"] for r in results)
    summary = {
        "cases": len(results),
        "max_seconds": seconds[-1],
        "p99_seconds": seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))],
        "median_seconds": seconds[len(seconds) // 2],
        "max_rss_mib": max_rss,
        "over_2s": over_2s,
        "over_1gib": over_1gib,
        "killed": sum(r["killed"] for r in results),
        "stop_reasons": dict(Counter(r["stop_reason"] for r in results).most_common()),
        "targets": {
            "every case within 2 s": not over_2s,
            "every case under 1 GiB": not over_1gib,
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
