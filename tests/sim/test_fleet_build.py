"""A drawn fleet is the same VMs, draw for draw, as the plain reading of the rule: for each host,
up to ``per_host`` VMs, each drawn with ``randint``, ``random``, ``choices`` and ``randrange`` in a
fixed order, kept only if it fits. ``build.py`` writes that loop for speed; this is the plain
version it must equal, on mixes that use every draw."""

import random

import pytest

from migrationsim.fleet import parse_scenario
from migrationsim.fleet.build import _memory_steps, build_fleet
from migrationsim.fleet.scenario import default_vm_name


def plain_vms(scenario, seed):
    """Every VM as (host, memory, vCPUs, workload, customer, anti-affinity, action, restart,
    accelerator, spot, watches), drawn the obvious way on hosts tracked in plain dicts."""
    mix, rng = scenario.vms, random.Random(seed)
    names = [name for name, _ in mix.workloads]
    weights = [share for _, share in mix.workloads]
    step, (lo, hi) = _memory_steps(*mix.memory_bytes)
    out, host = [], -1  # host: its index in build order, rack by rack
    for group in scenario.racks:
        for _ in range(group.count * group.hosts):
            host += 1
            used_vcpus, used_memory = 0, 0.0
            for _vm in range(mix.per_host):
                memory = rng.randint(lo, hi) * step
                vcpus = rng.randint(*mix.vcpus)
                if not (
                    used_vcpus + vcpus <= group.vcpus + 1e-9
                    and used_memory + memory <= group.memory_bytes + 1e-6
                ):
                    continue
                anti = None
                if mix.anti_affinity_groups and rng.random() < mix.anti_affinity_share:
                    anti = f"group-{rng.randrange(mix.anti_affinity_groups) + 1}"
                accelerator = "gpu" if rng.random() < mix.gpu_share else None
                spot = rng.random() < mix.spot_share
                terminate = rng.random() < mix.terminate_share
                workload = rng.choices(names, weights=weights)[0]
                customer = f"customer-{rng.randrange(mix.customers) + 1}"
                restart = (not spot) and rng.random() < mix.automatic_restart_share
                watches = rng.random() < mix.watching_share
                action = "TERMINATE" if (terminate or accelerator or spot) else "MIGRATE"
                out.append(
                    (
                        host,
                        float(memory),
                        vcpus,
                        workload,
                        customer,
                        anti,
                        action,
                        restart,
                        accelerator,
                        spot,
                        watches,
                    )
                )
                used_vcpus += vcpus
                used_memory += memory
    return out


def mixed_scenario(memory, **vms):
    return parse_scenario(
        {
            "name": "draws",
            "seed": 3,
            "fleet": {
                "host": {"vcpus": 16, "memory": "48GiB", "nic": "10Gbit/s"},
                "racks": [
                    {"name": "r", "count": 3, "hosts": 4, "uplink": "40Gbit/s"},
                    {
                        "name": "s",
                        "count": 2,
                        "hosts": 3,
                        "uplink": "40Gbit/s",
                        "host": {"vcpus": 8, "memory": "24GiB"},
                    },
                ],
                "vms": {
                    "per_host": 9,
                    "memory": memory,
                    "vcpus": [1, 4],
                    "mix": {"idle": 0.2, "web": 0.3, "oltp": 0.4, "cache": 0.1},
                    "customers": 7,
                    **vms,
                },
            },
            "policy": {"name": "qemu"},
            "events": [{"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}}],
        }
    )


@pytest.mark.parametrize(
    "memory, extra",
    [
        (["1GiB", "8GiB"], {}),
        (["1GiB", "16GiB"], {"anti_affinity_groups": 5, "anti_affinity_share": 0.3}),
        (["256MiB", "768MiB"], {"gpu_share": 0.1, "spot_share": 0.2, "terminate_share": 0.1}),
        (["2GiB", "2GiB"], {"watching_share": 0.5, "automatic_restart_share": 0.5}),
    ],
)
def test_a_drawn_fleet_is_the_plain_draws_and_hosts_hold_what_they_run(memory, extra):
    scenario = mixed_scenario(memory, **extra)
    fleet = build_fleet(scenario, random.Random(11))
    expected = plain_vms(scenario, 11)
    got = [
        (
            vm.host,
            vm.memory_bytes,
            vm.vcpus,
            vm.workload,
            vm.customer,
            vm.anti_affinity,
            vm.on_host_maintenance,
            vm.automatic_restart,
            vm.accelerator,
            vm.spot,
            vm.watches_metadata,
        )
        for vm in fleet.vms
    ]
    assert got == expected
    assert len(expected) < 9 * len(fleet.hosts)  # some hosts were full before their ninth VM
    assert any(vm[0] != expected[0][0] for vm in expected)  # more than one host holds VMs
    assert [vm.name for vm in fleet.vms] == [default_vm_name(i) for i in range(len(fleet.vms))]
    for host in fleet.hosts:
        mine = [vm for vm in fleet.vms if vm.host == host.id]
        assert host.vms == {vm.id for vm in mine}
        assert fleet.table.vm_count[host.id] == len(mine)
        assert host.used_vcpus == sum(vm.vcpus for vm in mine)
        assert host.used_memory_bytes == sum(vm.memory_bytes for vm in mine)
