"""The roster of a fleet: every VM's ``vm_facts`` as the fleet was built, in compressed slices.

A VM's anatomy (``single_vm.anatomy_params_of``) needs a few facts of the VM: its size,
workload, the host it started on and that host's migration share. A finished run stores them in
each VM's row; while the run goes there are no rows yet, and rebuilding the fleet to find one VM
costs a second and 130 MB at 256,000 VMs. So whoever builds the fleet (the worker, at the start
of a run) writes its roster once: a header (the hosts' names and migration shares, the workload
names) and one slice per ``SLICE_VMS`` VMs, columns of numbers, JSON compressed with zlib. One
VM's facts then cost reading the header and one slice: about 100 kB at 256,000 VMs.

``position_of`` finds a VM's place in the roster from the scenario alone: a drawn fleet names
its VMs ``vm-1``, ``vm-2``... in the order they were made, a listed fleet keeps its list's order
and names.
"""

from __future__ import annotations

import json
import re
import zlib

from .scenario import default_vm_name
from .single_vm import FACTS

SLICE_VMS = 16_384

_DRAWN_NAME = re.compile(r"vm-([1-9][0-9]{0,8})")  # ``default_vm_name``'s, read back


def _pack(value) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _unpack(data: bytes):
    return json.loads(zlib.decompress(bytes(data)))


def roster_parts(fleet) -> tuple[bytes, list[bytes]]:
    """(header, slices) of a fleet as built (before its run moves anything)."""
    share = fleet.migration_share
    workloads = sorted({vm.workload for vm in fleet.vms})
    code = {name: i for i, name in enumerate(workloads)}
    header = _pack(
        {
            "vms": len(fleet.vms),
            "hosts": [host.name for host in fleet.hosts],
            "link_bps": [host.nic_bps * share for host in fleet.hosts],
            "workloads": workloads,
        }
    )
    slices = []
    for start in range(0, len(fleet.vms), SLICE_VMS):
        vms = fleet.vms[start : start + SLICE_VMS]
        slices.append(
            _pack(
                {
                    "vm": [vm.name for vm in vms],
                    "host": [vm.host for vm in vms],
                    "memory_bytes": [vm.memory_bytes for vm in vms],
                    "vcpus": [vm.vcpus for vm in vms],
                    "workload": [code[vm.workload] for vm in vms],
                    "watches": [1 if vm.watches_metadata else 0 for vm in vms],
                }
            )
        )
    return header, slices


def position_of(scenario: dict, vm_name: str) -> int | None:
    """Where the VM named ``vm_name`` is in the roster of ``scenario``'s fleet (None: nowhere;
    a drawn fleet may have made fewer VMs than its name says: the slice says so)."""
    listed = (scenario.get("fleet") or {}).get("vm_list")
    if listed:
        return next((i for i, spec in enumerate(listed) if listed_name(spec, i) == vm_name), None)
    match = _DRAWN_NAME.fullmatch(vm_name)
    return int(match.group(1)) - 1 if match else None


def listed_name(spec, i: int) -> str | None:
    """The name the scenario gives the ``i``-th listed VM: its own (a number is read as its
    text, ``12`` as ``"12"``), or ``vm-<i+1>`` when it has none (``scenario._vm_list``)."""
    if not isinstance(spec, dict):
        return None
    name = spec.get("name")
    if name is None:
        return default_vm_name(i)
    if isinstance(name, bool) or not isinstance(name, (str, int)):
        return None
    return str(name)


def slice_of(position: int) -> int:
    """The slice (0-based) that holds the VM at ``position``."""
    return position // SLICE_VMS


def facts_of(header: bytes, part: bytes, position: int, vm_name: str) -> dict | None:
    """The VM's ``vm_facts`` from the header and its slice; None if the slice does not hold a VM
    of that name there."""
    columns = _unpack(part)
    i = position % SLICE_VMS
    if i >= len(columns["vm"]) or columns["vm"][i] != vm_name:
        return None
    hosts = _unpack(header)
    host = columns["host"][i]
    facts = {
        "vm": vm_name,
        "host": hosts["hosts"][host],
        "memory_bytes": columns["memory_bytes"][i],
        "workload": hosts["workloads"][columns["workload"][i]],
        "vcpus": columns["vcpus"][i],
        "watches": bool(columns["watches"][i]),
        "link_bps": hosts["link_bps"][host],
    }
    assert tuple(facts) == FACTS
    return facts
