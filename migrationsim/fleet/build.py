"""Build the fleet a scenario describes: racks of hosts, and VMs drawn from its mix (seeded)."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
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
    vms = _drawn_vms(scenario.vms, hosts, table, rng)
    return Fleet(
        scenario.zone, racks, hosts, vms, scenario.spine_bps, scenario.migration_share, table
    )


def _drawn_vms(mix, hosts: list[Host], table: HostTable, rng: random.Random) -> list[Vm]:
    """Up to ``per_host`` VMs a host, each drawn from the mix; a VM that does not fit on its
    host is not made (the host is full). Every draw is ``rng``'s, in a fixed order: memory,
    vCPUs, then (if it fits) anti-affinity, accelerator, Spot, terminate, workload, customer,
    restart, watching. At a million VMs this loop is a quarter of a run, so it is written for
    speed: ``randint(a, b)`` is ``a + _randbelow(b - a + 1)`` and ``choices`` with cumulative
    weights is a bisection, exactly as ``random.Random`` computes them (the same numbers from
    the same seed, tested), and a host's totals are kept in locals while its VMs are drawn
    (``Host.fits`` and ``Host.reserve`` with no headroom, the same sums in the same order)."""
    names = [name for name, _ in mix.workloads]
    # the cumulative weights once (``choices`` with ``weights`` adds them up again for every VM;
    # the draws are the same)
    cum_weights = list(accumulate(share for _, share in mix.workloads))
    total_weight, last_name = cum_weights[-1] + 0.0, len(names) - 1
    customers = [f"customer-{i + 1}" for i in range(mix.customers)]  # one string each
    memory_step, (memory_lo, memory_hi) = _memory_steps(*mix.memory_bytes)
    memory_width = memory_hi - memory_lo + 1
    vcpus_lo, vcpus_width = mix.vcpus[0], mix.vcpus[1] - mix.vcpus[0] + 1
    if memory_width <= 0 or vcpus_width <= 0:  # as randint would say
        raise ValueError("empty range for a VM's memory or vCPUs")
    randbelow, random_ = rng._randbelow, rng.random
    anti_groups, anti_share = mix.anti_affinity_groups, mix.anti_affinity_share
    gpu_share, spot_share, terminate_share = mix.gpu_share, mix.spot_share, mix.terminate_share
    restart_share, watching_share = mix.automatic_restart_share, mix.watching_share
    n_customers, per_host = mix.customers, mix.per_host
    vm_count, used_vcpus_of, used_memory_of = (
        table.vm_count,
        table.used_vcpus,
        table.used_memory_bytes,
    )
    vms: list[Vm] = []
    append = vms.append
    for host in hosts:
        hid, here = host.id, host.vms
        used_vcpus, used_memory = used_vcpus_of[hid], used_memory_of[hid]
        vcpus_limit = host.vcpus * 1.0 + 1e-9  # Host.fits with no headroom
        memory_limit = host.memory_bytes * 1.0 + 1e-6
        for _ in range(per_host):
            memory = (memory_lo + randbelow(memory_width)) * memory_step
            vcpus = vcpus_lo + randbelow(vcpus_width)
            if not (used_vcpus + vcpus <= vcpus_limit and used_memory + memory <= memory_limit):
                continue  # the host is full: fewer VMs than per_host
            vm_id = len(vms)
            anti = None
            if anti_groups and random_() < anti_share:
                anti = f"group-{randbelow(anti_groups) + 1}"
            accelerator = "gpu" if random_() < gpu_share else None
            spot = random_() < spot_share
            terminate = random_() < terminate_share
            workload = names[bisect_right(cum_weights, random_() * total_weight, 0, last_name)]
            customer = customers[randbelow(n_customers)]
            append(
                Vm(
                    vm_id,
                    default_vm_name(vm_id),
                    hid,
                    float(memory),
                    vcpus,
                    workload,
                    customer,
                    anti,
                    "TERMINATE" if (terminate or accelerator or spot) else "MIGRATE",
                    (not spot) and random_() < restart_share,
                    accelerator,
                    spot,
                    random_() < watching_share,
                )
            )
            here.add(vm_id)
            vm_count[hid] += 1
            used_vcpus += vcpus
            used_memory += memory
        used_vcpus_of[hid], used_memory_of[hid] = used_vcpus, used_memory
    return vms


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
