"""The validation cases: one guest, one cap, one downtime limit each (docs/validation.md).

A guest is described the way the guest program takes it (validation/guest/guest.c): a pattern,
page writes per second, a working set in pages. Memory is small (128 MiB) and caps are 32-128
MiB/s because TCG is slow and the harness shares two cores.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
PAGES_PER_MIB = 256


@dataclass(frozen=True)
class Case:
    name: str
    pattern: str  # idle, once, seq, random (the guest's words)
    page_writes_per_s: int
    working_set_pages: int
    max_bandwidth_bps: int
    downtime_limit_ms: int
    memory_mib: int = 128
    auto_converge: bool = False
    time_limit_s: float = 60.0  # cancelled after this: "did not converge"
    why: str = ""

    @property
    def append(self) -> str:
        """The guest's command line (multiboot, QEMU's -append)."""
        return (
            f"pattern={self.pattern} rate={self.page_writes_per_s} "
            f"ws={self.working_set_pages} base=4"
        )


CASES: tuple[Case, ...] = (
    Case("idle", "idle", 0, 0, 32 * MiB, 300, why="nothing written: a pass of zero pages"),
    Case(
        "write-once-64M",
        "once",
        0,
        64 * PAGES_PER_MIB,
        32 * MiB,
        300,
        why="64 MiB written before, none during: one pass of real pages at the cap",
    ),
    Case(
        "seq-8M",
        "seq",
        2000,
        8 * PAGES_PER_MIB,
        32 * MiB,
        300,
        why="a small sequential ring, below the threshold",
    ),
    Case(
        "random-8M",
        "random",
        2000,
        8 * PAGES_PER_MIB,
        32 * MiB,
        300,
        why="a small random set",
    ),
    Case(
        "random-48M-64",
        "random",
        4000,
        48 * PAGES_PER_MIB,
        64 * MiB,
        300,
        why="a large random set at a second cap",
    ),
    Case(
        "seq-32M-64",
        "seq",
        4000,
        32 * PAGES_PER_MIB,
        64 * MiB,
        300,
        why="a large sequential set at a second cap",
    ),
    Case(
        "random-32M-128",
        "random",
        8000,
        32 * PAGES_PER_MIB,
        128 * MiB,
        300,
        why="a third cap",
    ),
    Case(
        "random-16M-dl30",
        "random",
        2000,
        16 * PAGES_PER_MIB,
        32 * MiB,
        30,
        why="the same guest under a 30 ms downtime limit",
    ),
    Case(
        "random-16M-dl300",
        "random",
        2000,
        16 * PAGES_PER_MIB,
        32 * MiB,
        300,
        why="the same guest under 300 ms",
    ),
    Case(
        "seq-16M-never",
        "seq",
        6000,
        16 * PAGES_PER_MIB,
        16 * MiB,
        300,
        time_limit_s=15.0,
        why="23 MiB/s of sequential writes against a 16 MiB/s cap: never converges",
    ),
    Case(
        "seq-16M-autoconverge",
        "seq",
        6000,
        16 * PAGES_PER_MIB,
        16 * MiB,
        300,
        auto_converge=True,
        why="the same guest with auto-converge",
    ),
)

CASES_BY_NAME = {case.name: case for case in CASES}
