"""The plan of a maintenance, before anything moves (a dry run): which VMs migrate, which are
terminated and why, the waves in which each event takes its hosts, a first-order capacity check
per wave, and an ETA with a range.

The plan uses the engine's own rules (its scope, its wave order, its placement when it runs it),
so what the plan says is what a run does. For fleets up to ``ENGINE_ETA_MAX_VMS`` VMs the ETA
and the VMs that find no place come from the engine itself, run on ``ETA_SEEDS`` seeds; bigger
fleets get a formula (waves x drain time). The web's plan page and ``python -m migrationsim
fleet --plan`` show this dict; its keys are a contract (templates and scripts read them).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from ..units import parse_rate
from .engine import FleetRun
from .rollout import planned_waves
from .scenario import parse_scenario

ENGINE_ETA_MAX_VMS = 3000  # up to this many VMs the ETA comes from the engine on 3 seeds
ETA_SEEDS = 3


def plan(data: dict) -> dict:
    """What will happen before anything moves: which VMs migrate, which are terminated and why,
    which may not find a place and why, the waves, and an ETA with a range."""
    scenario = parse_scenario(data)
    run = FleetRun(scenario)
    fleet = run.fleet
    rack_names = [r.name for r in fleet.racks]
    in_scope: dict[int, Any] = {}
    events = []
    for ev in scenario.events:
        hosts = run.scope(ev)  # the engine's own scope rule
        for h in hosts:
            in_scope.setdefault(h.id, h)
        events.append(_event_plan(ev, hosts, fleet, rack_names, scenario))
    vms = [fleet.vms[v] for h in in_scope.values() for v in sorted(h.vms)]
    migrate = [vm for vm in vms if vm.live_migratable]
    terminate = {"gpu": 0, "spot": 0, "terminate_policy": 0}
    restart = 0
    for vm in vms:
        if vm.live_migratable:
            continue
        key = "gpu" if vm.accelerator else "spot" if vm.spot else "terminate_policy"
        terminate[key] += 1
        restart += 1 if vm.automatic_restart else 0
    result = {
        "name": scenario.name,
        "hosts": len(fleet.hosts), "vms": len(fleet.vms), "racks": len(fleet.racks),
        "hosts_in_scope": len(in_scope), "vms_in_scope": len(vms),
        "migrate": len(migrate),
        "terminate": terminate, "terminate_total": sum(terminate.values()),
        "restart_after_terminate": restart,
        "terminate_reasons": [
            ("GPU attached: accelerators cannot be live-migrated; 60-minute notice, then "
             "terminated", terminate["gpu"]),
            ("Spot VM: preempted with a 30 s notice, never migrated or restarted", terminate["spot"]),
            ("onHostMaintenance=TERMINATE: stopped, restarted elsewhere if automaticRestart",
             terminate["terminate_policy"]),
        ],
        "events": events,
        "capacity": _capacity_check(events, fleet, scenario),
        "policy": scenario.policy,
    }
    result.update(_eta(data, scenario, len(fleet.vms), events))
    return result


def _event_plan(ev, hosts, fleet, rack_names, scenario) -> dict:
    waves = planned_waves(ev, hosts)  # the engine's own order and wave sizes
    return {
        "name": ev.name, "kind": ev.kind, "start_s": ev.start_s, "deadline_s": ev.deadline_s,
        "window": list(ev.window) if ev.window else None, "hosts": len(hosts),
        "max_hosts_in_maintenance": ev.max_hosts_in_maintenance,
        "host_downtime_s": ev.host_downtime_s,
        "waves": [{"wave": i + 1, "hosts": len(w), "vms": sum(len(h.vms) for h in w),
                   "names": [h.name for h in w[:6]], "more": max(0, len(w) - 6),
                   "_ids": [h.id for h in w]} for i, w in enumerate(waves)],
    }


def _capacity_check(events, fleet, scenario) -> list[dict]:
    """A first-order check per wave: can the hosts outside the wave hold the wave's VMs?
    (Counts vCPUs and memory with the headroom; ignores anti-affinity and the caps.)"""
    headroom = scenario.caps.headroom
    problems = []
    for ev in events:
        for wave in ev["waves"]:
            ids = set(wave.pop("_ids"))
            need_mem = need_cpu = 0.0
            biggest = 0.0
            for h in ids:
                for v in fleet.hosts[h].vms:
                    vm = fleet.vms[v]
                    if vm.live_migratable or vm.automatic_restart:
                        need_mem += vm.memory_bytes
                        need_cpu += vm.vcpus
                        biggest = max(biggest, vm.memory_bytes)
            free_mem = free_cpu = 0.0
            largest_slot = 0.0
            for host in fleet.hosts:
                if host.id in ids:
                    continue
                mem = host.memory_bytes * (1 - headroom) - host.used_memory_bytes
                cpu = host.vcpus * (1 - headroom) - host.used_vcpus
                free_mem += max(0.0, mem)
                free_cpu += max(0.0, cpu)
                largest_slot = max(largest_slot, mem)
            reasons = []
            if need_mem > free_mem:
                reasons.append(f"its VMs need {need_mem / 2**30:,.0f} GiB of memory; the other hosts "
                               f"have {free_mem / 2**30:,.0f} GiB free (headroom {headroom:.0%} kept)")
            if need_cpu > free_cpu:
                reasons.append(f"its VMs need {need_cpu:,.0f} vCPUs; the other hosts have "
                               f"{free_cpu:,.0f} free")
            if biggest > largest_slot:
                reasons.append(f"its largest VM ({biggest / 2**30:.0f} GiB) fits on no other host "
                               f"(largest free: {largest_slot / 2**30:.0f} GiB)")
            if reasons:
                problems.append({"event": ev["name"], "wave": wave["wave"], "reasons": reasons})
    return problems


def _eta(data: dict, scenario, vm_count: int, events: list[dict]) -> dict:
    if vm_count <= ENGINE_ETA_MAX_VMS:
        makespans, stuck, reasons = [], [], {}
        for k in range(ETA_SEEDS):
            trial = parse_scenario({**data, "seed": scenario.seed + k})
            run = FleetRun(trial).run()
            makespans.append(run.makespan_s)
            stuck.append(sum(1 for r in run.records if r.outcome in ("stuck", "aborted")))
            if k == 0:
                for r in run.records:
                    if r.outcome in ("stuck", "aborted") and r.reason:
                        reasons[r.reason] = reasons.get(r.reason, 0) + 1
        return {"eta_s": statistics.median(makespans), "eta_low_s": min(makespans),
                "eta_high_s": max(makespans), "eta_method": f"engine, seeds {scenario.seed}"
                f"-{scenario.seed + ETA_SEEDS - 1}", "not_placed": max(stuck),
                "not_placed_reasons": sorted(reasons.items(), key=lambda kv: -kv[1])[:8]}
    estimate = _formula_eta(scenario, events)
    return {"eta_s": estimate, "eta_low_s": estimate * 0.6, "eta_high_s": estimate * 1.6,
            "eta_method": "estimate (waves x drain time); too big to simulate for a preview",
            "not_placed": None, "not_placed_reasons": []}


def _formula_eta(scenario, events: list[dict]) -> float:
    """Rough: each wave drains its hosts (notice, then VMs per host / per-host cap migrations,
    each memory / the NIC's migration share) and is down for the host downtime; waves run one
    after the other. A GPU VM holds its host for its 60-minute notice."""
    group = scenario.racks[0]
    mix = scenario.vms
    mean_mem = (mix.memory_bytes[0] + mix.memory_bytes[1]) / 2
    nic_share = group.nic_bps * scenario.migration_share
    cap = scenario.caps.per_source_host or mix.per_host or 1
    per_flow = nic_share / max(1, min(cap, mix.per_host or 1))
    max_bw = scenario.policy.get("max_bandwidth")
    if max_bw:
        per_flow = min(per_flow, parse_rate(max_bw))
    elif scenario.policy.get("policy", "qemu") == "qemu":
        per_flow = min(per_flow, 128 * 2**20)
    migration_s = mean_mem * 1.3 / max(per_flow, 1.0) + scenario.target_setup_s + 2.0
    drain_s = 60.0 * (mix.watching_share > 0) + math.ceil((mix.per_host or 1) / cap) * migration_s
    if mix.gpu_share > 0:
        drain_s = max(drain_s, 3600.0)
    total = 0.0
    for ev in events:
        span = ev["start_s"] + len(ev["waves"]) * (drain_s + ev["host_downtime_s"])
        if ev["deadline_s"]:
            span = min(span, ev["start_s"] + ev["deadline_s"] + drain_s)
        total = max(total, span)
    return total
