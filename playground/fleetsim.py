"""The one place that knows ``migrationsim.fleet`` (as ``simulation.py`` is for one VM).

Scenario dicts in, validated scenarios out; a fleet run's raw events in, *frames* out: the
aggregated progress a browser can take (one frame per slice of simulated time, never one
message per VM or per round); the plan preview (dry run); the parameters of one VM for the
single-VM anatomy page; the per-VM rows and the event log for the exports.
"""

from __future__ import annotations

import heapq
import json
import math
import statistics
from collections.abc import Iterator
from typing import Any

import migrationsim
from migrationsim.fleet import (FleetRun, ScenarioError, load_scenario, parse_scenario, planned_waves,
                                 summarize)
from migrationsim.fleet.export import COLUMNS as VM_COLUMNS
from migrationsim.fleet.export import vm_rows
from migrationsim.fleet.scenario import EVENT_KINDS, PRESET_NAMES
from migrationsim.units import parse_bytes, parse_rate

__all__ = ["ScenarioError", "PRESET_NAMES", "EVENT_KINDS", "VM_COLUMNS", "PHASES", "HOST_PHASES",
           "workload_names", "preset_scenario", "parse_text", "validate", "plan", "FleetStream",
           "vm_anatomy_params", "event_log", "GOOGLE_BLACKOUT_P50_S", "GOOGLE_BLACKOUT_P99_S"]

GOOGLE_BLACKOUT_P50_S = 0.050  # Google's published median blackout (VEE'18)
GOOGLE_BLACKOUT_P99_S = 0.300  # and its 99th percentile
MAX_SCENARIO_CHARS = 2_000_000
POLICIES = ("qemu", "xen", "textbook", "gce")
TIMEOUT_ACTIONS = ("abort", "force-complete", "post-copy")

# A VM's phases on the fleet timeline, with the single-VM page's Okabe-Ito colours; markers
# (zero-length segments) for what ends a VM's stay abruptly.
PHASES: list[dict[str, str]] = [
    {"name": "notice", "label": "Guest notice", "color": "#E69F00"},
    {"name": "queued", "label": "Queued", "color": "#BBBBBB"},
    {"name": "setup", "label": "Target setup", "color": "#56B4E9"},
    {"name": "precopy", "label": "Pre-migration brownout", "color": "#009E73"},
    {"name": "blackout", "label": "Blackout", "color": "#D55E00"},
    {"name": "post", "label": "Post-migration brownout", "color": "#CC79A7"},
    {"name": "cleanup", "label": "Cleanup", "color": "#0072B2"},
    {"name": "terminated", "label": "Terminated", "color": "#000000"},
    {"name": "failed", "label": "Crashed / aborted", "color": "#A3001B"},
]
HOST_PHASES: list[dict[str, str]] = [
    {"name": "draining", "label": "Draining (VMs leaving)", "color": "#E69F00"},
    {"name": "maintenance", "label": "In maintenance", "color": "#56B4E9"},
    {"name": "skipped", "label": "Skipped", "color": "#A3001B"},
    {"name": "failed", "label": "Failed", "color": "#000000"},
]
_PHASE = {p["name"]: i for i, p in enumerate(PHASES)}
_HOST_PHASE = {p["name"]: i for i, p in enumerate(HOST_PHASES)}
_NEXT_PHASE = {"migration_start": "setup", "precopy_start": "precopy",
               "blackout_start": "blackout", "blackout_end": "post",
               "post_brownout_end": "cleanup"}
NOTICE_NONE = "NONE"
NOTICE_TERMINATE = "TERMINATE_ON_HOST_MAINTENANCE"


# --- scenarios ---------------------------------------------------------------------------------

def workload_names() -> list[str]:
    return list(migrationsim.PRESETS)


def preset_scenario(name: str) -> dict:
    """A shipped preset as the scenario dict its YAML file holds."""
    if name not in PRESET_NAMES:
        raise ScenarioError("preset", f"no preset named {name!r}; presets: {', '.join(PRESET_NAMES)}")
    return json.loads(json.dumps(load_scenario(name).raw))


