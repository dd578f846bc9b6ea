"""Small fleets for the fleet-engine tests."""

import copy

from migrationsim.fleet import FleetRun, load_scenario, parse_scenario

# What the web's plan page and ``fleet --plan --json`` read: the plan's keys are a contract.
PLAN_KEYS = {
    "name",
    "hosts",
    "vms",
    "racks",
    "hosts_in_scope",
    "vms_in_scope",
    "migrate",
    "terminate",
    "terminate_total",
    "restart_after_terminate",
    "terminate_reasons",
    "events",
    "capacity",
    "policy",
    "eta_s",
    "eta_low_s",
    "eta_high_s",
    "eta_method",
    "not_placed",
    "not_placed_reasons",
    "not_placed_max_over_seeds",
    # the engine's prediction (issue #14): figures, what is not handled, the binding limit
    "makespan_s",
    "migrations",
    "terminations",
    "crashes",
    "outcomes",
    "blackout_p50_s",
    "blackout_p99_s",
    "blackout_max_s",
    "blackout_slo_s",
    "blackout_slo_breaches",
    "peak_concurrent_migrations",
    "queue_wait_p99_s",
    "eta_seeds",
    "not_handled",
    "binding_limit",
}
PLAN_EVENT_KEYS = {
    "name",
    "kind",
    "start_s",
    "deadline_s",
    "window",
    "hosts",
    "max_hosts_in_maintenance",
    "hosts_at_once",  # the limit as the engine applies it (a share's count, a BIOS rack)
    "whole_rack_at_once",
    "host_downtime_s",
    "waves",
    "predicted",
}


def scenario(
    *,
    racks=1,
    hosts=2,
    vms=(),
    events=None,
    policy=None,
    caps=None,
    failures=None,
    network=None,
    host=None,
    uplink=None,
    mix=None,
    seed=1,
    **extra,
):
    """A scenario dict: ``vms`` are (name, host, memory, workload, {fields}) tuples."""
    rack = {"name": "r", "count": racks, "hosts": hosts}
    if uplink:
        rack["uplink"] = uplink
    fleet = {"racks": [rack], "host": host or {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"}}
    if vms:
        fleet["vm_list"] = [
            {"name": n, "host": h, "memory": m, "workload": w, **(more[0] if more else {})}
            for n, h, m, w, *more in vms
        ]
    if mix:
        fleet["vms"] = mix
    data = {
        "seed": seed,
        "fleet": fleet,
        "events": events or [{"kind": "kernel_upgrade", "scope": {"hosts": ["r1-h1"]}}],
    }
    for key, value in (
        ("policy", policy),
        ("caps", caps),
        ("failures", failures),
        ("network", network),
    ):
        if value is not None:
            data[key] = value
    data.update(extra)
    return data


def run(data):
    """Run a scenario dict; returns (run, events)."""
    events = []
    result = FleetRun(parse_scenario(data), events.append).run()
    return result, events


def of_kind(events, kind):
    return [e for e in events if e["kind"] == kind]


def max_concurrent(events, key=lambda e: "all"):
    """The most migrations under way at once, per group (``key`` of the start event)."""
    live, peak, group_of = {}, {}, {}
    for e in events:
        if e["kind"] == "migration_start":
            k = group_of[e["vm"]] = key(e)
            live[k] = live.get(k, 0) + 1
            peak[k] = max(peak.get(k, 0), live[k])
        elif e["kind"] == "migration_end":
            live[group_of.pop(e["vm"])] -= 1
    return peak


# a tiny fleet (fast): 2 racks of 2 hosts, 3 VMs each; one rack patched (tests/web uses it too)
TINY = {
    "name": "tiny",
    "seed": 2,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 32, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 2, "hosts": 2}],
        "vms": {
            "per_host": 3,
            "memory": ["1GiB", "4GiB"],
            "vcpus": [1, 2],
            "mix": {"idle": 0.5, "web": 0.5},
            "gpu_share": 0.2,
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "caps": {"per_source_host": 1, "per_target_host": 2},
    "events": [
        {
            "name": "k",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": 1,
            "host_downtime": "2min",
        }
    ],
}


def small_region(racks_per_zone: int, per_host: int) -> dict:
    """The region preset with a few racks a zone and fewer VMs a host: the same four zones and
    rolling upgrade, seconds to run."""
    data = copy.deepcopy(load_scenario("region").raw)
    for group in data["fleet"]["racks"]:
        group["count"] = racks_per_zone
    data["fleet"]["vms"]["per_host"] = per_host
    return data


def two_vms_whose_source_fails() -> dict:
    """Two 8 GiB web VMs on r1-h1, one migrating at a time; r1-h1 fails during the first
    migration's first pass (source_failure 1.0): both crash (and restart elsewhere)."""
    return scenario(
        hosts=3,
        vms=[("a", "r1-h1", "8GiB", "web"), ("b", "r1-h1", "8GiB", "web")],
        failures={"source_failure": 1.0},
        caps={"per_source_host": 1},
    )


def six_vms_with_flaky_targets() -> dict:
    """Six 4 GiB web VMs on r1-h1, two at a time, each attempt's target failing with
    probability 0.3 (target_failure): some attempts fail and are retried."""
    return scenario(
        hosts=3,
        vms=[(f"v{i}", "r1-h1", "4GiB", "web") for i in range(6)],
        failures={"target_failure": 0.3},
        caps={"per_source_host": 2},
    )


# every host about full: no VM of the first host fits anywhere else, so the rollout blocks
FULL_ZONE = {
    "name": "full",
    "seed": 1,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 64, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 1, "hosts": 4}],
        "vms": {"per_host": 8, "memory": ["7GiB", "8GiB"], "vcpus": [1, 2], "mix": {"idle": 1}},
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "events": [
        {
            "name": "patch",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": 1,
            "host_downtime": "5min",
        }
    ],
}

# heavy writers and caches on four small hosts, two out at once: with every host out at once
# no VM has anywhere to go; with a 300 s downtime limit the rollout blocks
MUNCHERS = {
    "name": "munchers",
    "seed": 1,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 32, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "rack", "count": 1, "hosts": 4, "uplink": "40Gbit/s"}],
        "vms": {
            "per_host": 8,
            "memory": ["4GiB", "8GiB"],
            "vcpus": [1, 4],
            "mix": {"muncher": 0.5, "cache": 0.5},
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms", "auto_converge": False},
    "caps": {"per_source_host": 2, "per_target_host": 2, "global": 6},
    "events": [
        {
            "name": "patch",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["rack1"]},
            "max_hosts_in_maintenance": 2,
            "host_downtime": "10min",
        }
    ],
}


def munchers(**policy) -> dict:
    """``MUNCHERS`` (a copy), its policy changed by ``policy``."""
    data = copy.deepcopy(MUNCHERS)
    data["policy"].update(policy)
    return data
