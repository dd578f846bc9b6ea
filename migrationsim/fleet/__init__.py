"""The fleet: maintenance events evacuate hosts of a zone; many VMs migrate at once.

    from migrationsim.fleet import load_scenario, FleetRun, summarize
    run = FleetRun(load_scenario("demo")).run()
    print(summarize(run)["blackout_p99_s"])

Modules: scenario.py (the schema and its validation), text.py (scenario JSON/YAML, presets),
build.py and model.py (racks, hosts, VMs), kernel.py (the event heap and stream), engine.py
(the fleet model: each VM's phases), rollout.py (an event's hosts, waves, window),
placement.py and scoring.py (targets and why not), network.py (links and max-min fair sharing),
reasons.py (every explanation), plan.py (the dry run), frames.py (progress for a browser),
summary.py and export.py (results), single_vm.py, realtime.py (wall-clock rehearsals).
"""

from .engine import FleetRun, VmRecord, run_scenario
from .rollout import planned_waves
from .scenario import Scenario, ScenarioError, parse_scenario
from .summary import summarize
from .text import PRESET_NAMES, load_scenario

__all__ = [
    "FleetRun",
    "PRESET_NAMES",
    "planned_waves",
    "Scenario",
    "ScenarioError",
    "VmRecord",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "summarize",
]
