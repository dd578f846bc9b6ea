"""Speed and memory of the single-VM model. Prints one JSON object.

    python bench/precopy.py [--seconds 2] [--pages-workload oltp]

- fluid: migrations simulated per CPU second on one core (4 GiB guest, qemu defaults, 10 Gbit/s):
  ``fluid_migrations_per_s`` for the six presets the simulation-core issue names (idle, web,
  oltp, cache, analytics, muncher) run in turn; the same with every preset, ingest included
  (``fluid_migrations_per_s_all_presets``: ingest's ring buffer sits just above QEMU's
  threshold, so QEMU re-syncs every ~80 ms until the 600 s timeout, 7,000+ rounds, each one
  simulated); each preset alone; and rounds per second;
- which of the pre-copy loop's modules ran compiled (``model_modules``, migrationsim/native.py);
- pages: wall time of one 16 GiB and one 64 GiB migration (and their CPU time, ``cpu_s``, which
  other load on a shared machine inflates less), and the dirty bitmap's bytes per page (plus the
  peak of everything numpy allocated, per page, measured with tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from migrationsim import PRESETS, build_spec, native, simulate  # noqa: E402
from migrationsim.migration import new_memory  # noqa: E402

# The presets the simulation-core issue lists; ``ingest`` came later, to show QEMU re-syncing
# every window when pending hovers just above the threshold.
ISSUE_PRESETS = ("idle", "web", "oltp", "cache", "analytics", "muncher")


def rate(specs, seconds: float) -> tuple[float, float]:
    """(migrations per second, rounds per second) on one core, for ``specs`` in turn.
    Seconds of this process's CPU time: other work sharing the machine does not count."""
    done = rounds = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for spec in specs:
            rounds += sum(r.repeat for r in simulate(spec).rounds)  # summarised rounds count
        done += len(specs)
    elapsed = time.process_time() - start
    return done / elapsed, rounds / elapsed


def pages_run(memory: str, workload: str) -> dict:
    spec = build_spec(memory=memory, workload=workload, resolution="pages", seed=1)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = simulate(spec)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    tracemalloc.start()
    simulate(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    memory_model, _ = new_memory(spec)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),  # this process's CPU time: less inflated by other load
        "live_rounds": result.precopy.live_rounds,
        "stop_reason": result.stop.reason,
        "bitmap_bytes_per_page": memory_model.bitmap.nbytes / spec.memory_pages,
        "peak_bytes_per_page": round(peak / spec.memory_pages, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per fluid measurement")
    parser.add_argument("--pages-workload", default="oltp", choices=sorted(PRESETS))
    args = parser.parse_args()

    by_preset = {
        name: round(rate([build_spec(workload=name)], args.seconds / 2)[0]) for name in PRESETS
    }
    issue_mix, _ = rate([build_spec(workload=name) for name in ISSUE_PRESETS], args.seconds)
    mix, mix_rounds = rate([build_spec(workload=name) for name in PRESETS], args.seconds)
    converging = [n for n in PRESETS if simulate(build_spec(workload=n)).stop.converged]
    converging_mix, _ = rate([build_spec(workload=name) for name in converging], args.seconds)
    results = {n: simulate(build_spec(workload=n)) for n in PRESETS}
    rounds_by_preset = {n: sum(x.repeat for x in r.rounds) for n, r in results.items()}
    records_by_preset = {n: len(r.rounds) for n, r in results.items()}
    pages_16 = pages_run("16GiB", args.pages_workload)
    pages_64 = pages_run("64GiB", args.pages_workload)
    print(
        json.dumps(
            {
                "fluid_migrations_per_s": round(issue_mix),
                "fluid_presets": list(ISSUE_PRESETS),
                "fluid_migrations_per_s_all_presets": round(mix),
                "fluid_migrations_per_s_by_preset": by_preset,
                "fluid_rounds_by_preset": rounds_by_preset,
                "fluid_round_records_by_preset": records_by_preset,  # entries in the JSON (summarised)
                "fluid_rounds_per_s": round(mix_rounds),
                "fluid_converging_presets": converging,
                "fluid_migrations_per_s_converging_presets": round(converging_mix),
                "pages_workload": args.pages_workload,
                "pages_16gib_s": pages_16["wall_s"],
                "pages_64gib_s": pages_64["wall_s"],
                "pages_64gib_cpu_s": pages_64["cpu_s"],
                "pages_bitmap_bytes_per_page": pages_64["bitmap_bytes_per_page"],
                "pages_peak_bytes_per_page": pages_64["peak_bytes_per_page"],
                "pages_16gib": pages_16,
                "pages_64gib": pages_64,
                "all_presets_to_converging_ratio": round(mix / converging_mix, 3),
                # compiled or from source, per module (migrationsim/native.py; MIGRATIONSIM_PURE=1
                # measures the source alone)
                "model_modules": native.status(),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "targets": {
                    "fluid_migrations_per_s": ">= 10000",
                    "pages_16gib_s": "< 1",
                    "pages_64gib_s": "< 4",
                    "pages_bitmap_bytes_per_page": "< 2",
                    "fluid_migrations_per_s_all_presets": ">= 10000 (issue 15)",
                    "all_presets_to_converging_ratio": ">= 0.5 (issue 15)",
                    "fluid_migrations_per_s_converging_presets": ">= 20000 (issue 15)",
                    "pages_64gib_s (issue 15)": "< 0.2",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
