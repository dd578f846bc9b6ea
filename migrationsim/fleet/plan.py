"""The plan of a maintenance, before anything moves (a dry run): which VMs migrate, which are
terminated and why, the waves in which each event takes its hosts, a first-order capacity check
per wave, and the engine's prediction.

The prediction is the engine itself run on the scenario with its own seed (``prediction.py``):
the makespan (``eta_s``), migrations, terminations, blackout p50/p99 and SLO breaches, per event
and per wave, and every host or VM the maintenance does not handle, with reasons. It is the
computation a run does, so a plan and a run with the same seed agree. Fleets up to
``ENGINE_ETA_MAX_VMS`` VMs are also run on the next ``ETA_SEEDS - 1`` seeds for the range
(``eta_low_s``, ``eta_high_s``). ``binding.py`` names the binding limit (``binding_limit``).
The web's plan page and ``python -m migrationsim fleet --plan`` show this dict; its keys are a
contract (templates and scripts read them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from .binding import binding_limit
from .engine import FleetRun
from .prediction import observe
from .rollout import Rollout, planned_waves
from .scenario import parse_scenario
from .summary import BLACKOUT_SLO_S

ENGINE_ETA_MAX_VMS = 3000  # up to this many VMs the range comes from the engine on 3 seeds
ETA_SEEDS = 3
SEED_RANGE = 2**32  # the scenario schema's seeds: 0 .. 2**32 - 1 (extra seeds wrap around)


def plan(
    data: dict, *, sensitivity: bool = True, progress: Callable[[str], None] | None = None
) -> dict:
    """What will happen before anything moves: which VMs migrate, which are terminated and why,
    the waves, the engine's prediction (makespan, blackouts, what is not handled) and, unless
    ``sensitivity`` is False, the binding limit. ``progress`` hears a sentence before each
    engine run (a plan with its binding limit is several)."""
    progress = progress or (lambda sentence: None)
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
        "hosts": len(fleet.hosts),
        "vms": len(fleet.vms),
        "racks": len(fleet.racks),
        "hosts_in_scope": len(in_scope),
        "vms_in_scope": len(vms),
        "migrate": len(migrate),
        "terminate": terminate,
        "terminate_total": sum(terminate.values()),
        "restart_after_terminate": restart,
        "terminate_reasons": [
            (
                "GPU attached: accelerators cannot be live-migrated; 60-minute notice, then "
                "terminated",
                terminate["gpu"],
            ),
            (
                "Spot VM: preempted with a 30 s notice, never migrated or restarted",
                terminate["spot"],
            ),
            (
                "onHostMaintenance=TERMINATE: stopped, restarted elsewhere if automaticRestart",
                terminate["terminate_policy"],
            ),
        ],
        "events": events,
        "capacity": _capacity_check(events, fleet, scenario),
        "policy": scenario.policy,
    }
    vms_in_scope, per_host = len(vms), len(vms) / max(1, len(in_scope))
    # the fleet drawn for the counts above is not needed again: freed before the engine draws
    # its own (a plan's peak memory is then the engine run's, not twice it)
    del run, fleet, in_scope, vms, migrate
    progress(f"Running the engine on the scenario (seed {scenario.seed})")
    base = observe(scenario)
    result.update(_predicted(scenario, base, events, result["vms"]))
    if sensitivity:
        result["binding_limit"] = binding_limit(
            scenario, base, vms_in_scope, per_host, progress=progress
        )
    else:
        result["binding_limit"] = None
    return result


def _hosts_at_once(rollout: Rollout, hosts: list) -> int:
    """At most how many of its hosts the event has out of service at once, as the engine takes
    them (``FleetRun._activate``): its limit (a share made a count), or for a BIOS rollout one
    whole rack at a time, the largest rack of its scope, whatever the limit given."""
    if rollout.by_rack:
        sizes: dict = {}
        for h in hosts:
            sizes[h.rack] = sizes.get(h.rack, 0) + 1
        return max(sizes.values(), default=0)
    return int(min(rollout.max_active, len(hosts)))


def _event_plan(ev, hosts, fleet, rack_names, scenario) -> dict:
    waves = planned_waves(ev, hosts)  # the engine's own order and wave sizes
    rollout = Rollout(ev, hosts)
    return {
        "name": ev.name,
        "kind": ev.kind,
        "start_s": ev.start_s,
        "deadline_s": ev.deadline_s,
        "window": list(ev.window) if ev.window else None,
        "hosts": len(hosts),
        "max_hosts_in_maintenance": ev.max_hosts_in_maintenance,
        # the hosts the engine takes out at once: a share made a count, and a BIOS rollout's
        # whole rack when that is more than the limit given (said, not left to the limit)
        "hosts_at_once": _hosts_at_once(rollout, hosts),
        "whole_rack_at_once": rollout.by_rack,
        "host_downtime_s": ev.host_downtime_s,
        "waves": [
            {
                "wave": i + 1,
                "hosts": len(w),
                "vms": sum(len(h.vms) for h in w),
                "names": [h.name for h in w[:6]],
                "more": max(0, len(w) - 6),
                "_ids": [h.id for h in w],
                "_names": [h.name for h in w],
            }
            for i, w in enumerate(waves)
        ],
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
                reasons.append(
                    f"its VMs need {need_mem / 2**30:,.0f} GiB of memory; the other hosts "
                    f"have {free_mem / 2**30:,.0f} GiB free (headroom {headroom:.0%} kept)"
                )
            if need_cpu > free_cpu:
                reasons.append(
                    f"its VMs need {need_cpu:,.0f} vCPUs; the other hosts have {free_cpu:,.0f} free"
                )
            if biggest > largest_slot:
                reasons.append(
                    f"its largest VM ({biggest / 2**30:.0f} GiB) fits on no other host "
                    f"(largest free: {largest_slot / 2**30:.0f} GiB)"
                )
            if reasons:
                problems.append({"event": ev["name"], "wave": wave["wave"], "reasons": reasons})
    return problems


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _predicted(scenario, base, events: list[dict], vm_count: int) -> dict:
    """The engine's prediction: the scenario's own seed (and the next seeds for the range on
    small fleets), the figures per event and per wave, and what is not handled."""
    figures = base.figures()
    makespans = [figures["makespan_s"]]
    seeds = [scenario.seed]
    not_placed = [sum(1 for r in base.run.records if r.outcome in ("stuck", "aborted"))]
    if vm_count <= ENGINE_ETA_MAX_VMS:
        for k in range(1, ETA_SEEDS):
            seed = (scenario.seed + k) % SEED_RANGE
            seeds.append(seed)
            trial = observe(dataclasses.replace(scenario, seed=seed))
            makespans.append(trial.makespan_s)
            not_placed.append(
                sum(1 for r in trial.run.records if r.outcome in ("stuck", "aborted"))
            )
    reasons: dict[str, int] = {}
    for r in base.run.records:
        if r.outcome in ("stuck", "aborted") and r.reason:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    consecutive = all(b == a + 1 for a, b in zip(seeds, seeds[1:], strict=False))
    seed_words = (
        f"seed {seeds[0]}"
        if len(seeds) == 1
        else f"seeds {seeds[0]}-{seeds[-1]}"
        if consecutive
        else "seeds " + ", ".join(map(str, seeds))
    )
    method = f"engine, {seed_words}"
    if len(seeds) == 1:
        method += f"; one seed only at {vm_count:,} VMs, so no range"
    _per_wave(base, events)
    return {
        **figures,
        "eta_s": figures["makespan_s"],
        "eta_low_s": min(makespans),
        "eta_high_s": max(makespans),
        "eta_method": method,
        "eta_seeds": seeds,
        # this seed's (the run an approval starts), with its reasons; the other seeds' worst
        "not_placed": not_placed[0],
        "not_placed_reasons": sorted(reasons.items(), key=lambda kv: -kv[1])[:8],
        "not_placed_max_over_seeds": max(not_placed),
        "not_handled": base.not_handled(),
    }


def _per_wave(base, events: list[dict]) -> None:
    """Each event's and wave's predicted figures, from the run's records (VMs by the host they
    started on; a wave is done when its last host is back)."""
    run, obs = base.run, base.observer
    by_home: dict[int, list] = {}
    for rec, home in zip(run.records, base.home, strict=False):
        by_home.setdefault(home, []).append(rec)
    name_to_id = {h.name: h.id for h in run.fleet.hosts}
    for ev in events:
        ev_blackouts, ev_migrations, ev_terminations = [], 0, 0
        for wave in ev["waves"]:
            names = wave.pop("_names")
            recs = [r for n in names for r in by_home.get(name_to_id[n], [])]
            blackouts = [r.blackout_s for r in recs if r.outcome == "migrated"]
            backs = [obs.back_s.get(n) for n in names]
            wave["predicted"] = {
                "done_s": None if any(b is None for b in backs) or not backs else max(backs),
                "migrated": len(blackouts),
                "terminated": sum(1 for r in recs if r.outcome in ("terminated", "restarted")),
                "blackout_p99_s": _pct(blackouts, 99),
                "slo_breaches": sum(1 for b in blackouts if b > BLACKOUT_SLO_S),
            }
            ev_blackouts += blackouts
            ev_migrations += len(blackouts)
            ev_terminations += wave["predicted"]["terminated"]
        ev["predicted"] = {
            "drained_s": obs.drained_s.get(ev["name"]),
            "done_s": obs.done_s.get(ev["name"]),
            "migrated": ev_migrations,
            "terminated": ev_terminations,
            "blackout_p50_s": _pct(ev_blackouts, 50),
            "blackout_p99_s": _pct(ev_blackouts, 99),
            "slo_breaches": sum(1 for b in ev_blackouts if b > BLACKOUT_SLO_S),
        }
