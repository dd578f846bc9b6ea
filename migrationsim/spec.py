"""The inputs of one migration: a frozen ``MigrationSpec`` and ``build_spec``, which reads
parameters as people type them (units, preset names) and says exactly which one is wrong.

``PARAMETERS`` is the single table of every parameter: its parser, default and help. The CLI
derives its flags from it and the web form its help texts, so a rule lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import InvalidParameter
from .layout import WIRE_COST_BYTES, Region, layout_regions
from .units import PAGE_SIZE_BYTES, parse_bytes, parse_duration, parse_rate
from .workload import DIRTY_MODELS, PRESETS, WRITE_PATTERNS, WorkingSet

POLICIES = ("textbook", "qemu", "xen", "gce")
RESOLUTIONS = ("fluid", "pages")
TIMEOUT_ACTIONS = ("abort", "force-complete", "post-copy")
WIRE_FORMATS = ("qemu", "raw")
REGION_KINDS = ("hot", "cold", "zero")

QEMU_DEFAULT_MAX_BANDWIDTH_BPS = 128 * 1024**2  # QEMU's max-bandwidth default, 128 MiB/s
MAX_MEMORY_BYTES = 16 * 1024**4  # 16 TiB: the largest VM this simulator accepts
# Limits that keep every answer finite, quick and small (the CLI and the web both get them here):
MAX_DOWNTIME_LIMIT_S = (
    2000.0  # QEMU refuses more (migration/options.c, MAX_MIGRATE_DOWNTIME_SECONDS)
)
MAX_RATE_BPS = 1e15  # 1 PB/s: faster than any memory bus writes or any link carries
MIN_RATE_BPS = 1 / 8  # 1 bit/s: the slowest link (or cap) a migration is simulated over
MAX_WAKE_LATENCY_S = 1.0  # ten rate-limit windows
MAX_DURATION_S = 1e9  # about 32 years, for the durations that add up in the timeline
MAX_PAGES_BITMAP_BYTES = (
    256 * 1024**2
)  # the pages resolution's dirty bitmap: 1 B a page, 1 TiB guests

# Defaults that differ by policy (None: the policy does not use the limit).
POLICY_DEFAULTS: dict[str, dict[str, Any]] = {
    "textbook": {"max_bandwidth": None, "wire_format": "raw", "max_rounds": 30, "max_volume": None},
    "qemu": {
        "max_bandwidth": QEMU_DEFAULT_MAX_BANDWIDTH_BPS,
        "wire_format": "qemu",
        "max_rounds": None,
        "max_volume": None,
    },
    "xen": {"max_bandwidth": None, "wire_format": "raw", "max_rounds": 29, "max_volume": 3.0},
    "gce": {"max_bandwidth": None, "wire_format": "qemu", "max_rounds": 30, "max_volume": 3.0},
}


@dataclass(frozen=True)
class MigrationSpec:
    """Everything one simulated migration depends on. Bytes, bytes/s and seconds throughout."""

    # The guest
    memory_bytes: float
    working_sets: tuple[WorkingSet, ...]
    zero_fraction: float
    dirty_model: str
    layout: tuple[str, ...]
    # where each sequential writer's pointer is in its working set when pre-copy starts, a
    # share of the set (0: its first page); the writer sweeps on from there and wraps
    write_start: float
    packet_rate_pps: float
    workload: str | None
    # The link
    bandwidth_bps: float
    max_bandwidth_bps: float | None
    page_time_s: float  # the migration thread's time per page sent (pacing.py)
    wake_latency_s: float  # how late the thread wakes from a rate-limit sleep (ratelimit.py)
    # the source's socket send buffer and how fast the source alone writes into it: what lets
    # the source finish its stop-and-copy before the destination has it (switchover.py)
    send_buffer_bytes: float
    sender_bps: float | None  # None: the link's rate (a buffer then changes nothing)
    # The policy and the operator layer on top of it
    policy: str
    downtime_limit_s: float
    auto_converge: bool
    post_copy: bool
    completion_timeout_s_per_gib: float
    timeout_action: str
    downtime_ramp_steps: int
    downtime_ramp_delay_s_per_gib: float
    wire_format: str
    max_rounds: int | None
    max_volume: float | None  # a multiple of memory
    min_shrink: float  # gce: a round must shrink pending by this share, or blackout starts
    adaptive_rate: bool  # xen
    # The switch-over
    device_state_bytes: float
    # the source's own work from the stop to its last byte, whatever the bytes: pausing the
    # vCPUs, the last bitmap sync, saving the devices (switchover.py; QEMU's downtime starts
    # before it)
    stop_time_s: float
    resume_time_s: float
    postcopy_fault_latency_s: float
    # Around the migration (GCE's phases)
    guest_watches: bool
    target_setup_s: float
    cleanup_s: float
    fabric_convergence_s: float
    forwarding: bool
    forwarding_latency_s: float
    # How it is computed
    resolution: str
    seed: int
    params: dict = field(default_factory=dict, compare=False)  # the parameters as given

    @cached_property
    def memory_pages(self) -> int:
        return int(self.memory_bytes // PAGE_SIZE_BYTES)

    @cached_property
    def regions(self) -> tuple[Region, ...]:
        """The guest's address-ordered regions (``layout.layout_regions``), worked out once."""
        return tuple(layout_regions(self))

    @cached_property
    def sweep_start_pages(self) -> tuple[float, ...]:
        """Each working set's writer pointer when pre-copy starts, in pages from the set's
        first page: ``write_start`` of its region for a sequential writer, 0 for the others
        (a random writer has no pointer)."""
        region_pages = {r.working_set: r.pages for r in self.regions if r.working_set >= 0}
        return tuple(
            self.write_start * region_pages.get(k, 0) if ws.pattern == "sequential" else 0.0
            for k, ws in enumerate(self.working_sets)
        )

    @property
    def live_rate_cap_bps(self) -> float:
        """The rate live rounds may use: the link, or the policy's cap if lower."""
        if self.max_bandwidth_bps is None:
            return self.bandwidth_bps
        return min(self.bandwidth_bps, self.max_bandwidth_bps)

    @cached_property
    def completion_timeout_s(self) -> float:
        return self.completion_timeout_s_per_gib * self.memory_bytes / 1024**3

    @property
    def dirty_rate_bps(self) -> float:
        return sum(ws.write_rate_bps for ws in self.working_sets)


