"""The guest notice: GCE's ``maintenance-event`` metadata key.

The key turns to ``MIGRATE_ON_HOST_MAINTENANCE`` 60 s before a live migration, but only for a
guest that has read the key since the last event; otherwise there is no warning and migration
starts at once. VMs with GPUs or TPUs cannot live-migrate: they get
``TERMINATE_ON_HOST_MAINTENANCE`` 60 minutes ahead and are stopped (restarted elsewhere if
``automaticRestart``). The key returns to ``NONE`` when the event is over.
"""

from __future__ import annotations

NONE = "NONE"
MIGRATE = "MIGRATE_ON_HOST_MAINTENANCE"
TERMINATE = "TERMINATE_ON_HOST_MAINTENANCE"

MIGRATE_NOTICE_S = 60.0
ACCELERATOR_NOTICE_S = 3600.0


def guest_notice(*, guest_watches: bool, accelerator: bool = False) -> tuple[str, float]:
    """(metadata value, seconds of warning) for a VM about to leave its host."""
    if accelerator:
        return TERMINATE, ACCELERATOR_NOTICE_S
    return MIGRATE, (MIGRATE_NOTICE_S if guest_watches else 0.0)
