"""The datacenter: a zone (or a region of zones) of racks of hosts, VMs on them, and the links
between them."""

from __future__ import annotations

from dataclasses import dataclass, field

# host states during maintenance
UP = "up"  # in service, a possible target
SCHEDULED = "scheduled"  # named by a running maintenance wave: no new VMs, its VMs leave
MAINTENANCE = "maintenance"  # empty, being patched or repaired
FAILED = "failed"


@dataclass(eq=False, slots=True)
class Host:
    id: int
    name: str
    rack: int
    vcpus: int
    memory_bytes: float
    nic_bps: float
    state: str = UP
    patched: bool = False  # has been through this run's maintenance
    used_vcpus: int = 0  # running VMs and reserved targets
    used_memory_bytes: float = 0.0
    vms: set = field(default_factory=set)  # VM ids running here
    incoming: int = 0  # migrations arriving (per-target-host cap)
    outgoing: int = 0  # migrations leaving (per-source-host cap)

    def fits(self, vcpus: int, memory_bytes: float, headroom: float) -> bool:
        limit = 1.0 - headroom
        return (
            self.used_vcpus + vcpus <= self.vcpus * limit + 1e-9
            and self.used_memory_bytes + memory_bytes <= self.memory_bytes * limit + 1e-6
        )

    def reserve(self, vcpus: int, memory_bytes: float) -> None:
        self.used_vcpus += vcpus
        self.used_memory_bytes += memory_bytes

    def release(self, vcpus: int, memory_bytes: float) -> None:
        self.used_vcpus -= vcpus
        self.used_memory_bytes -= memory_bytes

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
        if self.accelerator:
            return (
                f"has a {self.accelerator.upper()} attached: accelerators cannot be live-migrated"
            )
        if self.spot:
            return "is a Spot VM: Spot VMs are preempted, not migrated"
        return "has onHostMaintenance=TERMINATE"


@dataclass
class Fleet:
    zone: str
    racks: list[Rack]
    hosts: list[Host]
    vms: list[Vm]
    spine_bps: float | None  # None: a non-blocking spine
    migration_share: float  # of a host NIC that migration traffic may use

    def rack_of(self, host: Host) -> Rack:
        return self.racks[host.rack]

    def zone_of(self, host: Host) -> str:
        return self.racks[host.rack].zone

    @property
    def zones(self) -> list[str]:
        """The zones of the fleet's racks, in rack order (a region has several)."""
        return list(dict.fromkeys(rack.zone for rack in self.racks))