# --- parsers: text or number in, model value out; ValueError with a reason on bad input ----------


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)} (got {text!r})")
        return text

    return parse


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"must be true or false (got {value!r})")


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse_optional(value: Any) -> Any:
        if value is None or str(value).strip().lower() in ("none", "off", "unlimited", ""):
            return None
        return parse(value)

    return parse_optional


def _share_number(value: Any, words: str) -> float:
    """A share as a number (0.25) or a percentage ("25%")."""
    text = value.strip() if isinstance(value, str) else value
    try:
        if isinstance(text, str) and text.endswith("%"):
            return float(text[:-1]) / 100.0
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{words}, or a percentage such as 25% (got {value!r})") from None


def _fraction(value: Any) -> float:
    words = "must be a fraction from 0 to below 1"
    number = _share_number(value, words)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{words} (got {value!r})")
    return number


def _share(value: Any) -> float:
    """A share from 0 to 1 inclusive (a guest may have every page zero: never written)."""
    words = "must be a share from 0 to 1"
    number = _share_number(value, words)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{words} (got {value!r})")
    return number


def _int(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"must be a whole number (got {value!r})")
    try:
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise ValueError(f"must be a whole number (got {value!r})") from None


SEED_MAX = 2**32 - 1  # a fleet scenario's seeds too (its VM's anatomy runs with the fleet's)


def _seed(value: Any) -> int:
    seed = _int(value)
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"must be a whole number from 0 to {SEED_MAX} (got {seed})")
    return seed


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number (got {value!r})") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"must be a finite number (got {value!r})")
    return number


def _workload(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    name = str(value).strip()
    if name not in PRESETS:
        raise ValueError(f"unknown workload preset {name!r}; presets: {', '.join(PRESETS)}")
    return name


def _layout(value: Any) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in (value.split(",") if isinstance(value, str) else value))
    if sorted(parts) != sorted(REGION_KINDS):
        raise ValueError(
            "must name hot, cold and zero once each, in address order (e.g. hot,cold,zero)"
        )
    return parts


