"""How a guest dirties its memory: working sets, write patterns and the workload presets.

A workload writes pages through one or more *working sets*. Working set ``k`` is a region of
``W_k`` pages written at ``r_k`` page-writes per second:

- ``random``: each write hits a page drawn uniformly in the region, so the distinct pages dirtied
  after ``t`` seconds saturate as ``W_k * (1 - exp(-r_k * t / W_k))`` (Clark et al.'s writable
  working set: a small hot set is rewritten every round and is what the final copy must carry);
- ``sequential``: a pointer sweeps the region at ``r_k`` pages/s and wraps around (a scan, a log).

The ``linear`` dirty model (``D * t`` distinct pages, never the same page twice until the region
is exhausted) exists so the simulator can be checked against the textbook closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

from .units import PAGE_SIZE_BYTES

WRITE_PATTERNS = ("random", "sequential")
DIRTY_MODELS = ("saturating", "linear")


@dataclass(frozen=True)
class WorkingSet:
    """One region of guest memory that the workload keeps writing."""

    size_bytes: float
    write_rate_bps: float  # bytes/s of page writes: page-writes/s x 4096 B
    pattern: str = "random"

    @property
    def pages(self) -> int:
        """Whole pages: a set that is written holds at least one; a guest that writes nothing
        may have a set of no pages."""
        pages = int(self.size_bytes // PAGE_SIZE_BYTES)
        return pages if pages > 0 or self.write_rate_bps <= 0 else 1

    @property
    def page_writes_per_s(self) -> float:
        return self.write_rate_bps / PAGE_SIZE_BYTES


@dataclass(frozen=True)
class WorkingSetShare:
    """A working set sized as a share of the VM's memory (how presets describe them)."""

    memory_fraction: float
    write_rate_bps: float
    pattern: str = "random"


@dataclass(frozen=True)
class WorkloadPreset:
    name: str
    description: str
    working_sets: tuple[WorkingSetShare, ...]
    zero_fraction: float  # share of pages never written since boot (9 B each on QEMU's wire)
    packet_rate_pps: float  # inbound packets/s, forwarded by the source after the switch
    source: str

    def working_sets_for(self, memory_bytes: float) -> tuple[WorkingSet, ...]:
        return tuple(
            WorkingSet(
                size_bytes=share.memory_fraction * memory_bytes,
                write_rate_bps=share.write_rate_bps,
                pattern=share.pattern,
            )
            for share in self.working_sets
        )

    @property
    def dirty_rate_bps(self) -> float:
        return sum(share.write_rate_bps for share in self.working_sets)


MB = 1e6
GB = 1e9

PRESETS: dict[str, WorkloadPreset] = {
    preset.name: preset
    for preset in (
        WorkloadPreset(
            name="idle",
            description="A booted VM doing almost nothing: housekeeping writes to a tiny set, "
            "most memory never touched.",
            working_sets=(WorkingSetShare(0.02, 2 * MB),),
            zero_fraction=0.60,
            packet_rate_pps=50,
            source="Clark et al. 2005 (idle guests converge in one or two rounds); zero share "
            "from fresh-boot guests where most RAM was never written.",
        ),
        WorkloadPreset(
            name="web",
            description="A web/application server: a small hot set (sessions, allocator arenas) "
            "rewritten constantly, a warmer page cache written slowly.",
            working_sets=(WorkingSetShare(0.03, 25 * MB), WorkingSetShare(0.20, 10 * MB)),
            zero_fraction=0.30,
            packet_rate_pps=20_000,
            source="Clark et al. 2005 (SPECweb: writable working set of tens of MB); rates are "
            "assumptions of this project.",
        ),
        WorkloadPreset(
            name="oltp",
            description="An OLTP database: a large buffer pool with random page updates and a "
            "write-ahead log written sequentially.",
            working_sets=(
                WorkingSetShare(0.60, 60 * MB),
                WorkingSetShare(0.02, 20 * MB, "sequential"),
            ),
            zero_fraction=0.10,
            packet_rate_pps=10_000,
            source="Akoush et al. 2010 and Liu et al. 2011 (database guests dirty tens of MB/s); "
            "split into pool and log by this project.",
        ),
        WorkloadPreset(
            name="cache",
            description="An in-memory key-value cache: almost all memory is data, updated at "
            "random, at a rate close to a 1 Gbit/s-class migration link.",
            working_sets=(WorkingSetShare(0.80, 150 * MB),),
            zero_fraction=0.05,
            packet_rate_pps=100_000,
            source="memcached/Redis-style guests (Hines & Gopalan 2009 cite them as pre-copy's "
            "hard case); rate is an assumption of this project.",
        ),
        WorkloadPreset(
            name="analytics",
            description="A batch analytics job: it streams through half its memory, writing "
            "sequentially, then starts over.",
            working_sets=(WorkingSetShare(0.50, 400 * MB, "sequential"),),
            zero_fraction=0.20,
            packet_rate_pps=2_000,
            source="Scan-heavy batch jobs (SimGrid's live-migration study uses sequential "
            "writers); rate is an assumption of this project.",
        ),
        WorkloadPreset(
            name="ingest",
            description="A stream-ingest service: a ring buffer (1 % of memory) rewritten "
            "sequentially at 800 MB/s, the rest written slowly. Pre-copy cannot get "
            "below the ring: it is what the blackout carries.",
            working_sets=(
                WorkingSetShare(0.01, 800 * MB, "sequential"),
                WorkingSetShare(0.30, 5 * MB),
            ),
            zero_fraction=0.20,
            packet_rate_pps=50_000,
            source="Clark et al. 2005: a small, fast-rewritten writable working set sets the "
            "blackout; ring-buffer ingest (Kafka-style) is the modern case. Rates are "
            "assumptions of this project.",
        ),
        WorkloadPreset(
            name="muncher",
            description="A memory-muncher stress load (stress-ng --vm style) that dirties 16 GB/s, "
            "faster than any migration link: pre-copy alone never converges.",
            working_sets=(WorkingSetShare(0.90, 16 * GB),),
            zero_fraction=0.0,
            packet_rate_pps=100,
            source="Synthetic stress, the classic non-converging case (QEMU auto-converge and "
            "post-copy exist for it).",
        ),
    )
}
