"""One VM of a fleet as the single-VM model's parameters: what the single-VM (anatomy) page
needs to replay one fleet VM's migration on its own, with its memory, workload and host NIC.
"""

from __future__ import annotations

from .engine import FleetRun
from .scenario import parse_scenario


def _text_rate(bps: float) -> str:
    return f"{bps * 8 / 1e9:.6g}Gbit/s"


def vm_anatomy_params(data: dict, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of the scenario's fleet: its memory and workload,
    the scenario's policy, and its host NIC's migration share as the link bandwidth. None if
    the fleet has no such VM. (The fleet is rebuilt from the scenario and seed: same VMs.)"""
    run = FleetRun(parse_scenario(data))
    fleet = run.fleet
    vm = next((v for v in fleet.vms if v.name == vm_name), None)
    if vm is None:
        return None
    host = fleet.hosts[vm.host]
    policy = dict(run.scenario.policy)
    gib = vm.memory_bytes / 2**30
    params = {
        "memory": f"{gib:g}GiB" if gib == int(gib) else f"{vm.memory_bytes:.0f}B",
        "workload": vm.workload,
        "dirty_rate": "",
        "working_set": "",
        "bandwidth": _text_rate(host.nic_bps * fleet.migration_share),
        "max_bandwidth": str(policy.pop("max_bandwidth", "") or ""),
        "policy": str(policy.pop("policy", "qemu")),
        "downtime_limit": str(policy.pop("downtime_limit", "300ms")),
        "auto_converge": bool(policy.pop("auto_converge", False)),
        "post_copy": bool(policy.pop("post_copy", False)),
        "guest_watches": bool(vm.watches_metadata),
        "resolution": "fluid",
        "speed": "10",
        "seed": int(run.scenario.seed),
    }
    params.update(
        {
            k: v if isinstance(v, (bool, int, float)) else str(v)
            for k, v in policy.items()
            if k != "resolution"
        }
    )
    params["fleet_vm"] = {"vm": vm.name, "host": host.name, "vcpus": vm.vcpus}
    return params
