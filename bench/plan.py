"""How long a plan takes, per shipped preset, with and without the binding-limit sensitivity.
Prints one JSON line.

    python bench/plan.py [--preset NAME ...]

``plan_s``: ``plan(scenario, sensitivity=False)`` (the engine's prediction: one run on the
scenario's own seed, plus two more seeds up to 3,000 VMs); ``plan_with_sensitivity_s``: the
whole plan as the CLI and the web compute it (one more run per relaxation, on a slice above
``binding.SLICE_VMS`` VMs in scope). Wall-clock seconds on this machine, one process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from migrationsim.fleet.plan import plan  # noqa: E402
from migrationsim.fleet.text import PRESET_NAMES, preset_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", action="append", choices=PRESET_NAMES)
    args = parser.parse_args()
    out = {}
    for name in args.preset or PRESET_NAMES:
        start = time.perf_counter()
        quick = plan(preset_scenario(name), sensitivity=False)
        plan_s = time.perf_counter() - start
        start = time.perf_counter()
        full = plan(preset_scenario(name))
        full_s = time.perf_counter() - start
        binding = full["binding_limit"]
        out[name] = {
            "vms": quick["vms"],
            "plan_s": round(plan_s, 2),
            "plan_with_sensitivity_s": round(full_s, 2),
            "relaxed_runs": sum(1 for r in binding["table"] if r["rerun"]),
            "sliced": binding["method"].startswith("a slice"),
            "makespan_s": round(full["makespan_s"], 1),
            "binding": binding["name"],
        }
    print(json.dumps({"load_1min": round(os.getloadavg()[0], 2), "presets": out}))


if __name__ == "__main__":
    main()
