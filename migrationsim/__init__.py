"""migrationsim: how a cloud moves a running VM out of the way of maintenance.

Pure Python (numpy for the per-page model), no web framework. Start here:

    from migrationsim import build_spec, simulate
    result = simulate(build_spec(memory="8GiB", workload="oltp", policy="qemu"))
    print(result.to_dict()["blackout_s"])

Where each phase lives: notice.py (guest notice), precopy.py + policies.py (pre-migration
brownout), switchover.py (blackout, post-copy), forwarding.py (post-migration brownout),
phases.py (the timeline), memory_fluid.py / memory_pages.py (guest memory and dirtying).
"""

# first: importing native decides, per module, compiled or source (a compiled module is used
# only while it matches its source)
from . import native  # noqa: F401

# isort: split
from .baselines import cloudsim_migration_time_s
from .errors import InvalidParameter
from .migration import MigrationResult, simulate, stream
from .policies import qemu_threshold_bytes
from .spec import PARAMETERS, MigrationSpec, build_spec
from .workload import PRESETS

__all__ = [
    "InvalidParameter",
    "MigrationResult",
    "MigrationSpec",
    "PARAMETERS",
    "PRESETS",
    "build_spec",
    "cloudsim_migration_time_s",
    "qemu_threshold_bytes",
    "simulate",
    "stream",
]
