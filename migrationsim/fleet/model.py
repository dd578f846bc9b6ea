"""The datacenter: a zone (or a region of zones) of racks of hosts, VMs on them, and the links
between them."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

# host states during maintenance
UP = "up"  # in service, a possible target
SCHEDULED = "scheduled"  # named by a running maintenance wave: no new VMs, its VMs leave
MAINTENANCE = "maintenance"  # empty, being patched or repaired
FAILED = "failed"
STATES = (UP, SCHEDULED, MAINTENANCE, FAILED)
STATE_CODE = {state: code for code, state in enumerate(STATES)}  # as ``HostTable`` stores it


class HostTable:
    """The hosts' changing state in columns of machine numbers, one row per host id (``Host``
    reads and writes its row). Placement checks 64 hosts drawn at random for every VM it places,
    on all of them at once (``views``: numpy arrays over the same memory). At a million VMs,
    reading those from objects and floats scattered over a gigabyte costs more than the checks
    themselves (memory latency), while a column of 125,000 numbers is one megabyte."""

    __slots__ = (
        "state",
        "patched",
        "vcpus",
        "used_vcpus",
        "memory_bytes",
        "used_memory_bytes",
        "incoming",
        "outgoing",
        "vm_count",
        "rack",
        "_views",
    )

    def __init__(self):
        self.state = array("b")  # STATE_CODE of the host's state
        self.patched = array("b")
        self.vcpus = array("q")
        self.used_vcpus = array("q")
        self.memory_bytes = array("d")
        self.used_memory_bytes = array("d")
        self.incoming = array("q")
        self.outgoing = array("q")
        self.vm_count = array("q")  # VMs running on the host (``Host.vms``, counted)
        self.rack = array("q")  # the host's rack id (it never changes)
        self._views = None

    def add_row(self, vcpus: int, memory_bytes: float, rack: int = 0) -> int:
        """A new host's row (up, unpatched, empty); returns its index, the host's id."""
        self._views = None  # a column cannot grow while numpy looks at it
        self.state.append(STATE_CODE[UP])
        self.patched.append(False)
        self.vcpus.append(vcpus)
        self.used_vcpus.append(0)
        self.memory_bytes.append(memory_bytes)
        self.used_memory_bytes.append(0.0)
        self.incoming.append(0)
        self.outgoing.append(0)
        self.vm_count.append(0)
        self.rack.append(rack)
        return len(self.state) - 1

    def views(self) -> HostColumns:
        """The columns as numpy arrays sharing their memory (a write through ``Host`` shows)."""
        if self._views is None:
            self._views = HostColumns(self)
        return self._views


class HostColumns:
    """numpy views of a ``HostTable``'s columns, for checks on many hosts at once."""

    __slots__ = HostTable.__slots__[:-1]

    def __init__(self, table: HostTable):
        for name in self.__slots__:
            column = getattr(table, name)
            setattr(self, name, np.frombuffer(column, dtype=column.typecode))


