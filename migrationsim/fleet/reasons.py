"""Why a VM waits, was not placed, or did not move: stable codes and plain sentences.

One place for every explanation the fleet engine gives (events, summaries and the UI use the
codes; people read the sentences)."""

# Waiting in the queue
CAP_SOURCE_HOST = "cap_source_host"
CAP_TARGET_HOST = "cap_target_host"
CAP_RACK = "cap_rack"
CAP_CUSTOMER = "cap_customer"
CAP_GLOBAL = "cap_global"
OUTSIDE_WINDOW = "outside_window"
NO_TARGET = "no_target"
HEAD_OF_LINE = "head_of_line"

# Placement: why a candidate host was rejected
HOST_IN_MAINTENANCE = "host_in_maintenance"
HOST_FAILED = "host_failed"
NO_CAPACITY = "no_capacity"
HEADROOM = "headroom"
ANTI_AFFINITY = "anti_affinity"
SAME_HOST = "same_host"

# Failures and outcomes
AUTH_FAILED = "auth_failed"
TARGET_FAILED = "target_failed"
SOURCE_FAILED = "source_failed"
NOT_MIGRATABLE = "not_migratable"
DEADLINE = "deadline"
NO_RESTART_CAPACITY = "no_restart_capacity"
RESTARTED_ELSEWHERE = "restarted_elsewhere"  # after a crash or a termination (automaticRestart)
# the run stopped at its ceiling (kernel.py) with the VM not done
UNDER_WAY_AT_CEILING = "under_way_at_ceiling"
RESTART_UNDER_WAY_AT_CEILING = "restart_under_way_at_ceiling"
NOT_REACHED_AT_CEILING = "not_reached_at_ceiling"
# the run ended, nothing left that could happen, with its host's maintenance still to take it
NOT_REACHED = "not_reached"

SENTENCES = {
    CAP_SOURCE_HOST: "its host already has {cap} migrations leaving (per-host cap)",
    CAP_TARGET_HOST: "every fitting target already has {cap} migrations arriving (per-target cap)",
    CAP_RACK: "its rack already has {cap} migrations leaving (per-rack cap)",
    CAP_CUSTOMER: "its customer already has {cap} migrations under way (per-customer cap)",
    CAP_GLOBAL: "{cap} migrations are already under way in the zone (global cap)",
    OUTSIDE_WINDOW: "the maintenance window is closed; it opens at t={opens:.0f} s",
    NO_TARGET: "no host can take it: {detail}",
    HEAD_OF_LINE: "it waits behind {head} in its host's queue, which is blocked ({reason})",
    HOST_IN_MAINTENANCE: "the host is under or scheduled for maintenance",
    HOST_FAILED: "the host has failed",
    NO_CAPACITY: "the host lacks free vCPUs or memory",
    HEADROOM: "the host would eat into the capacity headroom that must stay free",
    ANTI_AFFINITY: "the host runs a VM of the same anti-affinity group",
    SAME_HOST: "it is the VM's own host",
    AUTH_FAILED: "source and target failed to authenticate; trying another target",
    TARGET_FAILED: "the target host failed before the switch; the VM stays on its source",
    SOURCE_FAILED: "the source host failed during the migration; the VM crashed",
    NOT_MIGRATABLE: "it cannot be live-migrated: it {why}",
    DEADLINE: "the maintenance deadline passed before it could move; its host was rebooted",
    NO_RESTART_CAPACITY: "no host had room to restart it",
    RESTARTED_ELSEWHERE: "restarted on another host",
    UNDER_WAY_AT_CEILING: "its migration was still under way when the run stopped at its ceiling",
    RESTART_UNDER_WAY_AT_CEILING: (
        "its restart on another host was still under way when the run stopped at its ceiling"
    ),
    NOT_REACHED_AT_CEILING: (
        "the run stopped at its ceiling before its host's maintenance took the host"
    ),
    NOT_REACHED: (
        "its host's maintenance never took the host: the rollout was still waiting for hosts "
        "ahead of it (never emptied) when the run ended"
    ),
}

PLACEMENT_REJECTIONS = (
    HOST_IN_MAINTENANCE,
    HOST_FAILED,
    NO_CAPACITY,
    HEADROOM,
    ANTI_AFFINITY,
    CAP_TARGET_HOST,
    SAME_HOST,
)


def sentence(code: str, **values) -> str:
    return SENTENCES[code].format(**values)


def explain_rejections(counts: dict[str, int]) -> str:
    """'of 64 candidates: 40 lack capacity, 24 are in maintenance' from rejection counts."""
    total = sum(counts.values())
    short = {
        HOST_IN_MAINTENANCE: "in maintenance",
        HOST_FAILED: "failed",
        NO_CAPACITY: "lack capacity",
        HEADROOM: "would break the headroom",
        ANTI_AFFINITY: "hold its anti-affinity group",
        CAP_TARGET_HOST: "are at their arrivals cap",
        SAME_HOST: "its own host",
    }
    parts = [f"{n} {short[code]}" for code, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    return f"of {total} candidates, " + ", ".join(parts) if parts else "no candidate hosts"


# A host the maintenance goes on without: a VM of it would not move and keeps running there
VM_STAYS = "vm_stays"
SENTENCES[VM_STAYS] = "{vms} could not be migrated ({reason}) and {keep} running on it"