@dataclass(frozen=True)
class Parameter:
    parse: Callable[[Any], Any]
    default: Any
    help: str
    flag_kind: str = "value"  # value | bool


PARAMETERS: dict[str, Parameter] = {
    # guest
    "memory": Parameter(parse_bytes, "4GiB", "guest memory size (e.g. 4GiB)"),
    "workload": Parameter(
        _workload, None, f"workload preset: {', '.join(PRESETS)} (fills the dirtying parameters)"
    ),
    "dirty_rate": Parameter(
        _optional(parse_rate), None, "bytes/s of page writes, 4096 B per write (e.g. 200MB/s)"
    ),
    "working_set": Parameter(
        _optional(parse_bytes), None, "region the writes land in (default: all non-zero memory)"
    ),
    "write_pattern": Parameter(
        _choice(WRITE_PATTERNS), "random", "random (saturating) or sequential (sweep)"
    ),
    "dirty_model": Parameter(
        _choice(DIRTY_MODELS), "saturating", "saturating W(1-exp(-rt/W)) or linear D*t"
    ),
    "zero_fraction": Parameter(
        _share, None, "share of pages never written, 0 to 1 (9 B each on QEMU's wire)"
    ),
    "layout": Parameter(
        _layout, "hot,cold,zero", "address order of the hot (working sets), cold and zero regions"
    ),
    "write_start": Parameter(
        _fraction,
        0.0,
        "where a sequential writer's pointer is when pre-copy starts, a share of its working "
        "set from 0 (its first page) to below 1",
    ),
    "packet_rate": Parameter(
        _optional(parse_rate), None, "inbound packets/s to the VM (default: from the workload)"
    ),
    # link
    "bandwidth": Parameter(parse_rate, "10Gbit/s", "link rate (e.g. 10Gbit/s, 1.25GB/s)"),
    "max_bandwidth": Parameter(
        _optional(parse_rate),
        "policy",
        "live-round rate cap (default 128MiB/s for qemu, none otherwise)",
    ),
    # policy
    "policy": Parameter(
        _choice(POLICIES), "qemu", "pre-copy stop rule: textbook, qemu, xen or gce"
    ),
    "downtime_limit": Parameter(
        parse_duration, "300ms", "downtime the stop rule aims for (QEMU default 300ms)"
    ),
    "auto_converge": Parameter(
        _bool, False, "throttle the vCPUs when dirtying outruns the link (qemu, gce)", "bool"
    ),
    "post_copy": Parameter(
        _bool,
        False,
        "switch to post-copy after the first pass if not converged (qemu, gce)",
        "bool",
    ),
    "completion_timeout": Parameter(
        parse_duration,
        "150s",
        "qemu/gce operator timeout per GiB of memory (KubeVirt 150s, Nova 800s)",
    ),
    "timeout_action": Parameter(
        _choice(TIMEOUT_ACTIONS), "abort", "what the operator does at the timeout"
    ),
    "downtime_ramp_steps": Parameter(
        _int, 0, "Nova-style downtime ramp: steps from limit/steps up to the limit (0: off)"
    ),
    "downtime_ramp_delay": Parameter(
        parse_duration, "75s", "time per ramp step, per GiB of memory (Nova 75s)"
    ),
    "wire_format": Parameter(
        _choice(WIRE_FORMATS), "policy", "qemu (4104 B a page, 9 B a zero page) or raw (4096 B)"
    ),
    "max_rounds": Parameter(
        _optional(_int), "policy", "live rounds before a forced stop (xen 29, textbook/gce 30)"
    ),
    "max_volume": Parameter(
        _optional(_float),
        "policy",
        "bytes sent before a forced stop, as a multiple of memory (xen/gce 3)",
    ),
    "min_shrink": Parameter(
        _fraction, 0.1, "gce: share a round must shrink pending by, else blackout starts"
    ),
    "adaptive_rate": Parameter(
        _bool,
        True,
        "xen: 100 Mbit/s first, then dirty rate + 50 Mbit/s, at most 500 Mbit/s",
        "bool",
    ),
    # switch-over
    "page_time": Parameter(
        parse_duration,
        "0s",
        "the migration thread's time per page (reading it, testing it for zero): a page "
        "takes the longer of this and its wire bytes at the link rate (0: not modelled)",
    ),
    "wake_latency": Parameter(
        parse_duration,
        "0s",
        "how late the migration thread wakes from each rate-limit sleep (qemu, gce): a window "
        "that ends asleep lasts 100 ms plus this (0: on time)",
    ),
    "send_buffer": Parameter(
        parse_bytes,
        "0B",
        "the source's socket send buffer (and the receiver's window): QEMU's downtime counter "
        "stops once the final copy is in it, before the destination has it (0: no buffer)",
    ),
    "sender_rate": Parameter(
        _optional(parse_rate),
        None,
        "how fast the source alone writes its stream into that buffer (default: the link rate)",
    ),
    "device_state": Parameter(parse_bytes, "2MiB", "device and CPU state sent during blackout"),
    "stop_time": Parameter(
        parse_duration,
        "0s",
        "the source's own work once the guest is stopped, beside sending bytes (QEMU: pausing "
        "the vCPUs, the last dirty-bitmap sync, saving the devices): in the blackout and in "
        "QEMU's downtime counter (0: not modelled)",
    ),
    "resume_time": Parameter(parse_duration, "20ms", "time for the target to resume the guest"),
    "fault_latency": Parameter(parse_duration, "500us", "post-copy: stall per remote page fault"),
    # around the migration
    "guest_watches": Parameter(
        _bool, False, "the guest polls the maintenance-event metadata key (60 s notice)", "bool"
    ),
    "target_setup": Parameter(
        parse_duration, "2s", "choose a target, create the empty VM, authenticate"
    ),
    "cleanup": Parameter(parse_duration, "1s", "delete the source VM"),
    "fabric_convergence": Parameter(
        parse_duration, "1s", "time until the network fabric sends traffic to the target"
    ),
    "forwarding": Parameter(
        _bool, True, "the source forwards packets until the fabric converges", "bool"
    ),
    "forwarding_latency": Parameter(
        parse_duration, "50us", "extra latency of the detour through the source"
    ),
    # computation
    "resolution": Parameter(
        _choice(RESOLUTIONS), "fluid", "fluid (expected values) or pages (per-page bitmap)"
    ),
    "seed": Parameter(_seed, 1, f"random seed (pages resolution), 0 to {SEED_MAX}"),
}


