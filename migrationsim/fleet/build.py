"""Build the fleet a scenario describes: racks of hosts, and VMs drawn from its mix (seeded)."""

from __future__ import annotations

import math
import random
from itertools import accumulate

from .model import Fleet, Host, HostTable, Rack, Vm
from .scenario import Scenario, default_vm_name, rack_names_of

GIB = 1024**3
MIB = 1024**2


def build_fleet(scenario: Scenario, rng: random.Random) -> Fleet:
    racks, hosts = [], []
    table = HostTable()
    names = iter(rack_names_of(scenario.racks))
    for group in scenario.racks:
        for _ in range(group.count):
            rack = Rack(len(racks), next(names), [], group.uplink_bps, group.zone or scenario.zone)
            racks.append(rack)
            for j in range(group.hosts):
                host = Host(
                    table,
                    f"{rack.name}-h{j + 1}",
                    rack.id,
                    group.vcpus,
                    group.memory_bytes,
                    group.nic_bps,
                )
                rack.hosts.append(host.id)
                hosts.append(host)
    if scenario.vm_list:
        return Fleet(
            scenario.zone,
            racks,
            hosts,
            _listed_vms(scenario, hosts),
            scenario.spine_bps,
            scenario.migration_share,
            table,
        )
    mix = scenario.vms
    names = [name for name, _ in mix.workloads]
    # the cumulative weights once (``choices`` with ``weights`` adds them up again for every VM;
    # the draws are the same)
    cum_weights = list(accumulate(share for _, share in mix.workloads))
    customers = [f"customer-{i + 1}" for i in range(mix.customers)]  # one string each
    memory_step, memory_steps = _memory_steps(*mix.memory_bytes)
    vms = []
    for host in hosts:
        for _ in range(mix.per_host):
            memory = rng.randint(*memory_steps) * memory_step
            vcpus = rng.randint(mix.vcpus[0], mix.vcpus[1])
            if not host.fits(vcpus, memory, 0.0):
                continue  # the host is full: fewer VMs than per_host
            vm_id = len(vms)
            anti = None
            if mix.anti_affinity_groups and rng.random() < mix.anti_affinity_share:
                anti = f"group-{rng.randrange(mix.anti_affinity_groups) + 1}"
            accelerator = "gpu" if rng.random() < mix.gpu_share else None
            spot = rng.random() < mix.spot_share
            terminate = rng.random() < mix.terminate_share
            vm = Vm(
                id=vm_id,
                name=default_vm_name(vm_id),
                host=host.id,
                memory_bytes=float(memory),
                vcpus=vcpus,
                workload=rng.choices(names, cum_weights=cum_weights)[0],
                customer=customers[rng.randrange(mix.customers)],
                anti_affinity=anti,
                on_host_maintenance="TERMINATE"
                if (terminate or accelerator or spot)
                else "MIGRATE",
                automatic_restart=(not spot) and rng.random() < mix.automatic_restart_share,
                accelerator=accelerator,
                spot=spot,
                watches_metadata=rng.random() < mix.watching_share,
            )
            host.add_vm(vm_id)
            host.reserve(vcpus, memory)
            vms.append(vm)
    return Fleet(
        scenario.zone, racks, hosts, vms, scenario.spine_bps, scenario.migration_share, table
    )


def _memory_steps(lo_bytes: float, hi_bytes: float) -> tuple[int, tuple[int, int]]:
    """A VM's memory is drawn uniformly in whole GiB within the mix's range, or in whole MiB
    when the range holds no whole GiB ([1.2GiB, 1.8GiB], [256MiB, 768MiB]), or the range's one
    value when it holds neither: always within it. (Rounding the bounds to whole GiB drew 2 GiB
    VMs from [0.5GiB, 1.5GiB], and every VM of a range under 1 GiB at its lower bound.)"""
    for step in (GIB, MIB):
        first, last = math.ceil(lo_bytes / step), math.floor(hi_bytes / step)
        if 1 <= first <= last:
            return step, (first, last)
    return 1, (int(lo_bytes), int(lo_bytes))


def _listed_vms(scenario: Scenario, hosts: list[Host]) -> list[Vm]:
    by_name = {h.name: h for h in hosts}
    vms = []
    for spec in scenario.vm_list:
        host = by_name[spec.host]
        vm = Vm(
            id=len(vms),
            name=spec.name,
            host=host.id,
            memory_bytes=spec.memory_bytes,
            vcpus=spec.vcpus,
            workload=spec.workload,
            customer=spec.customer,
            anti_affinity=spec.anti_affinity,
            on_host_maintenance="TERMINATE"
            if (spec.accelerator or spec.spot)
            else spec.on_host_maintenance,
            automatic_restart=spec.automatic_restart and not spec.spot,
            accelerator=spec.accelerator,
            spot=spec.spot,
            watches_metadata=spec.watches_metadata,
        )
        host.add_vm(vm.id)
        host.reserve(vm.vcpus, vm.memory_bytes)
        vms.append(vm)
    return vms