class Host:
    """One host: its name, rack, NIC and VMs here; its changing state lives in its row of the
    fleet's ``HostTable`` (``state``, ``patched``, vCPUs and memory, used and total, migrations
    arriving and leaving)."""

    __slots__ = ("id", "name", "rack", "nic_bps", "vms", "table")

    def __init__(
        self, table: HostTable, name: str, rack: int, vcpus: int, memory_bytes: float, nic_bps
    ):
        self.table = table
        self.id = table.add_row(vcpus, memory_bytes, rack)
        self.name = name
        self.rack = rack
        self.nic_bps = nic_bps
        self.vms: set[int] = set()  # VM ids running here (``add_vm``, ``remove_vm``)

    def __repr__(self) -> str:
        return f"Host({self.id}, {self.name!r}, state={self.state!r})"

    @property
    def state(self) -> str:  # UP, SCHEDULED, MAINTENANCE or FAILED
        return STATES[self.table.state[self.id]]

    @state.setter
    def state(self, value: str) -> None:
        self.table.state[self.id] = STATE_CODE[value]

    @property
    def patched(self) -> bool:  # has been through this run's maintenance
        return bool(self.table.patched[self.id])

    @patched.setter
    def patched(self, value: bool) -> None:
        self.table.patched[self.id] = value

    @property
    def vcpus(self) -> int:
        return self.table.vcpus[self.id]

    @vcpus.setter
    def vcpus(self, value: int) -> None:
        self.table.vcpus[self.id] = value

    @property
    def used_vcpus(self) -> int:  # running VMs and reserved targets
        return self.table.used_vcpus[self.id]

    @used_vcpus.setter
    def used_vcpus(self, value: int) -> None:
        self.table.used_vcpus[self.id] = value

    @property
    def memory_bytes(self) -> float:
        return self.table.memory_bytes[self.id]

    @memory_bytes.setter
    def memory_bytes(self, value: float) -> None:
        self.table.memory_bytes[self.id] = value

    @property
    def used_memory_bytes(self) -> float:
        return self.table.used_memory_bytes[self.id]

    @used_memory_bytes.setter
    def used_memory_bytes(self, value: float) -> None:
        self.table.used_memory_bytes[self.id] = value

    @property
    def incoming(self) -> int:  # migrations arriving (per-target-host cap)
        return self.table.incoming[self.id]

    @incoming.setter
    def incoming(self, value: int) -> None:
        self.table.incoming[self.id] = value

    @property
    def outgoing(self) -> int:  # migrations leaving (per-source-host cap)
        return self.table.outgoing[self.id]

    @outgoing.setter
    def outgoing(self, value: int) -> None:
        self.table.outgoing[self.id] = value

    def add_vm(self, vm_id: int) -> None:
        """The VM runs here now."""
        if vm_id not in self.vms:
            self.vms.add(vm_id)
            self.table.vm_count[self.id] += 1

    def remove_vm(self, vm_id: int) -> None:
        """The VM no longer runs here (nothing happens if it did not)."""
        if vm_id in self.vms:
            self.vms.remove(vm_id)
            self.table.vm_count[self.id] -= 1

    def fits(self, vcpus: int, memory_bytes: float, headroom: float) -> bool:
        limit = 1.0 - headroom
        return (
            self.used_vcpus + vcpus <= self.vcpus * limit + 1e-9
            and self.used_memory_bytes + memory_bytes <= self.memory_bytes * limit + 1e-6
        )

    def reserve(self, vcpus: int, memory_bytes: float) -> None:
        table, i = self.table, self.id
        table.used_vcpus[i] += vcpus
        table.used_memory_bytes[i] += memory_bytes

    def release(self, vcpus: int, memory_bytes: float) -> None:
        table, i = self.table, self.id
        table.used_vcpus[i] -= vcpus
        table.used_memory_bytes[i] -= memory_bytes

    @property
    def memory_load(self) -> float:
        return self.used_memory_bytes / self.memory_bytes


@dataclass(eq=False, slots=True)
class Rack:
    id: int
    name: str
    hosts: list  # host ids
    uplink_bps: float
    zone: str = "zone-a"  # live migration stays within a zone (its own spine and targets)


@dataclass(eq=False, slots=True)
class Vm:
    id: int
    name: str
    host: int
    memory_bytes: float
    vcpus: int
    workload: str
    customer: str
    anti_affinity: str | None = None
    on_host_maintenance: str = "MIGRATE"  # or TERMINATE
    automatic_restart: bool = True
    accelerator: str | None = None  # "gpu" / "tpu": cannot live-migrate
    spot: bool = False
    watches_metadata: bool = False  # polls the maintenance-event key

    @property
    def live_migratable(self) -> bool:
        return self.on_host_maintenance == "MIGRATE" and self.accelerator is None and not self.spot

    def why_not_migratable(self) -> str:
        """Why, in words that follow "it cannot be live-migrated: it " (reasons.py): no colon
        of their own, so the sentence has one."""
        if self.accelerator:
            return (
                f"has a {self.accelerator.upper()} attached (accelerators cannot be live-migrated)"
            )
        if self.spot:
            return "is a Spot VM (Spot VMs are preempted, not migrated)"
        return "has onHostMaintenance=TERMINATE"


@dataclass
class Fleet:
    zone: str
    racks: list[Rack]
    hosts: list[Host]
    vms: list[Vm]
    spine_bps: float | None  # None: a non-blocking spine
    migration_share: float  # of a host NIC that migration traffic may use
    table: HostTable  # the hosts' changing state, in columns

    def rack_of(self, host: Host) -> Rack:
        return self.racks[host.rack]

    def zone_of(self, host: Host) -> str:
        return self.racks[host.rack].zone

    @property
    def zones(self) -> list[str]:
        """The zones of the fleet's racks, in rack order (a region has several)."""
        return list(dict.fromkeys(rack.zone for rack in self.racks))
