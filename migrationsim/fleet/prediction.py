"""One engine run seen the way a planner reads it: makespan, blackouts, and every host or VM
the maintenance did not handle, with the engine's reason codes and sentences.

``observe(scenario)`` runs ``FleetRun`` (the same engine a run uses, with the scenario's own seed)
with a listener that keeps only what the plan needs. ``Prediction.figures()`` is the dict the
plan reports. Nothing here changes how the engine behaves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from . import reasons as why
from .engine import FleetRun
from .summary import BLACKOUT_SLO_S, summarize

_NOT_MOVED = ("aborted", "stuck", "crashed")


@dataclass
class Observer:
    """A listener that keeps the few things the plan needs from the event stream."""

    queued: Counter = field(default_factory=Counter)  # reason code -> times a VM waited on it
    skipped: list = field(default_factory=list)  # (host, event, reason)
    # (event, t_s, hosts_left, hosts_held: of those, held by another event's maintenance)
    deadlines: list = field(default_factory=list)
    deadline_vms: dict = field(default_factory=dict)  # host -> VMs rebooted by the deadline
    # VMs rebooted by a deadline, then started again on another host (automaticRestart)
    deadline_restarted: set = field(default_factory=set)
    _at_deadline: set = field(default_factory=set)
    scheduled: dict = field(
        default_factory=dict
    )  # host -> event, while scheduled or in maintenance
    back_s: dict = field(default_factory=dict)  # host -> when it came back
    drained_s: dict = field(default_factory=dict)  # event -> when its last host was empty
    done_s: dict = field(default_factory=dict)  # event -> maintenance_done
    abort_detail: dict = field(default_factory=dict)  # VM -> the engine's sentence for its abort
    failed_s: dict = field(default_factory=dict)  # host -> (when it failed, the cause)

    def __call__(self, e: dict) -> None:
        kind = e["kind"]
        if kind == "deadline":
            self.deadlines.append((e["event"], e["t_s"], e["hosts_left"], e.get("hosts_held", 0)))
        elif kind == "queued":
            self.queued[e["reason"]] += 1
        elif kind == "host_scheduled":
            self.scheduled[e["host"]] = e["event"]
        elif kind == "host_maintenance_start":
            self.drained_s[e["event"]] = e["t_s"]
        elif kind == "host_back":
            self.scheduled.pop(e["host"], None)
            self.back_s[e["host"]] = e["t_s"]
        elif kind == "host_skipped":
            self.scheduled.pop(e["host"], None)
            self.skipped.append((e["host"], e["event"], e["reason"]))
        elif kind == "terminated" and e["reason"] == why.DEADLINE:
            self.deadline_vms.setdefault(e["host"], []).append(e["vm"])
            self._at_deadline.add(e["vm"])
        elif kind == "restarted" and not e["host_error"] and e["vm"] in self._at_deadline:
            self.deadline_restarted.add(e["vm"])
        elif kind == "aborted":
            self.abort_detail[e["vm"]] = e.get("detail") or ""
        elif kind == "maintenance_done":
            self.done_s[e["event"]] = e["t_s"]
        elif kind == "host_failed":
            self.failed_s.setdefault(e["host"], (e["t_s"], e["cause"]))


@dataclass
class Prediction:
    run: FleetRun
    observer: Observer
    home: list  # each VM's host id before anything moved

    @property
    def makespan_s(self) -> float:
        """The engine's makespan (a deadline that finds every host done is not counted: the
        engine does not count it either)."""
        return self.run.makespan_s

    def unfinished_hosts(self) -> int:
        """Hosts in scope that were never patched (skipped, never emptied, never taken)."""
        return len(self.not_handled()["hosts"])

    def deadline_reboots(self) -> int:
        return sum(len(v) for v in self.observer.deadline_vms.values())

    def vms_not_moved(self) -> int:
        """VMs the maintenance asked to leave that did not: aborted, stuck, crashed, or rebooted
        with their host at a deadline."""
        left = sum(1 for rec in self.run.records if rec.outcome in _NOT_MOVED)
        return left + self.deadline_reboots()

    def vms_moved(self) -> int:
        """VMs that migrated (live, to another host)."""
        return sum(1 for rec in self.run.records if rec.outcome == "migrated")

    def vms_stuck(self) -> int:
        """VMs left stuck: never resolved (no target, a blocked queue, a host never taken),
        unlike an aborted VM, whose migration was tried and given up."""
        return sum(1 for rec in self.run.records if rec.outcome == "stuck")

    def not_handled(self) -> dict:
        """Hosts left unpatched or rebooted with VMs on them, VMs not moved: counts, names, reasons."""
        run, obs = self.run, self.observer
        fleet = run.fleet
        hosts = []
        skipped = {h: (ev, reason) for h, ev, reason in obs.skipped}
        in_scope = {h.id for ev in run.scenario.events for h in run.scope(ev)}
        for host in fleet.hosts:
            if host.id not in in_scope:
                continue
            name = host.name
            if name in obs.deadline_vms:
                reason = (
                    why.sentence(why.DEADLINE)
                    .replace("it could move", "they could move")
                    .replace("its host", "the host")
                )
                hosts.append(
                    {
                        "host": name,
                        "status": "rebooted_at_deadline",
                        "code": why.DEADLINE,
                        "reason": f"{_vms(len(obs.deadline_vms[name]))} still on it at the "
                        f"deadline: {reason}",
                        "vms": obs.deadline_vms[name][:6],
                    }
                )
                continue
            if host.patched:
                continue
            if name in skipped:
                ev, reason = skipped[name]
                if name in obs.failed_s:  # the VMs said to keep running on it did not
                    _, cause = obs.failed_s[name]
                    reason += f"; later the host failed ({cause}) with its VMs on it"
                hosts.append(
                    {
                        "host": name,
                        "status": "skipped",
                        "code": "host_skipped",
                        "reason": f"skipped by {ev}: {reason}",
                        "vms": [],
                    }
                )
            elif host.state in ("scheduled", "maintenance"):
                waiting = [fleet.vms[v].name for v in sorted(host.vms)]
                if not waiting:  # emptied, but its maintenance outlasted the run's ceiling
                    code = "in_maintenance"
                    reason = "emptied, but still in maintenance when the run " + (
                        run.stopped or "ended"
                    )
                else:
                    codes = Counter(_code(run.records[v]) for v in host.vms)
                    code = codes.most_common(1)[0][0] if codes else "unknown"
                    reason = f"never emptied: {_vms(len(waiting))} still on it"
                    if waiting:
                        reason += f" ({code}: {self._words(code, waiting[0])})"
                hosts.append(
                    {
                        "host": name,
                        "status": "not_emptied" if waiting else "in_maintenance",
                        "code": code,
                        "reason": reason,
                        "vms": waiting[:6],
                    }
                )
            elif host.state == "failed":
                hosts.append(
                    {
                        "host": name,
                        "status": "failed",
                        "code": why.HOST_FAILED,
                        "reason": why.sentence(why.HOST_FAILED),
                        "vms": [],
                    }
                )
            else:
                hosts.append(
                    {
                        "host": name,
                        "status": "never_taken",
                        "code": "never_taken",
                        # why, as its VMs' reason says it (``FleetRun._not_reached``): a
                        # run stopped at its ceiling may have stopped before its event began
                        "reason": "never taken out of service: "
                        + (
                            "the run stopped at its ceiling before its maintenance took the host"
                            if run.stopped
                            else "the rollout was still waiting for hosts ahead of it when the "
                            "run ended"
                        ),
                        "vms": [],
                    }
                )
        vms = Counter()
        examples: dict = {}
        for rec in run.records:
            if rec.outcome in _NOT_MOVED or (rec.outcome == "migrated" and rec.converged is False):
                what = "not_converged" if rec.outcome == "migrated" else rec.outcome
                code = _code(rec)
                reason = rec.reason if rec.outcome not in ("migrated", "aborted") else ""
                key = (what, code, reason)
                vms[key] += 1
                examples.setdefault(key, []).append(fleet.vms[rec.vm].name)
        vm_rows = [
            {
                "outcome": what,
                "code": code,
                "vms": n,
                "reason": _vm_sentence(
                    what, code, reason or self._words(code, examples[(what, code, reason)][0])
                ),
                "names": examples[(what, code, reason)][:6],
            }
            for (what, code, reason), n in vms.most_common()
        ]
        rebooted = [name for names in obs.deadline_vms.values() for name in names]
        if rebooted:  # terminated with their host at a deadline: not moved, and counted so
            restarted = len(obs.deadline_restarted)
            reason = (
                why.sentence(why.DEADLINE)
                .replace("it could move", "they could move")
                .replace("its host was", "their host was")
            )
            if restarted:
                reason += f" ({restarted:,} then restarted on another host)"
            vm_rows.append(
                {
                    "outcome": "terminated",
                    "code": why.DEADLINE,
                    "vms": len(rebooted),
                    "reason": reason,
                    "names": rebooted[:6],
                }
            )
            vm_rows.sort(key=lambda row: -row["vms"])
        by_status = Counter(h["status"] for h in hosts)
        return {
            "hosts": hosts,
            "hosts_total": len(hosts),
            "hosts_by_status": dict(by_status),
            "vms": vm_rows,
            "vms_total": sum(vms.values()) + len(rebooted),
        }

    def _words(self, code: str, example: str) -> str:
        """A reason code's sentence: reasons.py's, else the engine's own words for ``example``."""
        if code in why.SENTENCES and "{" not in why.SENTENCES[code]:
            return why.SENTENCES[code]
        detail = self.observer.abort_detail.get(example)
        if detail:
            return f"for example {example}: {detail}"
        rec = next((r for r in self.run.records if self.run.fleet.vms[r.vm].name == example), None)
        return rec.reason if rec is not None and rec.reason else code.replace("_", " ")

    def figures(self) -> dict:
        s = summarize(self.run)
        records = self.run.records
        return {
            "makespan_s": self.makespan_s,
            "migrations": s["migrations"],
            "terminations": sum(1 for r in records if r.outcome in ("terminated", "restarted")),
            "crashes": s["outcomes"]["crashed"],
            "outcomes": s["outcomes"],
            "blackout_p50_s": s["blackout_p50_s"],
            "blackout_p99_s": s["blackout_p99_s"],
            "blackout_max_s": s["blackout_max_s"],
            "blackout_slo_s": BLACKOUT_SLO_S,
            "blackout_slo_breaches": s["blackout_slo_breaches"],
            "peak_concurrent_migrations": s["peak_concurrent_migrations"],
            "queue_wait_p99_s": s["queue_wait_p99_s"],
        }

    def summary(self) -> dict:
        """The run's summary as its results page shows it: ``summarize`` with the plan's own
        figures (the same makespan rule, terminations) and what was not handled, so a run's
        figures sit beside its plan's computed by the same code."""
        return {**summarize(self.run), **self.figures(), "not_handled": self.not_handled()}


