"""Scenarios: a fleet, a policy, caps and maintenance events, and their validation.

``parse_scenario(dict)`` validates everything and raises ``ScenarioError`` naming the path of
the first bad field: ``fleet.racks[3].hosts: must be > 0``. docs/fleet.md documents the schema;
``text.py`` reads scenario text (files, presets, uploads) into the dicts this module checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from migrationsim.errors import InvalidParameter
from migrationsim.spec import (
    MAX_DURATION_S,
    MAX_MEMORY_BYTES,
    MAX_RATE_BPS,
    MIN_RATE_BPS,
    PARAMETERS,
    SEED_MAX,
    build_spec,
)
from migrationsim.units import (
    PAGE_SIZE_BYTES,
    format_bytes,
    parse_bytes,
    parse_duration,
    parse_rate,
)
from migrationsim.workload import PRESETS as WORKLOADS

from .scoring import SCORINGS

EVENT_KINDS = ("bios_rollout", "urgent_patch", "kernel_upgrade", "hw_failure")
EVENT_KIND_WORDS = {  # a kind in words, for pages and the run's notes (not its code)
    "bios_rollout": "BIOS rollout",
    "urgent_patch": "urgent patch",
    "kernel_upgrade": "kernel upgrade",
    "hw_failure": "hardware failure",
}
MAX_VMS = 2_000_000
MAX_HOSTS = 200_000


def workload_names() -> list[str]:
    """The workload presets a VM mix may name."""
    return list(WORKLOADS)


class ScenarioError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- the parsed scenario ---------------------------------------------------------------------


@dataclass(frozen=True)
class RackGroup:
    name: str
    count: int
    hosts: int
    vcpus: int
    memory_bytes: float
    nic_bps: float
    uplink_bps: float
    zone: str | None = None  # None: the fleet's zone (``fleet.zone``)


@dataclass(frozen=True)
class VmMix:
    per_host: int
    memory_bytes: tuple[float, float]  # uniform range, whole GiB steps
    vcpus: tuple[int, int]
    workloads: tuple[tuple[str, float], ...]  # (preset, share)
    customers: int
    anti_affinity_groups: int
    anti_affinity_share: float
    gpu_share: float
    spot_share: float
    terminate_share: float
    watching_share: float
    automatic_restart_share: float


@dataclass(frozen=True)
class VmSpec:
    """One VM listed explicitly (``fleet.vm_list``), e.g. a real fleet exported from inventory."""

    name: str
    host: str
    memory_bytes: float
    vcpus: int
    workload: str
    customer: str
    anti_affinity: str | None
    on_host_maintenance: str
    automatic_restart: bool
    accelerator: str | None
    spot: bool
    watches_metadata: bool


@dataclass(frozen=True)
class MaintenanceEvent:
    name: str
    kind: str
    start_s: float
    scope_zone: bool
    scope_racks: tuple[str, ...]
    scope_hosts: tuple[str, ...]
    deadline_s: float | None  # after start; hosts still busy then are rebooted anyway
    window: tuple[float, float] | None  # migrations start only inside [start, end)
    max_hosts_in_maintenance: str | int  # a count of hosts, or a share of the scope ("10%")
    host_downtime_s: float
    failure_after_mean_s: float | None  # hw_failure: exponential time to failure
    scope_zones: tuple[str, ...] = ()  # of a region: every host of these zones


@dataclass(frozen=True)
class Caps:
    per_source_host: int | None = 2
    per_target_host: int | None = 2
    per_rack: int | None = None
    per_customer: int | None = None
    global_: int | None = None
    headroom: float = 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    zone: str
    racks: tuple[RackGroup, ...]
    spine_bps: float | None
    vms: VmMix
    vm_list: tuple  # of VmSpec; when given, the VMs are these and the mix is not drawn
    policy: dict  # migrationsim parameters (build_spec keywords)
    caps: Caps
    migration_share: float
    fabric_convergence_median_s: float
    fabric_convergence_sigma: float
    scoring: str
    candidates: int
    auth_failure: float
    target_failure: float
    source_failure: float
    target_setup_s: float
    cleanup_s: float
    restart_s: float
    events: tuple[MaintenanceEvent, ...]
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def host_count(self) -> int:
        return sum(g.count * g.hosts for g in self.racks)

    @property
    def vm_count(self) -> int:
        """The VMs listed, or those the mix puts on every host (a full host gets fewer)."""
        return len(self.vm_list) if self.vm_list else self.host_count * self.vms.per_host


# --- reading ---------------------------------------------------------------------------------

EVERY_DEFAULT = object()  # a mapping given as null: each of its keys takes its default
_DEFAULTED_NULLS: ContextVar[dict[str, Any] | None] = ContextVar("defaulted_nulls", default=None)


@contextmanager
def noting_defaulted_nulls() -> Iterator[dict[str, Any]]:
    """Within it, each key a scenario gives as ``null`` that reads as a default rather than as
    nothing (not None, 0 or empty) is noted in the dict yielded, path -> default
    (``EVERY_DEFAULT`` for a mapping given as null with such a key inside):
    ``caps.per_source_host: null`` is a cap of 2, not "no cap" (``overrides.py`` refuses such a
    ``--set``, which asked for a limit to be removed)."""
    noted: dict[str, Any] = {}
    token = _DEFAULTED_NULLS.set(noted)
    try:
        yield noted
    finally:
        _DEFAULTED_NULLS.reset(token)


def _a_default_that_limits(default: Any) -> bool:
    """Not "nothing": None, a zero (no headroom, no failures) and an empty value are."""
    if default is None or isinstance(default, bool):
        return False
    if isinstance(default, int | float):
        return default != 0
    return not (isinstance(default, str | tuple | list | dict) and not default)


def _note_defaulted_null(path: str, default: Any) -> None:
    noted = _DEFAULTED_NULLS.get()
    if noted is not None:
        noted[path] = default


class _Reader:
    """Reads one mapping of the scenario, naming the path of anything wrong."""

    def __init__(self, data: Any, path: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ScenarioError(path or "scenario", "must be a mapping of keys to values")
        self.data, self.path = data, path
        self.used: set[str] = set()
        self.nulled = False  # given as null (``caps: null``): each key takes its default

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, parse: Callable[[Any], Any], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if _a_default_that_limits(default):  # given as null, it is not "nothing"
                if key in self.data:
                    _note_defaulted_null(self.at(key), default)
                elif self.nulled:
                    _note_defaulted_null(self.path, EVERY_DEFAULT)
            return default
        try:
            return parse(self.data[key])
        except ScenarioError:
            raise
        except (ValueError, TypeError, InvalidParameter) as exc:
            raise ScenarioError(self.at(key), str(getattr(exc, "message", exc))) from None

    def sub(self, key: str) -> _Reader:
        self.used.add(key)
        reader = _Reader(self.data.get(key), self.at(key))
        reader.nulled = key in self.data and self.data[key] is None
        return reader

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ScenarioError(self.at(str(unknown[0])), "unknown key")


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a whole number")
        try:
            number = float(value)
        except OverflowError:  # an int of 309+ digits
            raise ValueError("must be a whole number of at most 308 digits") from None
        except ValueError:  # not Python's "could not convert string to float: 'x'"
            raise ValueError(f"must be a whole number (got {value!r})") from None
        if not math.isfinite(number) or number != int(number):
            raise ValueError("must be a whole number")
        number = int(number)
        if lo is not None and number < lo:
            raise ValueError(f"must be >= {lo}" if lo != 1 else "must be > 0")
        if hi is not None and number > hi:
            raise ValueError(f"must be <= {hi}")
        return number

    return parse


def _share(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number from 0 to 1")
    try:
        number = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"must be a number from 0 to 1 (got {value!r})") from None
    if not (0.0 <= number <= 1.0):
        raise ValueError("must be a number from 0 to 1")
    return number


def _replayed_duration(value: Any) -> float:
    """A duration a fleet VM's anatomy replays as a single-VM parameter (target setup, cleanup,
    fabric convergence): within the single-VM model's limit, 1e9 s (about 32 years). Beyond
    it the replay could only fail, and a convergence of 1e308 s made the run's packet counts
    infinite (the run failed storing its VM rows)."""
    number = parse_duration(value)
    if number > MAX_DURATION_S:
        raise ValueError(f"must be at most {MAX_DURATION_S:g}s (about 32 years)")
    return number


def _positive(parse: Callable[[Any], float]) -> Callable[[Any], float]:
    def parse_positive(value: Any) -> float:
        number = parse(value)
        if not number > 0:
            raise ValueError("must be > 0")
        return number

    return parse_positive


def _vm_memory(value: Any) -> float:
    """A VM's memory: what the single-VM model migrates (one page to 16 TiB, ``spec.py``)."""
    number = parse_bytes(value)
    if not PAGE_SIZE_BYTES <= number <= MAX_MEMORY_BYTES:
        raise ValueError(
            f"a VM's memory must be from one {PAGE_SIZE_BYTES} B page to "
            f"{format_bytes(MAX_MEMORY_BYTES)}"
        )
    return number