def parse_text(text: str, *, max_events: int | None = None, max_list: int | None = None) -> dict:
    """JSON or YAML text (an upload) to a validated scenario dict. Never reads a file: the text
    is the scenario, whatever it looks like. Hostile text is a ``ScenarioError`` like any other
    mistake: nesting too deep, numbers with thousands of digits, tags that would build Python
    objects (``yaml.safe_load`` knows none), NUL bytes. ``max_events`` / ``max_list``: the
    caller's caps on the number of events and on any other list (VMs, rack groups, names),
    checked before the engine validates (an alias repeated 400,000 times costs nothing to
    write and seconds to check)."""
    if len(text) > MAX_SCENARIO_CHARS:
        raise ScenarioError("scenario", f"at most {MAX_SCENARIO_CHARS:,} characters")
    if "\x00" in text:
        raise ScenarioError("scenario", "not text (it holds NUL bytes)")
    try:
        if text.lstrip().startswith(("{", "[")):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ScenarioError("scenario", f"not valid JSON: {exc}") from None
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ScenarioError("scenario", f"not valid YAML: {str(exc)[:300]}") from None
        _check_lengths(data, max_events=max_events, max_list=max_list)
        validate(data)
        plain = _without_nones(json.loads(json.dumps(data, default=str)))
        validate(plain)  # the same scenario to the engine (a null value is an absent key)
        return plain
    except ScenarioError:
        raise
    except RecursionError:
        raise ScenarioError("scenario", "nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of 5,000 digits (Python refuses to read it)
        raise ScenarioError("scenario", f"cannot be read: {str(exc)[:200]}") from None


def _without_nones(value: Any) -> Any:
    """``seed: null`` means "the default" to the engine, as if the key were absent: drop it, so
    nothing downstream has to tell null from absent."""
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


def _check_lengths(data: Any, *, max_events: int | None, max_list: int | None) -> None:
    if not isinstance(data, dict):
        return
    events = data.get("events")
    if max_events is not None and isinstance(events, list) and len(events) > max_events:
        raise ScenarioError("events", f"at most {max_events} maintenance events here")
    if max_list is None:
        return
    fleet = data.get("fleet") if isinstance(data.get("fleet"), dict) else {}
    lists = [("fleet.vm_list", fleet.get("vm_list")), ("fleet.racks", fleet.get("racks"))]
    for i, event in enumerate(events if isinstance(events, list) else []):
        scope = event.get("scope") if isinstance(event, dict) else None
        if isinstance(scope, dict):
            lists += [(f"events[{i}].scope.{key}", scope.get(key)) for key in ("racks", "hosts")]
    for path, value in lists:
        if isinstance(value, list) and len(value) > max_list:
            raise ScenarioError(path, f"at most {max_list:,} entries here")


def validate(data: Any):
    """The engine's own validation; raises ``ScenarioError(path, message)``."""
    return parse_scenario(data)


def scenario_size(data: dict) -> tuple[int, int]:
    """(hosts, VMs at most) of a valid scenario."""
    scenario = parse_scenario(data)
    vms = len(scenario.vm_list) if scenario.vm_list else scenario.vm_count
    return scenario.host_count, vms


def dumps_yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# --- the plan (dry run) ----------------------------------------------------------------------

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


# --- the live stream: frames -----------------------------------------------------------------

VM_TIMELINE_MAX_VMS = 1500  # fleets up to this size stream one timeline row per VM


def bucket_for(eta_s: float | None) -> float:
    """Simulated seconds per frame: about 300 frames over the expected run, 5 s to 10 min."""
    if not eta_s:
        return 60.0
    raw = eta_s / 300
    for nice in (5, 10, 15, 30, 60, 120, 300, 600):
        if raw <= nice:
            return float(nice)
    return 600.0


class FleetStream:
    """Runs the engine and turns its events into frames, one per ``bucket_s`` of simulated time.

    A frame holds the fleet's state at its end (VMs by state, hosts, migrations in flight per
    rack, the busiest links, why VMs wait) and what happened in it (closed timeline segments,
    blackouts, queue waits, notable events). Engine state is read at frame boundaries, so the
    cost is per frame, not per event."""

    def __init__(self, data: dict, *, bucket_s: float, vm_level: bool | None = None):
        self.scenario = parse_scenario(data)
        self.bucket_s = float(bucket_s)
        self.run = FleetRun(self.scenario, sample_every_s=self.bucket_s)
        fleet = self.run.fleet
        self.vm_level = len(fleet.vms) <= VM_TIMELINE_MAX_VMS if vm_level is None else vm_level
        self._vm_by_name = {vm.name: vm for vm in fleet.vms}
        self._rack_of_host = {h.name: fleet.racks[h.rack].name for h in fleet.hosts}
        self._first_host = {vm.name: fleet.hosts[vm.host].name for vm in fleet.vms}
        self.vm_segments: dict[str, list] = {}  # every VM's segments, for the stored rows
        self._open: dict[str, tuple] = {}  # vm -> (phase, start, host)
        self._host_open: dict[str, tuple] = {}
        self._notified: list = []  # heap of (notice ends, vm)
        self._done: set = set()
        self._terminated: set = set()
        self._failed: set = set()
        self.hosts_scope = 0
        self.hosts_done = 0
        self._last_links: dict = {"links": [], "in_flight_by_rack": {}}
        self._reset()
        # for the comparison charts, kept for the whole run
        self.series: dict[str, list] = {"t_s": [], "done": [], "migrating": [], "queued": [],
                                        "hosts_done": []}
        self.blackouts: list[float] = []

    def _reset(self) -> None:
        self._segments: list = []
        self._host_segments: list = []
        self._blackouts: list = []
        self._waits: list = []
        self._notes: list = []

    def frames(self) -> Iterator[dict]:
        end = self.bucket_s
        for event in self.run.events():
            t = event["t_s"]
            if t >= end:
                yield self._frame(end)
                end = (math.floor(t / self.bucket_s) + 1) * self.bucket_s
            self._track(event)
        for vm in list(self._open):  # still open when the run ended (stuck in a queue)
            self._close(vm, self.run.now)
        yield self._frame(max(self.run.now, end - self.bucket_s), final=True)

    # per event
    def _track(self, e: dict) -> None:
        kind, t = e["kind"], e["t_s"]
        if kind == "links":
            self._last_links = e
            return
        vm = e.get("vm")
        if kind == "notice":
            if e["value"] == NOTICE_NONE:
                return
            self._close(vm, t)
            self._done.discard(vm)
            lead = float(e.get("lead_s") or 0.0)
            host = self.run.fleet.hosts[self._vm_by_name[vm].host].name
            if lead > 0:
                self._segment(vm, host, "notice", t, t + lead)
                heapq.heappush(self._notified, (t + lead, vm))
            if e["value"] != NOTICE_TERMINATE:
                self._open[vm] = ("queued", t + lead, host)
        elif kind in _NEXT_PHASE:
            opened = self._open.get(vm)
            host = opened[2] if opened else e.get("source", "")
            self._close(vm, t)
            self._open[vm] = (_NEXT_PHASE[kind], t, host)
            if kind == "migration_start":
                self._waits.append(round(float(e.get("queue_wait_s") or 0.0), 3))
        elif kind == "migrated":
            self._close(vm, t)
            self._done.add(vm)
            self._blackouts.append(round(float(e["blackout_s"]), 6))
        elif kind == "backed_out":
            opened = self._open.get(vm)
            self._close(vm, t)
            if opened:
                self._open[vm] = ("queued", t, opened[2])
            self._notes.append([t, f"{vm}: backed out ({e.get('reason', '')})"])
        elif kind in ("aborted", "crashed", "terminated"):
            opened = self._open.get(vm)
            host = opened[2] if opened else e.get("host", "")
            self._close(vm, t)
            marker = "terminated" if kind == "terminated" else "failed"
            self._segment(vm, host, marker, t, t)
            (self._terminated if kind == "terminated" else self._failed).add(vm)
            if kind == "aborted":
                self._notes.append([t, f"{vm}: aborted ({e.get('reason', '')})"])
        elif kind == "maintenance_start":
            self.hosts_scope += int(e.get("hosts") or 0)
            self._notes.append([t, f"maintenance {e['event']} ({e['maintenance']}) starts: "
                                   f"{e['hosts']} hosts"])
        elif kind == "host_scheduled":
            self._host_open[e["host"]] = ("draining", t)
        elif kind == "host_maintenance_start":
            self._host_close(e["host"], t)
            self._host_open[e["host"]] = ("maintenance", t)
        elif kind == "host_back":
            self._host_close(e["host"], t)
            self.hosts_done += 1
        elif kind in ("host_skipped", "host_failed"):
            self._host_close(e["host"], t)
            marker = "skipped" if kind == "host_skipped" else "failed"
            self._host_segments.append([e["host"], self._rack_of_host.get(e["host"], ""),
                                        _HOST_PHASE[marker], round(t, 3), round(t, 3)])
            if kind == "host_skipped":
                self.hosts_done += 1
            self._notes.append([t, f"{e['host']}: {kind.replace('_', ' ')} "
                                   f"({e.get('reason') or e.get('cause') or ''})"])
        elif kind in ("deadline", "maintenance_done", "window_open"):
            self._notes.append([t, f"{kind.replace('_', ' ')}: {e.get('event', '')}"])

    def _segment(self, vm: str, host: str, phase: str, start: float, end: float) -> None:
        seg = [vm, host, _PHASE[phase], round(start, 3), round(end, 3)]
        self.vm_segments.setdefault(vm, []).append(seg[2:])
        if self.vm_level:
            self._segments.append(seg)

    def _close(self, vm: str, t: float) -> None:
        opened = self._open.pop(vm, None)
        if opened is not None:
            phase, start, host = opened
            if t > start or phase != "queued":
                self._segment(vm, host, phase, start, max(t, start))

    def _host_close(self, host: str, t: float) -> None:
        opened = self._host_open.pop(host, None)
        if opened is not None:
            phase, start = opened
            self._host_segments.append([host, self._rack_of_host.get(host, ""),
                                        _HOST_PHASE[phase], round(start, 3), round(t, 3)])

    # per frame
    def _frame(self, t: float, final: bool = False) -> dict:
        run = self.run
        while self._notified and self._notified[0][0] <= t:
            heapq.heappop(self._notified)
        waiting: dict[str, int] = {}
        queued = 0
        for queue in run.queues.values():
            if not queue:
                continue
            queued += len(queue)
            head = run.records[queue[0].id].wait_reason or "starting"
            waiting[head] = waiting.get(head, 0) + 1
            if len(queue) > 1:
                waiting["head_of_line"] = waiting.get("head_of_line", 0) + len(queue) - 1
        counts = {"notified": len(self._notified), "queued": queued,
                  "migrating": len(run.in_flight), "done": len(self._done),
                  "terminated": len(self._terminated), "failed": len(self._failed)}
        if final:
            counts.update(notified=0, migrating=0)
        links = self._last_links
        frame = {
            "kind": "frame", "t_s": round(t, 3), "final": final, "counts": counts,
            "hosts": {"scope": self.hosts_scope, "done": self.hosts_done,
                      "draining": sum(1 for p, _ in self._host_open.values() if p == "draining"),
                      "maintenance": sum(1 for p, _ in self._host_open.values() if p == "maintenance")},
            "in_flight": {} if final else dict(links.get("in_flight_by_rack") or {}),
            "links": [] if final else [[link["link"], round(link["utilisation"], 4)]
                                       for link in links.get("links") or []],
            "waiting": waiting,
            "segments": self._segments, "host_segments": self._host_segments,
            "blackouts": self._blackouts, "waits": self._waits, "notes": self._notes[:20],
        }
        s = self.series
        s["t_s"].append(frame["t_s"])
        s["done"].append(counts["done"])
        s["migrating"].append(counts["migrating"])
        s["queued"].append(queued)
        s["hosts_done"].append(self.hosts_done)
        self.blackouts.extend(self._blackouts)
        self._reset()
        return frame

    # after the run
    def summary(self) -> dict:
        return summarize(self.run)

    def compare_series(self, max_points: int = 400) -> dict:
        """What the compare page overlays: progress over time and the blackout distribution
        (every blackout, or evenly spaced quantiles of them for big fleets)."""
        step = max(1, math.ceil(len(self.series["t_s"]) / max_points))
        series = {k: v[::step] for k, v in self.series.items()}
        values = sorted(self.blackouts)
        if len(values) > 2000:
            values = [values[round(i * (len(values) - 1) / 1999)] for i in range(2000)]
        series["blackouts_sorted"] = values
        return series

    def vm_rows(self) -> list[dict]:
        """One row per VM (the engine's CSV columns) plus what the web pages need."""
        run = self.run
        fleet = run.fleet
        rows = vm_rows(run)
        for vm, row in zip(fleet.vms, rows):
            row["host"] = self._first_host[vm.name]  # where it was when the run began
            row["rack"] = self._rack_of_host[row["host"]]
            row["segments"] = self.vm_segments.get(vm.name, [])
        return rows


# --- one VM of a fleet, for the single-VM page ---------------------------------------------

def _text_rate(bps: float) -> str:
    return f"{bps * 8 / 1e9:.6g}Gbit/s"


def vm_anatomy_params(data: dict, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of the scenario's fleet: its memory and workload,
    the scenario's policy, and its host NIC's migration share as the link bandwidth. None if
    the fleet has no such VM. (The fleet is rebuilt from the scenario and seed: same VMs.)"""
    run = FleetRun(parse_scenario(data))
    fleet = run.fleet
    vm = next((v for v in fleet.vms if v.name == vm_name), None)
    if vm is None:
        return None
    host = fleet.hosts[vm.host]
    policy = dict(run.scenario.policy)
    gib = vm.memory_bytes / 2**30
    params = {
        "memory": f"{gib:g}GiB" if gib == int(gib) else f"{vm.memory_bytes:.0f}B",
        "workload": vm.workload, "dirty_rate": "", "working_set": "",
        "bandwidth": _text_rate(host.nic_bps * fleet.migration_share),
        "max_bandwidth": str(policy.pop("max_bandwidth", "") or ""),
        "policy": str(policy.pop("policy", "qemu")),
        "downtime_limit": str(policy.pop("downtime_limit", "300ms")),
        "auto_converge": bool(policy.pop("auto_converge", False)),
        "post_copy": bool(policy.pop("post_copy", False)),
        "guest_watches": bool(vm.watches_metadata),
        "resolution": "fluid", "speed": "10", "seed": int(run.scenario.seed),
    }
    params.update({k: v if isinstance(v, (bool, int, float)) else str(v) for k, v in policy.items()
                   if k != "resolution"})
    params["fleet_vm"] = {"vm": vm.name, "host": host.name, "vcpus": vm.vcpus}
    return params


# --- exports ---------------------------------------------------------------------------------

def event_log(data: dict) -> Iterator[str]:
    """Every engine event as a JSON line. The engine is deterministic (same scenario and seed,
    same log bit for bit), so the log is recomputed rather than stored."""
    run = FleetRun(parse_scenario(data))
    for event in run.events():
        yield json.dumps(event, separators=(",", ":")) + "\n"


def size_text_bytes(value: Any) -> float:
    return parse_bytes(value)