def _parse(name: str, value: Any) -> Any:
    try:
        return PARAMETERS[name].parse(value)
    except InvalidParameter:
        raise
    except (ValueError, TypeError) as exc:
        raise InvalidParameter(name, str(exc)) from None


def build_spec(**params: Any) -> MigrationSpec:
    """Read parameters (strings with units, or plain numbers) into a validated ``MigrationSpec``.

    Raises ``InvalidParameter`` naming the first bad parameter.
    """
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; known: {', '.join(PARAMETERS)}")
    given = {k: v for k, v in params.items() if v is not None}
    raw = {name: given.get(name, p.default) for name, p in PARAMETERS.items()}
    policy = _parse("policy", raw["policy"])
    for name in ("max_bandwidth", "wire_format", "max_rounds", "max_volume"):
        if raw[name] == "policy":
            raw[name] = POLICY_DEFAULTS[policy][name]
    v = {name: (_parse(name, value) if value is not None else None) for name, value in raw.items()}

    memory = v["memory"]
    if memory < PAGE_SIZE_BYTES:
        raise InvalidParameter("memory", "must be at least one 4096 B page")
    if memory > MAX_MEMORY_BYTES:
        raise InvalidParameter("memory", "must be at most 16TiB")
    if v["bandwidth"] < MIN_RATE_BPS:
        raise InvalidParameter("bandwidth", "must be at least 1bit/s")
    if v["max_bandwidth"] is not None and v["max_bandwidth"] < MIN_RATE_BPS:
        raise InvalidParameter("max_bandwidth", "must be at least 1bit/s (or none)")
    if v["downtime_limit"] <= 0:
        raise InvalidParameter("downtime_limit", "must be > 0")
    if v["downtime_limit"] > MAX_DOWNTIME_LIMIT_S:
        raise InvalidParameter(
            "downtime_limit",
            "must be at most 2000s (QEMU refuses a longer "
            "downtime-limit: MAX_MIGRATE_DOWNTIME_SECONDS)",
        )
    for name in ("bandwidth", "max_bandwidth", "dirty_rate"):
        if v[name] is not None and v[name] > MAX_RATE_BPS:
            raise InvalidParameter(
                name, "must be at most 1e15B/s (1 PB/s: faster than any memory bus or link)"
            )
    for name in (
        "stop_time",
        "resume_time",
        "fault_latency",
        "target_setup",
        "cleanup",
        "fabric_convergence",
        "forwarding_latency",
    ):
        if v[name] > MAX_DURATION_S:
            raise InvalidParameter(name, f"must be at most {MAX_DURATION_S:g}s (about 32 years)")
    if v["wake_latency"] > MAX_WAKE_LATENCY_S:
        raise InvalidParameter(
            "wake_latency", "must be at most 1s (a thread ten windows late is stuck, not slow)"
        )
    if v["send_buffer"] > MAX_MEMORY_BYTES:
        raise InvalidParameter("send_buffer", "must be at most 16TiB")
    if v["sender_rate"] is not None:
        if v["sender_rate"] > MAX_RATE_BPS:
            raise InvalidParameter("sender_rate", "must be at most 1e15B/s (1 PB/s)")
        if v["sender_rate"] < v["bandwidth"]:
            raise InvalidParameter(
                "sender_rate",
                "must be at least the bandwidth (the link cannot carry more than the source "
                "writes)",
            )
    written_page_bytes = WIRE_COST_BYTES[v["wire_format"]]["normal"]
    if v["page_time"] * v["bandwidth"] > written_page_bytes:
        raise InvalidParameter(
            "page_time",
            f"must be at most the time a written page takes on the link ({written_page_bytes} B "
            f"at the bandwidth: {written_page_bytes / v['bandwidth'] * 1e9:.6g} ns); "
            "a migration thread slower than its link for every page is not modelled",
        )
    if v["device_state"] > MAX_MEMORY_BYTES:
        raise InvalidParameter("device_state", "must be at most 16TiB")
    if v["packet_rate"] is not None and v["packet_rate"] > MAX_RATE_BPS:
        raise InvalidParameter("packet_rate", "must be at most 1e15 packets/s")
    if v["resolution"] == "pages" and memory // PAGE_SIZE_BYTES > MAX_PAGES_BITMAP_BYTES:
        raise InvalidParameter(
            "resolution",
            "pages keeps a dirty bitmap of one byte a page: at "
            "most 256 MiB of bitmap, a 1 TiB guest; use fluid "
            "for larger ones",
        )
    if v["completion_timeout"] <= 0:
        raise InvalidParameter("completion_timeout", "must be > 0 (QEMU never gives up by itself)")
    if v["downtime_ramp_steps"] < 0:
        raise InvalidParameter("downtime_ramp_steps", "must be >= 0")
    if v["max_rounds"] is not None and v["max_rounds"] < 1:
        raise InvalidParameter("max_rounds", "must be >= 1 (or none)")
    if v["max_volume"] is not None and v["max_volume"] < 1:
        raise InvalidParameter("max_volume", "must be >= 1 (memory must be sent once)")
    if v["post_copy"] and policy not in ("qemu", "gce"):
        raise InvalidParameter("post_copy", "post-copy is a qemu/gce feature")
    if v["timeout_action"] == "post-copy" and policy not in ("qemu", "gce"):
        raise InvalidParameter("timeout_action", "post-copy is a qemu/gce feature")

    working_sets, zero_fraction, packet_rate = _dirtying(v, memory)
    return MigrationSpec(
        memory_bytes=float(memory // PAGE_SIZE_BYTES * PAGE_SIZE_BYTES),
        working_sets=working_sets,
        zero_fraction=zero_fraction,
        dirty_model=v["dirty_model"],
        layout=v["layout"],
        write_start=v["write_start"],
        packet_rate_pps=packet_rate,
        workload=v["workload"],
        bandwidth_bps=v["bandwidth"],
        max_bandwidth_bps=v["max_bandwidth"],
        page_time_s=v["page_time"],
        wake_latency_s=v["wake_latency"],
        send_buffer_bytes=v["send_buffer"],
        sender_bps=v["sender_rate"],
        policy=policy,
        downtime_limit_s=v["downtime_limit"],
        auto_converge=v["auto_converge"],
        post_copy=v["post_copy"],
        completion_timeout_s_per_gib=v["completion_timeout"],
        timeout_action=v["timeout_action"],
        downtime_ramp_steps=v["downtime_ramp_steps"],
        downtime_ramp_delay_s_per_gib=v["downtime_ramp_delay"],
        wire_format=v["wire_format"],
        max_rounds=v["max_rounds"],
        max_volume=v["max_volume"],
        min_shrink=v["min_shrink"],
        adaptive_rate=v["adaptive_rate"],
        device_state_bytes=v["device_state"],
        stop_time_s=v["stop_time"],
        resume_time_s=v["resume_time"],
        postcopy_fault_latency_s=v["fault_latency"],
        guest_watches=v["guest_watches"],
        target_setup_s=v["target_setup"],
        cleanup_s=v["cleanup"],
        fabric_convergence_s=v["fabric_convergence"],
        forwarding=v["forwarding"],
        forwarding_latency_s=v["forwarding_latency"],
        resolution=v["resolution"],
        seed=v["seed"],
        params={
            k: (val if isinstance(val, (int, float, bool, str)) else str(val))
            for k, val in given.items()
        },
    )


def _dirtying(v: dict[str, Any], memory: float) -> tuple[tuple[WorkingSet, ...], float, float]:
    """Working sets, zero share and packet rate: from the preset, overridden by explicit values."""
    preset = PRESETS[v["workload"]] if v["workload"] else None
    if preset is None and v["dirty_rate"] is None:
        if v["zero_fraction"] == 1.0 and v["working_set"] in (None, 0.0):
            v = {**v, "dirty_rate": 0.0}  # every page zero: a guest that has written nothing
        else:
            preset = PRESETS["web"]
    zero_fraction = v["zero_fraction"]
    if zero_fraction is None:
        zero_fraction = preset.zero_fraction if preset else 0.0
    packet_rate = v["packet_rate"]
    if packet_rate is None:
        packet_rate = preset.packet_rate_pps if preset else 10_000.0
    writable = memory * (1.0 - zero_fraction)

    if v["dirty_rate"] is not None or v["working_set"] is not None or preset is None:
        rate = (
            v["dirty_rate"]
            if v["dirty_rate"] is not None
            else (preset.dirty_rate_bps if preset else 0.0)
        )
        size = v["working_set"] if v["working_set"] is not None else writable
        if rate > 0 and size < PAGE_SIZE_BYTES:
            if v["working_set"] is not None:
                raise InvalidParameter(
                    "working_set",
                    "a guest that writes needs a working set "
                    "of at least one 4096 B page (or --dirty-rate 0)",
                )
            raise InvalidParameter(
                "dirty_rate",
                "no page is left to write to (every page is zero: zero_fraction 1); give 0",
            )
        if rate == 0:
            size = min(size, writable)  # nothing written: the set is only a label
        if size > writable * (1 + 1e-9):
            raise InvalidParameter(
                "working_set",
                "must fit in the memory that is not zero pages (memory x (1 - zero_fraction))",
            )
        working_sets = (
            WorkingSet(
                size_bytes=min(size, writable), write_rate_bps=rate, pattern=v["write_pattern"]
            ),
        )
    else:
        working_sets = preset.working_sets_for(memory)
        if sum(ws.size_bytes for ws in working_sets) > writable * (1 + 1e-9):
            raise InvalidParameter(
                "zero_fraction", "leaves too little memory for the workload's working sets"
            )
    return working_sets, zero_fraction, packet_rate