def _code(rec) -> str:
    if rec.outcome == "crashed":
        return why.SOURCE_FAILED
    return rec.stop_reason or rec.wait_reason or rec.outcome


def _vms(n: int) -> str:
    return f"{n} VM" if n == 1 else f"{n} VMs"


def _vm_sentence(what: str, code: str, reason: str) -> str:
    if what == "not_converged":
        return f"moved, but pre-copy did not converge: the blackout was forced ({reason})"
    if reason and reason != code:
        return reason
    # a bare code (a VM stuck at the head of its queue keeps its wait code): in words
    from migrationsim import outcomes  # the table imports this package's reasons

    return outcomes.describe(code)


def watch(run: FleetRun) -> Callable[[], Prediction]:
    """Listen to ``run`` (not yet started) as ``observe`` does; call the result once it has
    finished for its ``Prediction`` (a fleet run's stream uses this for its summary)."""
    obs = Observer()
    run.listeners.append(obs)
    home = [vm.host for vm in run.fleet.vms]
    return lambda: Prediction(run, obs, home)


def observe(scenario, *, capacity_factor: float = 1.0) -> Prediction:
    """Run the engine on ``scenario`` (its own seed). ``capacity_factor`` multiplies every host's
    vCPUs and memory after the VMs are drawn (the same VMs, more room to place them)."""
    obs = Observer()
    run = FleetRun(scenario, obs, round_events=False)  # the observer reads no round
    if capacity_factor != 1.0:
        for host in run.fleet.hosts:
            host.vcpus = int(host.vcpus * capacity_factor)
            host.memory_bytes *= capacity_factor
    home = [vm.host for vm in run.fleet.vms]
    run.run()
    return Prediction(run, obs, home)
