"""One VM of a fleet as the single-VM model's parameters: what the single-VM (anatomy) page
needs to replay one fleet VM's migration on its own, with its memory, workload and host NIC,
and, from a fleet run, the bandwidth it actually got there over time (``LinkShares`` records
it while the run goes; ``with_fleet_bandwidth`` puts it into the parameters as the single-VM
model's piecewise-constant link, ``migrationsim.precopy.LinkRate``).
"""

from __future__ import annotations

from .engine import FleetRun
from .scenario import parse_scenario


def _text_rate(bps: float, digits: int = 6) -> str:
    return f"{bps * 8 / 1e9:.{digits}g}Gbit/s"


def vm_anatomy_params(data: dict, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of the scenario's fleet: its memory and workload,
    the scenario's policy, and its host NIC's migration share as the link bandwidth. None if
    the fleet has no such VM. (The fleet is rebuilt from the scenario and seed: same VMs; a
    finished web run has each VM's ``vm_facts`` in its row: ``anatomy_params_of`` needs no
    rebuild.)"""
    run = FleetRun(parse_scenario(data))
    fleet = run.fleet
    vm = next((v for v in fleet.vms if v.name == vm_name), None)
    if vm is None:
        return None
    return anatomy_params_of(run.scenario, vm_facts(fleet, vm))


FACTS = ("vm", "host", "memory_bytes", "workload", "vcpus", "watches", "link_bps")


def vm_facts(fleet, vm, host=None) -> dict:
    """What a VM's anatomy needs of its fleet (``FACTS``): the host it started on (``host``;
    default: where it is now) and its NIC's migration share, its size, workload and whether its
    guest watches the metadata server."""
    host = fleet.hosts[vm.host] if host is None else host
    return {
        "vm": vm.name,
        "host": host.name,
        "memory_bytes": vm.memory_bytes,
        "workload": vm.workload,
        "vcpus": vm.vcpus,
        "watches": bool(vm.watches_metadata),
        "link_bps": host.nic_bps * fleet.migration_share,
    }


def anatomy_params_of(scenario, facts: dict) -> dict:
    """The single-VM form's values for a VM of this (parsed) scenario, from its ``vm_facts``."""
    policy = dict(scenario.policy)
    memory_bytes = facts["memory_bytes"]
    gib = memory_bytes / 2**30
    params = {
        "memory": f"{gib:g}GiB" if gib == int(gib) else f"{memory_bytes:.0f}B",
        "workload": facts["workload"],
        "dirty_rate": "",
        "working_set": "",
        "bandwidth": _text_rate(facts["link_bps"]),
        "max_bandwidth": str(policy.pop("max_bandwidth", "") or ""),
        "policy": str(policy.pop("policy", "qemu")),
        "downtime_limit": str(policy.pop("downtime_limit", "300ms")),
        "auto_converge": bool(policy.pop("auto_converge", False)),
        "post_copy": bool(policy.pop("post_copy", False)),
        "guest_watches": bool(facts["watches"]),
        "resolution": "fluid",
        "speed": "10",
        "seed": int(scenario.seed),
        # the fleet's own timing, not the single-VM defaults (its phases last what they did)
        "target_setup": f"{scenario.target_setup_s!r}s",
        "cleanup": f"{scenario.cleanup_s!r}s",
        "fabric_convergence": f"{scenario.fabric_convergence_median_s!r}s",  # (the median)
    }
    params.update(
        {
            k: v if isinstance(v, (bool, int, float)) else str(v)
            for k, v in policy.items()
            if k != "resolution"
        }
    )
    params["fleet_vm"] = {"vm": facts["vm"], "host": facts["host"], "vcpus": facts["vcpus"]}
    return params


MAX_LINK_POINTS = 500  # per VM: a pre-copy that never converges syncs every 100 ms for minutes
_SAME_RATE = 1e-3  # consecutive rounds within 0.1 % of each other are one step


