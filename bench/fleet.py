"""The standard evacuation wave, at any size. Prints one JSON object.

    python bench/fleet.py --vms 100000 [--evacuate-fraction 0.1 | --all] [--per-host-cap 2] [--seed 1]
    python bench/fleet.py --vms 1000000 --linear-from 100000   # and the ratio to a smaller fleet

8 VMs per host, 16 hosts per rack, 10 Gbit/s host links, 40 Gbit/s rack uplinks, VM memory
uniform 1-16 GiB, every VM running a workload preset (idle to heavy), the full phase model
(notice, queueing, placement, pre-copy over shared links, blackout, forwarding, cleanup). A
fraction of the racks is evacuated at once (a kernel upgrade), or with --all every host, 10 % of
the hosts at a time (an urgent patch).

With --linear-from N the same wave at N VMs runs too, in a process of its own just before and
just after the measured run (the host's speed drifts over minutes: the two bracket it), and
``wall_ratio`` is ``wall_s`` over the smaller fleet's median time (linear: the ratio of the VMs).

With --repeat K (and --linear-from) the pair is measured K times, interleaved: small, large,
small, large, ..., small, every run in a process of its own. Each large run is divided by the
mean of the two small runs around it (``wall_ratios``); ``wall_ratio`` is their median and
``wall_s`` the large runs' median (``wall_s_runs``), ``peak_rss_mib`` their largest. One run of
a million VMs moves by several per cent from minute to minute on a shared two-core host; the
median of K bracketed ratios moves less, and every figure it comes from is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from migrationsim.fleet import FleetRun, parse_scenario, summarize  # noqa: E402

VMS_PER_HOST = 8
HOSTS_PER_RACK = 16


def standard_wave(
    vms: int, fraction: float, evacuate_all: bool, per_host_cap: int, seed: int
) -> dict:
    racks = max(1, round(vms / (VMS_PER_HOST * HOSTS_PER_RACK)))
    evacuated = max(1, round(racks * fraction))
    if evacuate_all:
        event = {
            "kind": "urgent_patch",
            "scope": {"zone": True},
            "max_hosts_in_maintenance": "10%",
            "host_downtime": "5min",
        }
    else:
        event = {
            "kind": "kernel_upgrade",
            "scope": {"racks": [f"r{i + 1}" for i in range(evacuated)]},
            "max_hosts_in_maintenance": "100%",
            "host_downtime": "5min",
        }
    return {
        "name": "standard-wave",
        "seed": seed,
        "fleet": {
            "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
            "racks": [{"name": "r", "count": racks, "hosts": HOSTS_PER_RACK, "uplink": "40Gbit/s"}],
            "vms": {
                "per_host": VMS_PER_HOST,
                "memory": ["1GiB", "16GiB"],
                "vcpus": [1, 4],
                "mix": {"idle": 0.25, "web": 0.35, "oltp": 0.25, "cache": 0.1, "analytics": 0.05},
                "customers": 100,
            },
        },
        "policy": {"name": "qemu"},
        "caps": {"per_source_host": per_host_cap, "per_target_host": per_host_cap},
        "events": [event],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vms", type=int, default=100_000)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--evacuate-fraction", type=float, default=0.1)
    group.add_argument("--all", action="store_true")
    parser.add_argument("--per-host-cap", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--linear-from", type=int, metavar="N", help="also time N VMs, before and after"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="with --linear-from: K large runs, each bracketed by small ones (median ratio)",
    )
    args = parser.parse_args()
    if args.linear_from is not None and not 0 < args.linear_from <= args.vms:
        parser.error(f"--linear-from: must be between 1 and --vms ({args.vms})")
    if not 1 <= args.repeat <= 20:
        parser.error("--repeat: must be between 1 and 20")
    if args.repeat > 1 and args.linear_from is None:
        parser.error("--repeat: needs --linear-from (it repeats the bracketed pair)")
    if args.repeat > 1:
        print(json.dumps(_repeated(args)))
        return

    smaller_wall_s = [_wall_s_at(args, args.linear_from)] if args.linear_from else []
    start = time.perf_counter()
    scenario = parse_scenario(
        standard_wave(args.vms, args.evacuate_fraction, args.all, args.per_host_cap, args.seed)
    )
    run = FleetRun(scenario, round_events=False).run()  # a summary: rounds counted, not told
    summary = summarize(run)
    wall = time.perf_counter() - start
    peak_rss_mib = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures = {}
    if args.linear_from:
        smaller_wall_s.append(_wall_s_at(args, args.linear_from))
        figures = {
            "linear_from_vms": args.linear_from,
            "linear_from_wall_s": smaller_wall_s,  # before and after the measured run
            "wall_ratio": round(wall / statistics.median(smaller_wall_s), 2),
        }
    print(
        json.dumps(
            {
                "vms": summary["vms"],
                "migrations": summary["migrations"],
                "makespan_s": round(summary["makespan_s"], 1),
                "wall_s": round(wall, 2),
                "peak_rss_mib": peak_rss_mib,
                "evacuated": "all" if args.all else args.evacuate_fraction,
                "per_host_cap": args.per_host_cap,
                "outcomes": summary["outcomes"],
                "blackout_p50_s": summary["blackout_p50_s"],
                "blackout_p99_s": summary["blackout_p99_s"],
                "peak_concurrent_migrations": summary["peak_concurrent_migrations"],
                "wall_s_per_migration_ms": round(1000 * wall / max(1, summary["migrations"]), 3),
                "round_events": False,
                **figures,
            }
        )
    )


def _run_at(args, vms: int) -> dict:
    """The same wave at ``vms`` VMs, run in a process of its own: its figures."""
    command = [sys.executable, os.path.abspath(__file__), "--vms", str(vms)]
    command += ["--all"] if args.all else ["--evacuate-fraction", str(args.evacuate_fraction)]
    command += ["--per-host-cap", str(args.per_host_cap), "--seed", str(args.seed)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _wall_s_at(args, vms: int) -> float:
    return _run_at(args, vms)["wall_s"]


def _repeated(args) -> dict:
    """small, large, small, ..., large, small: each large run over the mean of its neighbours."""
    smaller_wall_s = [_wall_s_at(args, args.linear_from)]
    larger: list[dict] = []
    for _ in range(args.repeat):
        larger.append(_run_at(args, args.vms))
        smaller_wall_s.append(_wall_s_at(args, args.linear_from))
    walls = [run["wall_s"] for run in larger]
    ratios = [
        round(wall / ((smaller_wall_s[i] + smaller_wall_s[i + 1]) / 2), 2)
        for i, wall in enumerate(walls)
    ]
    wall = statistics.median(walls)
    return {
        **larger[0],  # the same wave every time: the same summary figures
        "wall_s": wall,
        "peak_rss_mib": max(run["peak_rss_mib"] for run in larger),
        "wall_s_per_migration_ms": round(1000 * wall / max(1, larger[0]["migrations"]), 3),
        "linear_from_vms": args.linear_from,
        "linear_from_wall_s": smaller_wall_s,  # in the order run, around the large runs
        "wall_s_runs": walls,
        "wall_ratios": ratios,
        "wall_ratio": statistics.median(ratios),
        "repeat": args.repeat,
    }


if __name__ == "__main__":
    main()