def _text(value: Any, limit: int = 200) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("must be text")
    text = str(value)
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


def default_vm_name(index: int) -> str:
    """The name of the VM at ``index`` (from 0) of a drawn fleet, or of a listed one that gives
    it none: ``vm-1``, ``vm-2``... (``build.py``, ``roster.py`` read names by this rule)."""
    return f"vm-{index + 1}"


def _vm_name(value: Any) -> str:
    """A listed VM's name: text that can be one segment of a URL path, since its anatomy
    (``/fleets/runs/<id>/vms/<name>/anatomy/``) and a rehearsal guest's metadata server are
    found by it. A name that was empty, held a '/' or was '.' or '..' was accepted and its
    VM could never be opened (a 404 for a VM the run's results listed)."""
    name = _text(value)
    if not name.strip():
        raise ValueError("must not be empty")
    if "/" in name or name in (".", ".."):
        raise ValueError(f"{name!r} cannot be a VM's name: no '/', and not '.' or '..'")
    return name


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list of names")
    return tuple(_text(v) for v in value)


def _range(parse: Callable[[Any], float]) -> Callable[[Any], tuple[float, float]]:
    def parse_range(value: Any) -> tuple[float, float]:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError("must be a value or a [low, high] pair")
            lo, hi = parse(value[0]), parse(value[1])
        else:
            lo = hi = parse(value)
        if lo <= 0 or hi < lo:
            raise ValueError("must be > 0, with low <= high")
        return lo, hi

    return parse_range


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _policy(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of migration parameters")
    params = {k.replace("-", "_"): v for k, v in value.items()}
    if "policy" in params and "name" in params:  # one silently overruled the other
        raise ScenarioError(
            "policy.policy",
            "the policy's name is given twice, as policy.name and policy.policy: give it once",
        )
    name_key = "name" if "name" in params else "policy"  # (policy: the single-VM spelling)
    if "name" in params:
        params["policy"] = params.pop("name")
    for key in params:
        if key not in PARAMETERS or key in (
            "memory",
            "workload",
            "dirty_rate",
            "working_set",
            "seed",
        ):
            raise ScenarioError(
                f"policy.{key}",
                "unknown migration parameter (memory and workload come from each VM)",
            )
    for key in params:
        if key in SET_BY_THE_FLEET:
            raise ScenarioError(f"policy.{key}", SET_BY_THE_FLEET[key])
    try:
        build_spec(**params)
    except InvalidParameter as exc:
        field = name_key if exc.field == "policy" else exc.field
        raise ScenarioError(f"policy.{field}", exc.message) from None
    if params.get("resolution", "fluid") != "fluid":
        raise ScenarioError("policy.resolution", "fleets run at fluid resolution")
    for key, given in value.items():
        if given is None:  # ``build_spec`` reads null as the policy's default, never as "off"
            off = " (give none for no cap)" if key.replace("-", "_") == "max_bandwidth" else ""
            _note_defaulted_null(f"policy.{key}", f"the policy's default{off}")
    return params


# Single-VM parameters a fleet's policy may not set: the fleet gives them per host or per VM, or
# does not model them. Accepted, each would be ignored (or break a run its check never saw).
SET_BY_THE_FLEET = {
    "bandwidth": "each VM's link is its host NIC's migration share "
    "(fleet.host.nic, network.migration_share); the cap is policy.max_bandwidth",
    "target_setup": "a fleet's target setup time is timing.target_setup",
    "cleanup": "a fleet's cleanup time is timing.cleanup",
    "fabric_convergence": "a fleet's fabric convergence is network.fabric_convergence",
    "guest_watches": "which guests watch the metadata server is fleet.vms.watching_share "
    "(or each listed VM's watches_metadata)",
    "fault_latency": "the fleet models a post-copy push by its bytes, not its page faults",
    "page_time": "the migration thread's time per page is a single-VM parameter (measured by "
    "the validation on one host); the fleet shares links by average rates and does not take it",
}


def _policy_fits_every_workload(policy: dict, vm_mix, vm_list: tuple) -> None:
    """The policy with each workload the fleet's VMs run, at the smallest memory a VM of it has
    (a zero-page share that leaves no room for a workload's working sets is refused here, not in
    the middle of a run)."""
    smallest: dict[str, float] = {}
    if vm_list:
        for vm in vm_list:
            smallest[vm.workload] = min(smallest.get(vm.workload, math.inf), vm.memory_bytes)
    elif vm_mix.per_host:
        smallest = {name: vm_mix.memory_bytes[0] for name, share in vm_mix.workloads if share > 0}
    for workload, memory_bytes in sorted(smallest.items()):
        try:
            build_spec(memory=memory_bytes, workload=workload, **policy)
        except InvalidParameter as exc:
            raise ScenarioError(
                f"policy.{exc.field}",
                f"{exc.message} (with the {workload!r} workload in a VM of "
                f"{format_bytes(memory_bytes)})",
            ) from None


def parse_scenario(data: Any) -> Scenario:
    top = _Reader(data, "")
    fleet = top.sub("fleet")
    host_defaults = fleet.sub("host")
    vcpus = host_defaults.get("vcpus", _int(1, 4096), 64)
    memory = host_defaults.get("memory", _positive(parse_bytes), 256 * 1024**3)
    nic = host_defaults.get("nic", _positive(parse_rate), 10e9 / 8)
    host_defaults.finish()
    oversubscription = fleet.get("oversubscription", _positive(float), 1.0)

    raw_racks = fleet.data.get("racks")
    fleet.used.add("racks")
    if not isinstance(raw_racks, list) or not raw_racks:
        raise ScenarioError("fleet.racks", "must be a non-empty list of rack groups")
    groups, nic_paths = [], []
    for i, raw in enumerate(raw_racks):
        rack = _Reader(raw, f"fleet.racks[{i}]")
        hosts = rack.get("hosts", _int(1, 1000), None)
        if hosts is None:
            raise ScenarioError(rack.at("hosts"), "is required (hosts per rack)")
        host = rack.sub("host")
        g_vcpus = host.get("vcpus", _int(1, 4096), vcpus)
        g_memory = host.get("memory", _positive(parse_bytes), memory)
        g_nic = host.get("nic", _positive(parse_rate), nic)
        nic_paths.append(host.at("nic") if "nic" in host.data else "fleet.host.nic")
        host.finish()
        uplink = rack.get("uplink", _positive(parse_rate), hosts * g_nic / oversubscription)
        groups.append(
            RackGroup(
                name=rack.get("name", _text, "rack"),
                count=rack.get("count", _int(1, 100_000), 1),
                hosts=hosts,
                vcpus=g_vcpus,
                memory_bytes=g_memory,
                nic_bps=g_nic,
                uplink_bps=uplink,
                zone=rack.get("zone", _text, None),
            )
        )
        rack.finish()
    if sum(g.count * g.hosts for g in groups) > MAX_HOSTS:
        raise ScenarioError("fleet.racks", f"at most {MAX_HOSTS:,} hosts in all")
    spine = fleet.get("spine", _positive(parse_rate), None)

    vms = fleet.sub("vms")
    mix_raw = vms.get("mix", lambda v: v, {"web": 1.0})
    if not isinstance(mix_raw, dict) or not mix_raw:
        raise ScenarioError("fleet.vms.mix", "must map workload presets to shares")
    mix = []
    for name, share in mix_raw.items():
        if name not in WORKLOADS:
            raise ScenarioError(
                f"fleet.vms.mix.{name}", f"unknown workload; presets: {', '.join(WORKLOADS)}"
            )
        try:
            mix.append((name, _share(share)))
        except (ValueError, TypeError) as exc:
            raise ScenarioError(f"fleet.vms.mix.{name}", str(exc)) from None
    if sum(s for _, s in mix) <= 0:
        raise ScenarioError("fleet.vms.mix", "shares must add up to more than 0")
    mix.sort()  # the same fleet whatever order the keys were stored in (PostgreSQL reorders JSON)
    vm_mix = VmMix(
        per_host=vms.get("per_host", _int(0, 1000), 8),
        memory_bytes=vms.get("memory", _range(_vm_memory), (1024**3, 16 * 1024**3)),
        vcpus=tuple(int(x) for x in vms.get("vcpus", _range(_int(1, 4096)), (1, 8))),
        workloads=tuple(mix),
        customers=vms.get("customers", _int(1, 1_000_000), 20),
        anti_affinity_groups=vms.get("anti_affinity_groups", _int(0, 1_000_000), 0),
        anti_affinity_share=vms.get("anti_affinity_share", _share, 0.0),
        gpu_share=vms.get("gpu_share", _share, 0.0),
        spot_share=vms.get("spot_share", _share, 0.0),
        terminate_share=vms.get("terminate_share", _share, 0.0),
        watching_share=vms.get("watching_share", _share, 0.0),
        automatic_restart_share=vms.get("automatic_restart_share", _share, 1.0),
    )
    vms.finish()
    zone = fleet.get("zone", _text, "zone-a")
    vm_list = _vm_list(fleet, groups)
    fleet.finish()
    if not vm_list and sum(g.count * g.hosts for g in groups) * vm_mix.per_host > MAX_VMS:
        raise ScenarioError("fleet.vms.per_host", f"at most {MAX_VMS:,} VMs in all")
    if not vm_list and vm_mix.per_host:
        _smallest_vm_fits_some_host(vm_mix, groups)

    policy = top.get("policy", _policy, {"policy": "qemu"})
    _policy_fits_every_workload(policy, vm_mix, vm_list)

    caps_r = top.sub("caps")
    optional_count = _int(1, 10_000_000)
    caps = Caps(
        per_source_host=caps_r.get("per_source_host", optional_count, 2),
        per_target_host=caps_r.get("per_target_host", optional_count, 2),
        per_rack=caps_r.get("per_rack", optional_count, None),
        per_customer=caps_r.get("per_customer", optional_count, None),
        global_=caps_r.get("global", optional_count, None),
        headroom=caps_r.get("headroom", _share, 0.0),
    )
    caps_r.finish()

    net = top.sub("network")
    migration_share = net.get("migration_share", _positive(_share), 0.5)
    _check_migration_rate(groups, nic_paths, migration_share)
    conv_median = net.get("fabric_convergence", _positive(_replayed_duration), 1.0)
    conv_sigma = net.get("fabric_convergence_sigma", _share, 0.5)
    net.finish()

    placement = top.sub("placement")
    scoring = placement.get("scoring", _choice(tuple(SCORINGS)), "least_loaded")
    candidates = placement.get("candidates", _int(1, 100_000), 64)
    placement.finish()

    failures = top.sub("failures")
    auth_failure = failures.get("auth_failure", _share, 0.0)
    target_failure = failures.get("target_failure", _share, 0.0)
    source_failure = failures.get("source_failure", _share, 0.0)
    failures.finish()

    timing = top.sub("timing")
    target_setup = timing.get("target_setup", _replayed_duration, 2.0)
    cleanup = timing.get("cleanup", _replayed_duration, 1.0)
    restart = timing.get("restart", parse_duration, 60.0)
    timing.finish()

    raw_events = top.data.get("events")
    top.used.add("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise ScenarioError("events", "must be a non-empty list of maintenance events")
    events = [_event(raw, i) for i, raw in enumerate(raw_events)]
    _check_event_names(events)
    rack_names = rack_names_of(groups)
    _check_host_name_lengths(groups, rack_names)
    host_names = {
        f"{rack}-h{j + 1}"
        for rack, g in zip(rack_names, _group_of_each_rack(groups), strict=False)
        for j in range(g.hosts)
    }
    known_racks = set(rack_names)
    known_zones = {g.zone or zone for g in groups}
    for i, ev in enumerate(events):
        for name in ev.scope_zones:
            if name not in known_zones:
                raise ScenarioError(
                    f"events[{i}].scope.zones",
                    f"no zone named {name!r}; zones: {', '.join(sorted(known_zones))}",
                )
        for name in ev.scope_racks:
            if name not in known_racks:
                raise ScenarioError(f"events[{i}].scope.racks", f"no rack named {name!r}")
        for name in ev.scope_hosts:
            if name not in host_names:
                raise ScenarioError(f"events[{i}].scope.hosts", f"no host named {name!r}")

    scenario = Scenario(
        name=top.get("name", _text, "scenario"),
        description=top.get("description", lambda v: _text(v, 4000), ""),
        seed=top.get("seed", _int(0, SEED_MAX), 1),
        zone=zone,
        racks=tuple(groups),
        spine_bps=spine,
        vms=vm_mix,
        vm_list=vm_list,
        policy=policy,
        caps=caps,
        migration_share=migration_share,
        fabric_convergence_median_s=conv_median,
        fabric_convergence_sigma=conv_sigma,
        scoring=scoring,
        candidates=candidates,
        auth_failure=auth_failure,
        target_failure=target_failure,
        source_failure=source_failure,
        target_setup_s=target_setup,
        cleanup_s=cleanup,
        restart_s=restart,
        events=tuple(events),
        raw=data if isinstance(data, dict) else {},
    )
    top.finish()
    return scenario


def _check_migration_rate(groups: list, nic_paths: list[str], migration_share: float) -> None:
    """A migration gets its host NIC's migration share (``engine.vm_nic_share``): at least the
    single-VM model's slowest link, 1 bit/s, and at most its fastest, 1e15 B/s (1 PB/s), or
    the first migration would fail the run (a 1e308 bit/s NIC crashed it in ``build_spec``)."""
    for group, path in zip(groups, nic_paths, strict=True):
        if group.nic_bps * migration_share < MIN_RATE_BPS:
            raise ScenarioError(
                path,
                f"must give a migration at least 1bit/s (a migration gets {migration_share:.3g} "
                "of the NIC: network.migration_share)",
            )
        if group.nic_bps * migration_share > MAX_RATE_BPS:
            raise ScenarioError(
                path,
                "must give a migration at most 1e15B/s (1 PB/s: faster than any link; a "
                f"migration gets {migration_share:.3g} of the NIC: network.migration_share)",
            )


MAX_NAME_CHARS = 200  # a rack's, a host's or a VM's name (the web stores each in 200)


def _check_host_name_lengths(groups, rack_names: list[str]) -> None:
    """A host is named after its rack (``<prefix><n>-h<m>``): a prefix of up to 200 characters
    made host names longer than any name may be (PostgreSQL refused the run's VM rows, after
    the whole run)."""
    for rack, group in zip(rack_names, _group_of_each_rack(groups), strict=False):
        host = f"{rack}-h{group.hosts}"
        if len(host) > MAX_NAME_CHARS:
            index = next(i for i, g in enumerate(groups) if g is group)
            raise ScenarioError(
                f"fleet.racks[{index}].name",
                f"too long: its hosts would be named like {host[:20]}...{host[-12:]} "
                f"({len(host)} characters); a host's name is at most {MAX_NAME_CHARS}",
            )


def rack_names_of(groups) -> list[str]:
    """Rack names in order: a group's prefix and a number that counts on across groups."""
    names, counters = [], {}
    for g in groups:
        for _ in range(g.count):
            counters[g.name] = counters.get(g.name, 0) + 1
            names.append(f"{g.name}{counters[g.name]}")
    return names


def _group_of_each_rack(groups) -> list:
    return [g for g in groups for _ in range(g.count)]


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _vm_list(fleet: _Reader, groups: list[RackGroup]) -> tuple:
    raw = fleet.data.get("vm_list")
    fleet.used.add("vm_list")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ScenarioError("fleet.vm_list", "must be a list of VMs")
    if len(raw) > MAX_VMS:
        raise ScenarioError("fleet.vm_list", f"at most {MAX_VMS:,} VMs")
    hosts = {
        f"{rack}-h{j + 1}"
        for rack, g in zip(rack_names_of(groups), _group_of_each_rack(groups), strict=False)
        for j in range(g.hosts)
    }
    vms, names = [], set()
    for i, item in enumerate(raw):
        vm = _Reader(item, f"fleet.vm_list[{i}]")
        name = vm.get("name", _vm_name, default_vm_name(i))
        if name in names:
            raise ScenarioError(vm.at("name"), f"{name!r} is listed twice")
        names.add(name)
        host = vm.get("host", _text, None)
        if host is None or host not in hosts:
            raise ScenarioError(vm.at("host"), f"must name a host of the fleet (like {min(hosts)})")
        workload = vm.get("workload", _choice(tuple(WORKLOADS)), "web")
        accelerator = vm.get("accelerator", _choice(("gpu", "tpu")), None)
        vms.append(
            VmSpec(
                name=name,
                host=host,
                memory_bytes=vm.get("memory", _vm_memory, 4 * 1024**3),
                vcpus=vm.get("vcpus", _int(1, 4096), 2),
                workload=workload,
                customer=vm.get("customer", _text, "customer-1"),
                anti_affinity=vm.get("anti_affinity", _text, None),
                on_host_maintenance=vm.get(
                    "on_host_maintenance", _choice(("MIGRATE", "TERMINATE")), "MIGRATE"
                ),
                automatic_restart=vm.get("automatic_restart", _bool, True),
                accelerator=accelerator,
                spot=vm.get("spot", _bool, False),
                watches_metadata=vm.get("watches_metadata", _bool, False),
            )
        )
        vm.finish()
    return tuple(vms)


DEFAULT_HOST_DOWNTIME_S = {
    "bios_rollout": 900.0,
    "urgent_patch": 300.0,
    "kernel_upgrade": 600.0,
    "hw_failure": 3600.0,
}
DEFAULT_FAILURE_AFTER_S = 1800.0  # a hardware failure's mean time to failure
DEFAULT_MAX_HOSTS_IN_MAINTENANCE = {
    "bios_rollout": "100%",
    "urgent_patch": "10%",
    "kernel_upgrade": "10%",
    "hw_failure": "100%",
}


def _host_limit(value: Any) -> str | int:
    """A count of hosts (``4``) or a share of the event's hosts (``"10%"``)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1])
        except ValueError:
            raise ValueError(
                f"must be a count of hosts (4) or a share of them (10%) (got {value!r})"
            ) from None
        if not 0 < share <= 100:
            raise ValueError("a share must be above 0% and at most 100%")
        return f"{share:g}%"
    try:
        return _int(1, 10_000_000)(value)
    except ValueError as exc:
        if isinstance(value, str) and "whole number" in str(exc):
            raise ValueError(
                f"must be a count of hosts (4) or a share of them (10%) (got {value!r})"
            ) from None
        raise


def _event(raw: Any, i: int) -> MaintenanceEvent:
    ev = _Reader(raw, f"events[{i}]")
    kind = ev.get("kind", _choice(EVENT_KINDS), None)
    if kind is None:
        raise ScenarioError(ev.at("kind"), f"is required: one of {', '.join(EVENT_KINDS)}")
    scope = ev.sub("scope")
    zone = scope.get(
        "zone", lambda v: bool(v) if isinstance(v, bool) else _bad("must be true or false"), False
    )
    zones = scope.get("zones", _names, ())
    racks = scope.get("racks", _names, ())
    hosts = scope.get("hosts", _names, ())
    scope.finish()
    if not (zone or zones or racks or hosts):
        raise ScenarioError(ev.at("scope"), "must name the zone, zones, racks or hosts")
    window = ev.sub("window")
    w_start = window.get("start", parse_duration, None)
    w_end = window.get("end", parse_duration, None)
    window.finish()
    if (w_start is None) != (w_end is None):
        raise ScenarioError(ev.at("window"), "needs both start and end")
    if w_start is not None and w_end <= w_start:
        raise ScenarioError(ev.at("window.end"), "must be after window.start")
    max_hosts = ev.get(
        "max_hosts_in_maintenance", _host_limit, DEFAULT_MAX_HOSTS_IN_MAINTENANCE[kind]
    )
    failure = ev.get(
        "failure_after",
        _positive(parse_duration),
        DEFAULT_FAILURE_AFTER_S if kind == "hw_failure" else None,
    )
    event = MaintenanceEvent(
        name=ev.get("name", _text, f"{kind}-{i + 1}"),
        kind=kind,
        start_s=ev.get("start", parse_duration, 0.0),
        scope_zone=zone,
        scope_zones=zones,
        scope_racks=racks,
        scope_hosts=hosts,
        deadline_s=ev.get("deadline", _positive(parse_duration), None),
        window=None if w_start is None else (w_start, w_end),
        max_hosts_in_maintenance=max_hosts,
        host_downtime_s=ev.get("host_downtime", parse_duration, DEFAULT_HOST_DOWNTIME_S[kind]),
        failure_after_mean_s=failure if kind == "hw_failure" else None,
    )
    ev.finish()
    return event


def _check_event_names(events: list[MaintenanceEvent]) -> None:
    """An event is known by its name (the run's rollouts, its events' log, the plan): two of
    one name made the second's rollout replace the first's, whose hosts not yet taken were
    then never taken (and said to wait behind hosts ahead of them)."""
    first: dict[str, int] = {}
    for i, ev in enumerate(events):
        if ev.name in first:
            raise ScenarioError(
                f"events[{i}].name",
                f"{ev.name!r} is the name of events[{first[ev.name]}] too; each event needs "
                "its own",
            )
        first[ev.name] = i


def _smallest_vm_fits_some_host(mix: VmMix, groups) -> None:
    """A mix whose smallest VM fits on no host would build a fleet of no VMs, and a run of
    nothing would pass for a maintenance: refused, naming what does not fit."""
    memory, vcpus = mix.memory_bytes[0], mix.vcpus[0]
    most_memory = max(g.memory_bytes for g in groups)
    most_vcpus = max(g.vcpus for g in groups)
    if memory > most_memory:
        raise ScenarioError(
            "fleet.vms.memory",
            f"the smallest VM ({format_bytes(memory)}) fits on no host: the largest has "
            f"{format_bytes(most_memory)}",
        )
    if vcpus > most_vcpus:
        raise ScenarioError(
            "fleet.vms.vcpus",
            f"the smallest VM ({vcpus} vCPUs) fits on no host: the largest has {most_vcpus}",
        )
    if not any(g.memory_bytes >= memory and g.vcpus >= vcpus for g in groups):
        raise ScenarioError(
            "fleet.vms",
            f"the smallest VM ({format_bytes(memory)}, {vcpus} vCPUs) fits on no host: the "
            "hosts with that much memory have fewer vCPUs",
        )


def _bad(message: str):
    raise ValueError(message)