class LinkShares:
    """A fleet run's listener: each VM's first pre-copy as ``[[t_s, bps], ...]``, the rate it
    actually sent at in each round (the round's bytes over its duration: its share of the
    shared links, under its policy's cap), ``t_s`` from the start of that pre-copy. The first
    pre-copy is the one from the host the VM started on (what its anatomy replays).

    It also keeps the rate of that pre-copy's switch-over (``switch_bps``, as the engine's
    ``blackout_start`` says it): the final copy is not capped, and runs far faster than the
    live rounds did (a replay at the live rounds' rate told a blackout three times the
    fleet's)."""

    def __init__(self):
        self.rates: dict[str, list[list[float]]] = {}
        self.switch_bps: dict[str, float] = {}
        self.convergence_s: dict[str, float] = {}  # the fabric convergence drawn for it
        # how its first pre-copy ended when it reached no switch-over (aborted, backed out,
        # crashed with its host): {"how", "after_s" from its start, "detail"}. Its replay
        # goes on where the fleet's stopped, so its page must say how the fleet's ended.
        self.ended: dict[str, dict] = {}
        self._start_s: dict[str, float] = {}  # VMs whose first pre-copy is under way

    def __call__(self, e: dict) -> None:
        kind = e["kind"]
        if kind == "precopy_start":
            if e["vm"] not in self.rates:
                self.rates[e["vm"]] = []
                self._start_s[e["vm"]] = e["t_s"]
        elif kind == "round":
            start = self._start_s.get(e["vm"])
            if start is None or not e.get("rate_bps") or e.get("duration_s", 0) <= 0:
                return
            points = self.rates[e["vm"]]
            t_s, bps = round(e["t_s"] - e["duration_s"] - start, 6), round(float(e["rate_bps"]))
            if points and abs(bps - points[-1][1]) <= _SAME_RATE * points[-1][1]:
                return
            if len(points) < MAX_LINK_POINTS and bps > 0:
                points.append([max(0.0, t_s), bps])
        elif kind in ("blackout_start", "aborted", "backed_out", "crashed"):
            # later pre-copies are not recorded
            start = self._start_s.pop(e.get("vm"), None)
            if kind == "blackout_start" and start is not None:
                self.switch_bps[e["vm"]] = float(e["switch_bps"])
            elif start is not None:
                self.ended[e["vm"]] = {
                    "how": kind,
                    "after_s": round(e["t_s"] - start, 6),
                    "detail": str(e.get("detail") or e.get("reason") or ""),
                }
        elif kind == "blackout_end":  # the first switch-over's: the one recorded above
            vm = e["vm"]
            if vm in self.switch_bps and vm not in self.convergence_s:
                self.convergence_s[vm] = float(e["fabric_convergence_s"])


def with_fleet_bandwidth(
    params: dict,
    link_rates: list,
    switch_bps: float | None = None,
    convergence_s: float | None = None,
) -> dict:
    """``params`` (``vm_anatomy_params``'s) replaying the bandwidth the VM got in the fleet:
    the first round's rate as the link, each later change as ``link_rate_changes`` (``t_s``
    from the start of pre-copy, what ``migrationsim.stream`` takes), the switch-over's
    rate as ``switch_bps`` and the fabric convergence drawn for it as ``fabric_convergence``,
    when known (``LinkShares``). Unchanged without rates (a VM that did not migrate keeps its
    NIC's migration share)."""
    if not link_rates:
        return params
    (_, first_bps), *later = link_rates
    replay = {
        **params,
        "bandwidth": _text_rate(first_bps, digits=9),  # bytes/s, whole: exact in 9 digits
        "link_rate_changes": [[float(t), float(bps)] for t, bps in later],
    }
    if switch_bps:
        replay["switch_bps"] = float(switch_bps)
    if convergence_s is not None:
        replay["fabric_convergence"] = f"{float(convergence_s)!r}s"
    return replay
