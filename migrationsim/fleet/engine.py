"""The fleet engine: maintenance events evacuate hosts, many VMs migrate at once over shared links.

``FleetRun`` is the fleet model on the event kernel (``kernel.py``: the clock, the heap, the
event stream). Each maintenance event takes its hosts out of service as its ``Rollout`` allows
(``rollout.py``). Each VM that must leave a host goes through GCE's phases (MODEL.md section 6):
guest notice, queueing under the rollout caps, target selection (``placement.py``) and setup
(with authentication), pre-copy (the single-VM model's ``Precopy``, at the rate the network
gives it, ``network.py``; migrations alike share its rounds, ``shared_precopy.py``), blackout,
post-migration brownout with packet forwarding, cleanup. VMs that cannot live-migrate are
terminated (and restarted elsewhere when ``automaticRestart``); VMs on a host that fails crash.
Every step is an event with a time; ``FleetRun.events()`` yields them as produced.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from migrationsim import notice as notices
from migrationsim.spec import MAX_DURATION_S, build_spec
from migrationsim.switchover import device_and_resume_s

from . import reasons as why
from .build import build_fleet
from .kernel import Kernel, collector_paused
from .model import FAILED, MAINTENANCE, SCHEDULED, UP, Fleet, Host, Vm
from .network import Flow, Network, in_order
from .placement import Placement
from .rollout import Rollout, hosts_in_scope, next_window_open
from .scenario import MaintenanceEvent, Scenario
from .shared_precopy import SharedPrecopy, TrajectoryFamily

SPOT_NOTICE_S = 30.0  # Spot VMs get a 30 s preemption notice
MAX_ATTEMPTS = 3  # migrations of one VM that fail before the switch, before giving up
MAX_ACTIONS_PER_VM = 1000  # the ceiling on a run's work (the presets take about 15 a VM)
MAX_SIMULATED_S = 10 * 365.25 * 86400.0  # and on its simulated time: ten years


@dataclass(slots=True)
class VmRecord:
    """What happened to one VM (the rows of the results table)."""

    vm: int
    outcome: str = "unaffected"  # migrated, terminated, restarted, crashed, aborted, stuck
    reason: str = ""
    migrations: int = 0
    attempts: int = 0
    restarts_after_crash: int = 0  # times it crashed with its host and started again elsewhere
    notice_s: float = 0.0
    queued_at: float | None = None
    queue_wait_s: float = 0.0
    wait_reason: str = ""
    precopy_s: float = 0.0  # all its pre-copies (aborted ones too; not those a host failure cut)
    blackout_s: float = 0.0  # its last migration's
    post_brownout_s: float = 0.0  # its last migration's
    bytes_sent: float = 0.0  # every migration's, those that failed or were aborted included
    # its migrations that did not complete (aborted, or failed: target or source host, or
    # authentication): the time each ran (from its start to its end, setup included) and the
    # bytes each sent (these are in ``bytes_sent`` too)
    failed_s: float = 0.0
    failed_bytes: float = 0.0
    forwarded_packets: float = 0.0
    lost_packets: float = 0.0
    forwarding_latency_s: float = 0.0  # added to each forwarded packet (one more host hop)
    rounds: int = 0
    converged: bool | None = None
    stop_reason: str = ""
    source: str = ""
    target: str = ""
    done_at: float | None = None


class VmRecords:
    """Every VM's record, by VM id, made when the engine first touches it. Most VMs of a big
    fleet never move (at a million VMs, nine in ten): their records would be a quarter of a
    gigabyte of defaults. Indexing makes a record on first use and keeps it; iterating makes
    every missing one (a list of every VM's record, as before); ``touched`` goes over the
    records made so far only, in id order, and ``untouched`` counts the others (each is
    ``VmRecord(id)`` as made: unaffected, nothing sent)."""

    __slots__ = ("_rows", "_made")

    def __init__(self, vms: int):
        self._rows: list[VmRecord | None] = [None] * vms
        self._made = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, vm_id: int) -> VmRecord:
        rec = self._rows[vm_id]
        if rec is None:
            if vm_id < 0:  # a list's negative index, to the same VM
                return self[len(self._rows) + vm_id]
            rec = self._rows[vm_id] = VmRecord(vm_id)
            self._made += 1
        return rec

    def __iter__(self):
        rows = self._rows
        if self._made < len(rows):
            for vm_id, rec in enumerate(rows):
                if rec is None:
                    rows[vm_id] = VmRecord(vm_id)
            self._made = len(rows)
        return iter(rows)

    @property
    def rows(self) -> list[VmRecord | None]:
        """The records by VM id, None where none was made yet (for ``FleetRun._record``)."""
        return self._rows

    def touched(self):
        """The records made so far, in VM id order."""
        return (rec for rec in self._rows if rec is not None)

    @property
    def untouched(self) -> int:
        return len(self._rows) - self._made


@dataclass(eq=False, slots=True)
class Migration:
    vm: Vm
    source: Host
    target: Host
    event: MaintenanceEvent
    started_s: float
    precopy: SharedPrecopy | None = None
    flow: Flow | None = None
    rate_bps: float = 0.0  # the rate it has been sending at since ``last_s``
    last_s: float = 0.0
    version: int = 0  # bumps invalidate scheduled round ends
    reserved: bool = False  # holds the empty target VM's vCPUs and memory (until the switch)
    arriving: bool = False  # holds a per-target-host slot (until cleanup)
    phase: str = "setup"  # setup, precopy, blackout, post, cleanup, done
    rejected_targets: set | None = None  # hosts that refused it (authentication), once one has
    sent_bytes: float = 0.0  # what it has sent so far (added to its VM's ``bytes_sent`` too)


# the phases in which the source still holds the whole VM (paused there in the blackout)
BEFORE_SWITCH = ("setup", "precopy", "blackout")


class FleetRun(Kernel):
    def __init__(
        self,
        scenario: Scenario,
        on_event: Callable[[dict], None] | None = None,
        *,
        sample_every_s: float | None = None,
        busiest_links: int = 8,
        guest_watches: Callable[[Vm, float], bool] | None = None,
        share_precopy: bool = True,
        round_events: bool = True,
    ):
        """``sample_every_s``: also emit a ``links`` event that often (simulated seconds) with
        the busiest links' utilisation and the migrations in flight per rack.
        ``guest_watches(vm, now_s)``: whether the guest has read its maintenance-event key since
        the last event (default: the VM's ``watches_metadata``); a live rehearsal passes the
        real polls here. ``share_precopy=False``: every migration simulates its pre-copy
        alone (``shared_precopy.py``; what sharing must equal, for tests).
        ``round_events=False``: no ``round`` event for each pre-copy round (a plan, a summary):
        rounds are still counted, and a migration is only woken where something can happen."""
        super().__init__()
        self.scenario = scenario
        self.guest_watches = guest_watches or (lambda vm, now_s: vm.watches_metadata)
        self.sample_every_s = sample_every_s
        self.busiest_links = busiest_links
        self.rng = random.Random(scenario.seed)
        with collector_paused():  # millions of objects without cycles (kernel.py)
            self.fleet: Fleet = build_fleet(scenario, random.Random(scenario.seed + 1))
            self.records = VmRecords(len(self.fleet.vms))
            self._rows = self.records.rows  # ``_record`` reads it directly (the hot path)
        # the ceiling (kernel.py): ~15 actions a VM in the presets; hostile input stops here
        self.max_actions = MAX_ACTIONS_PER_VM * len(self.fleet.vms) + 100_000
        self.max_time_s = MAX_SIMULATED_S
        self.network = Network()
        self.placement = Placement(self.fleet, scenario, random.Random(scenario.seed + 2))
        if on_event:
            self.listeners.append(on_event)
        self._specs: dict = {}
        self._families: dict[int, TrajectoryFamily] = {}  # by id of a spec in ``_specs``
        self.share_precopy = share_precopy
        self.round_events = round_events
        self._flows: dict[Flow, Migration] = {}
        self.in_flight: dict[int, Migration] = {}  # by VM id
        # VMs asked to leave their host, until they are gone (moved, terminated) or give up
        self.leaving: set[int] = set()
        self.restarting: set[int] = set()  # VMs stopped, to start again on a reserved host
        # (event, host, when) of a hardware failure drawn beyond the ceiling on simulated time:
        # not scheduled (the run ends when its work does), said at the end if the host was not
        # repaired by then (``failures_not_simulated``)
        self._failures_beyond_ceiling: list[tuple[str, Host, float]] = []
        self.failures_not_simulated: list[dict] = []
        self._being_emptied: set[int] = set()  # hosts whose VMs are being asked to leave now
        # what a waiting VM waits for, in words with its figures (the code is its record's
        # wait_reason): a VM still waiting at the end is said with it ("no host can take it: of
        # 2 candidates, 2 hold its anti-affinity group", not only "no_target")
        self.wait_sentences: dict[int, str] = {}
        self.queues: dict[int, deque] = {}  # source host id -> VMs waiting to leave
        self.blocked: dict[tuple, dict] = {}  # what a host waits for -> hosts (ordered)
        self.rack_out = [0] * len(self.fleet.racks)
        self.customer_out: dict[str, int] = {}
        self.global_out = 0
        self.peak_concurrent = 0
        self.host_event: dict[int, MaintenanceEvent] = {}
        self._wakeups: set = set()  # (event, time) window openings already scheduled
        self.controllers: dict[str, Rollout] = {}
        for ev in scenario.events:
            self.at(ev.start_s, self._event_start, ev)
        if sample_every_s:
            self.at(0.0, self._sample, observer=True)

    def _record(self, vm_id: int) -> VmRecord:
        """The VM's record, made on first use (``VmRecords``); a plain list read once it exists
        (this runs a dozen times for every migration)."""
        return self._rows[vm_id] or self.records[vm_id]

    @property
    def makespan_s(self) -> float:
        """When the last thing happened (samples aside)."""
        return self.last_activity_s

    # --- the end of the run ----------------------------------------------------------------

    def finish(self) -> None:
        """VMs still queued when nothing is left to happen are stuck: say behind whom and why."""
        for queue in self.queues.values():
            if queue:
                head = self.records[queue[0].id]
                for vm in list(queue)[1:]:
                    rec = self._record(vm.id)
                    rec.wait_reason = rec.wait_reason or why.HEAD_OF_LINE
                    rec.reason = why.sentence(
                        why.HEAD_OF_LINE,
                        head=queue[0].name,
                        reason=head.wait_reason or "its own wait",
                    )
        for vm_id in sorted(self.leaving):
            rec = self._record(vm_id)
            if rec.queued_at is not None:
                rec.outcome = "stuck"
                if vm_id in self.in_flight:
                    # its migration was under way when the run stopped at its ceiling; it
                    # waited in its queue only until it started (queue_wait_s, set then)
                    rec.stop_reason = why.UNDER_WAY_AT_CEILING
                    rec.reason = why.sentence(why.UNDER_WAY_AT_CEILING)
                    continue
                # waiting until the run ended: its last activity (a wake-up nobody waited for
                # after it, an observer's sample, is not the end)
                rec.queue_wait_s = self.last_activity_s - rec.queued_at
                rec.reason = (
                    rec.reason
                    or self.wait_sentences.get(vm_id)
                    or rec.wait_reason
                    or "still waiting when the run ended"
                )

        for vm_id in sorted(self.restarting):  # only a run stopped at its ceiling has any
            rec = self._record(vm_id)
            if rec.outcome == "restarted":  # not yet: it was stopped (a crash stays a crash)
                rec.outcome = "terminated"
            rec.reason += "; " + why.sentence(why.RESTART_UNDER_WAY_AT_CEILING)
        self._not_reached()
        self.failures_not_simulated = [
            {
                "event": name,
                "host": host.name,
                "fails_at_s": fail_at,
                "ceiling_s": self.max_time_s,
                "vms": len(host.vms),
            }
            for name, host, fail_at in self._failures_beyond_ceiling
            if host.id not in self.controllers[name].done and host.state != FAILED
        ]

    def _not_reached(self) -> None:
        """The run ended (at its ceiling, or with nothing left that could happen: a rollout
        blocked behind hosts that never emptied) with hosts a maintenance had still to take
        (not yet taken out of service, or an event not yet begun): their VMs did not move.
        They are not done (stuck), not unaffected ('its host was not under maintenance').
        A hardware-failure event is not work to do: a host it had not failed by then simply had
        not failed."""
        code = why.NOT_REACHED_AT_CEILING if self.stopped else why.NOT_REACHED
        hosts: list[Host] = []
        for ev in self.scenario.events:
            if ev.kind == "hw_failure":
                continue
            c = self.controllers.get(ev.name)
            if c is None:
                if not self.stopped:  # an event yet to begin: the run would not have ended
                    continue
                hosts.extend(self.scope(ev))
            else:
                hosts.extend(c.pending)
                hosts.extend(self.fleet.hosts[h] for h in sorted(c.deferred))
        seen: set[int] = set()
        for host in hosts:
            if host.id in seen or host.state == FAILED:
                continue
            seen.add(host.id)
            for vm_id in sorted(host.vms):
                rec = self._record(vm_id)
                if vm_id in self.leaving or rec.outcome != "unaffected":
                    continue
                rec.outcome = "stuck"
                rec.wait_reason = code
                rec.reason = why.sentence(code)

    def start_maintenance(self, event: MaintenanceEvent) -> None:
        """Start another maintenance event (e.g. simulateMaintenanceEvent) at ``event.start_s``,
        or now if that has passed."""
        self.at(max(self.now, event.start_s), self._event_start, event)

    def _sample(self) -> None:
        """Link utilisation and migrations in flight, every ``sample_every_s`` while work remains."""
        busy = sorted(
            (link for link in self.network.links.values() if link.carried_bps > 0),
            key=lambda link: -link.utilisation,
        )[: self.busiest_links]
        per_rack: dict[str, int] = {}
        for m in self.in_flight.values():
            rack = self.fleet.racks[m.source.rack].name
            per_rack[rack] = per_rack.get(rack, 0) + 1
        self.emit(
            "links",
            links=[
                {"link": link.name, "utilisation": link.utilisation, "bps": link.carried_bps}
                for link in busy
            ],
            in_flight=len(self.in_flight),
            in_flight_by_rack=per_rack,
        )
        if self.next_s is not None:  # stop sampling once nothing else is left to happen
            self.at(self.now + self.sample_every_s, self._sample, observer=True)

    # --- maintenance events and their hosts ------------------------------------------------------

    def _event_start(self, ev: MaintenanceEvent) -> None:
        hosts = self.scope(ev)
        controller = Rollout(ev, hosts)
        self.controllers[ev.name] = controller
        self.placement.will_take(hosts)
        self.emit(
            "maintenance_start",
            event=ev.name,
            maintenance=ev.kind,
            hosts=len(hosts),
            deadline_s=None if ev.deadline_s is None else ev.start_s + ev.deadline_s,
        )
        if ev.deadline_s is not None:
            self.at(ev.start_s + ev.deadline_s, self._deadline, ev)
        if ev.window is not None and ev.window[0] > 0:
            self._wakeups.add((ev.name, ev.start_s + ev.window[0]))
            self.at(ev.start_s + ev.window[0], self._window_opens, ev)
        if ev.kind == "hw_failure":
            for host in hosts:
                fail_at = ev.start_s + self.rng.expovariate(1.0 / ev.failure_after_mean_s)
                if self.max_time_s is not None and fail_at > self.max_time_s:
                    # waiting for it would hold the run at its ceiling, said to be stopped
                    # there with a makespan of ten years, long after the drain was done
                    self._failures_beyond_ceiling.append((ev.name, host, fail_at))
                    continue
                self.at(fail_at, self._hardware_fails, host, controller)
        self._activate(controller)

    def scope(self, ev: MaintenanceEvent) -> list[Host]:
        """The hosts a maintenance event names (the zone, racks or hosts)."""
        return hosts_in_scope(self.fleet, ev)

    def _activate(self, c: Rollout) -> None:
        """Take hosts out of service, up to the event's limit (rack by rack for BIOS).

        Not re-entered: a host settled while the loop runs (skipped, say) frees a place that
        this same loop fills. A host is settled once every VM on it was asked to leave, not
        after the first: past a deadline each is stopped at once, and the host settled after
        the first one would be skipped for the VMs not yet asked."""
        if c.activating:
            return
        c.activating = True
        try:
            self._take_hosts(c)
        finally:
            c.activating = False
        if not c.pending and not c.active and not c.deferred and not c.finished:
            c.finished = True
            self.emit("maintenance_done", event=c.event.name, hosts=c.total, skipped=c.skipped)

    def _take_hosts(self, c: Rollout) -> None:
        while c.pending and len(c.active) < c.max_active:
            host = c.pending[0]
            if c.by_rack and c.active and host.rack != c.current_rack:
                break  # the next rack waits until this one is done
            c.pending.popleft()
            c.current_rack = host.rack
            if host.state == FAILED:
                self.placement.taken(host)
                c.skipped += 1
                continue
            if self.host_event.get(host.id) is not None:  # another event has it: after that one
                c.deferred.add(host.id)
                continue
            self.placement.taken(host)
            c.active.add(host.id)
            self.host_event[host.id] = c.event
            host.state = SCHEDULED
            self.placement.leave_pool(host)
            self.emit(
                "host_scheduled",
                host=host.name,
                rack=self.fleet.racks[host.rack].name,
                event=c.event.name,
                vms=len(host.vms),
            )
            self._being_emptied.add(host.id)
            for vm_id in sorted(host.vms):
                if vm_id in self.in_flight:
                    continue  # still arriving (past its switch): it leaves when it has landed
                self._evacuate(self.fleet.vms[vm_id], c.event)
            self._being_emptied.discard(host.id)
            self._settle(host)

    def _settle(self, host: Host) -> None:
        """A scheduled host with nothing more to wait for reaches its next state: empty, it goes
        into maintenance; with VMs that will not leave (aborted or given up), it is skipped with
        the reason. It waits while any of its VMs is still leaving (in its notice, queued or
        migrating) and while migrations stream into it (they land, then leave like the others)."""
        ev = self.host_event.get(host.id)
        if host.state != SCHEDULED or ev is None or host.incoming or host.id in self._being_emptied:
            return
        if not host.vms:
            host.state = MAINTENANCE
            self.emit("host_maintenance_start", host=host.name, event=ev.name)
            self.at(self.now + ev.host_downtime_s, self._host_back, host, ev)
            return
        if any(vm_id in self.leaving for vm_id in host.vms):
            return
        from migrationsim.outcomes import label  # the words of every code (it reads reasons.py)

        staying: dict[str, list[str]] = {}  # why, in words -> the VMs that stay for it
        for vm_id in sorted(host.vms):
            rec = self._record(vm_id)
            reason = label(rec.reason or rec.outcome)  # "failed: target back-out", not its code
            staying.setdefault(reason, []).append(self.fleet.vms[vm_id].name)
        self._skip_host(
            host,
            "; ".join(
                why.sentence(
                    why.VM_STAYS,
                    vms=names[0]
                    if len(names) == 1
                    else ", ".join(names[:-1]) + " and " + names[-1],
                    reason=reason,
                    keep="keeps" if len(names) == 1 else "keep",
                )
                for reason, names in staying.items()
            ),
        )

    def _host_back(self, host: Host, ev: MaintenanceEvent) -> None:
        host.state = UP
        host.patched = True
        self.host_event.pop(host.id, None)
        self.placement.join_pool(host)
        self.emit("host_back", host=host.name, event=ev.name)
        c = self.controllers[ev.name]
        c.active.discard(host.id)
        c.done.add(host.id)
        self._activate(c)
        for other in self.controllers.values():  # an overlapping event waiting for this host
            if host.id in other.deferred:
                other.deferred.discard(host.id)
                other.pending.appendleft(host)
                self._activate(other)
        self._pump_placement()

    def _skip_host(self, host: Host, reason: str) -> None:
        """A host that cannot be emptied (a VM would not move): maintenance goes on without it."""
        ev = self.host_event.pop(host.id, None)
        if ev is None:
            return
        host.state = UP
        self.placement.join_pool(host)
        c = self.controllers[ev.name]
        c.active.discard(host.id)
        c.skipped += 1
        self.emit("host_skipped", host=host.name, event=ev.name, reason=reason)
        self._activate(c)

    def _deadline(self, ev: MaintenanceEvent) -> None:
        """Past the deadline the remaining hosts are rebooted whatever runs on them. A deadline
        that finds every host done changes nothing: it is not the end of the maintenance."""
        c = self.controllers[ev.name]
        hosts_left = len(c.pending) + len(c.active) + len(c.deferred)
        if not hosts_left:
            self.idle()
        # (hosts_held: those another event held then, in its own maintenance: not rebooted by
        # this deadline, which takes them, empty, only when that event gives them back)
        self.emit("deadline", event=ev.name, hosts_left=hosts_left, hosts_held=len(c.deferred))
        c.forced = True
        c.max_active = math.inf
        c.by_rack = False
        for host_id in sorted(c.active):
            self._force_out(self.fleet.hosts[host_id])
        self._activate(c)  # the rest at once, each rebooted as it is taken (``_evacuate``)

    def _force_out(self, host: Host) -> None:
        for vm_id in sorted(host.vms):
            vm = self.fleet.vms[vm_id]
            if vm.id in self.in_flight:
                continue  # already leaving
            self._dequeue(vm, host)
            self._terminate(vm, why.DEADLINE, why.sentence(why.DEADLINE))

    def _window_opens(self, ev: MaintenanceEvent) -> None:
        waiting = self.blocked.get(("window", ev.name)) or ()
        if not any(self.queues.get(host_id) for host_id in waiting):
            # nobody waits for it: none did, or those who did are gone (rebooted with their
            # host at a deadline, crashed with it) from the queues their hosts were noted by
            self.idle()
        self.emit("window_open", event=ev.name)
        self._pump(("window", ev.name))

    # --- one VM leaving its host ------------------------------------------------------------

    def _evacuate(self, vm: Vm, ev: MaintenanceEvent) -> None:
        """Ask a VM to leave its host (taken out of service by ``ev``)."""
        rec = self._record(vm.id)
        host_id = vm.host
        if self.controllers[ev.name].forced:  # past the deadline: rebooted with its host
            self._terminate(vm, why.DEADLINE, why.sentence(why.DEADLINE))
            return
        self.leaving.add(vm.id)
        rec.done_at = None
        if not vm.live_migratable:
            if vm.accelerator:
                value, lead = notices.guest_notice(guest_watches=False, accelerator=True)
            elif vm.spot:
                value, lead = notices.TERMINATE, SPOT_NOTICE_S
            else:
                value = notices.TERMINATE
                lead = notices.MIGRATE_NOTICE_S if self.guest_watches(vm, self.now) else 0.0
            rec.notice_s = lead
            self.emit("notice", vm=vm.name, value=value, lead_s=lead)
            detail = why.sentence(why.NOT_MIGRATABLE, why=vm.why_not_migratable())
            self.at(self.now + lead, self._notice_over, vm, host_id, detail)
            return
        value, lead = notices.guest_notice(guest_watches=self.guest_watches(vm, self.now))
        rec.notice_s = lead
        self.emit("notice", vm=vm.name, value=value, lead_s=lead)
        self.at(self.now + lead, self._enqueue, vm, host_id)

    def _still_on(self, vm: Vm, host_id: int) -> bool:
        """Whether the VM still runs on the host it was asked to leave when its notice ends.
        Gone meanwhile (rebooted with its host at a deadline, crashed), nothing happens then:
        the notice's end is not activity (a GPU VM's 60-minute notice made the makespan of a
        run whose last host came back after 11 minutes read 1 h)."""
        host = self.fleet.hosts[host_id]
        if vm.host == host_id and vm.id in host.vms and host.state != FAILED:
            return True
        self.idle()
        return False

    def _notice_over(self, vm: Vm, host_id: int, detail: str) -> None:
        """A VM that cannot live-migrate is stopped when its notice ends."""
        if self._still_on(vm, host_id):
            self._terminate(vm, why.NOT_MIGRATABLE, detail)

    def _enqueue(self, vm: Vm, host_id: int) -> None:
        """After its notice the VM queues to leave the host it was asked to leave (unless it
        is gone from it meanwhile: terminated, crashed)."""
        if not self._still_on(vm, host_id):
            return
        host = self.fleet.hosts[host_id]
        self._record(vm.id).queued_at = self.now  # this departure's wait
        self.queues.setdefault(host.id, deque()).append(vm)
        self._try_host(host)

    def _dequeue(self, vm: Vm, host: Host) -> None:
        """Take a VM out of its host's queue without starting it (it crashed or was stopped):
        its wait ends now, as a start would end it (it read 0 s, pulling the median down)."""
        queue = self.queues.get(host.id)
        if queue and vm in queue:
            queue.remove(vm)
            self._waited(vm)

    def _waited(self, vm: Vm) -> None:
        rec = self._record(vm.id)
        if rec.queued_at is not None:
            rec.queue_wait_s = self.now - rec.queued_at

    def _try_host(self, host: Host) -> None:
        """Start the migrations waiting on this host that the caps and placement allow."""
        queue = self.queues.get(host.id)
        while queue:
            vm = queue[0]
            ev = self.host_event.get(host.id)
            if ev is None:  # the host was skipped or is back: nothing to do for this VM
                queue.popleft()
                self._waited(vm)
                self.leaving.discard(vm.id)
                continue
            blocked = self._blocker(vm, host, ev)
            if isinstance(blocked, Host):
                queue.popleft()
                self._start(vm, host, blocked, ev)
                continue
            key, code, sentence = blocked
            self.blocked.setdefault(key, {})[host.id] = None
            rec = self._record(vm.id)
            self.wait_sentences[vm.id] = sentence
            if rec.wait_reason != code:
                rec.wait_reason = code
                self.emit("queued", vm=vm.name, host=host.name, reason=code, detail=sentence)
            return

    def _blocker(self, vm: Vm, host: Host, ev: MaintenanceEvent):
        """A target host if the VM may start now, else (blocked-on key, code, sentence)."""
        caps = self.scenario.caps
        if ev.window is not None:
            opens = next_window_open(ev, self.now)
            if opens > self.now:
                if (ev.name, opens) not in self._wakeups:
                    self._wakeups.add((ev.name, opens))
                    self.at(opens, self._window_opens, ev)
                return (
                    ("window", ev.name),
                    why.OUTSIDE_WINDOW,
                    why.sentence(why.OUTSIDE_WINDOW, opens=opens),
                )
        if caps.per_source_host is not None and host.outgoing >= caps.per_source_host:
            return (
                ("host", host.id),
                why.CAP_SOURCE_HOST,
                why.sentence(why.CAP_SOURCE_HOST, cap=caps.per_source_host),
            )
        if caps.per_rack is not None and self.rack_out[host.rack] >= caps.per_rack:
            return (
                ("rack", host.rack),
                why.CAP_RACK,
                why.sentence(why.CAP_RACK, cap=caps.per_rack),
            )
        if (
            caps.per_customer is not None
            and self.customer_out.get(vm.customer, 0) >= caps.per_customer
        ):
            return (
                ("customer", vm.customer),
                why.CAP_CUSTOMER,
                why.sentence(why.CAP_CUSTOMER, cap=caps.per_customer),
            )
        if caps.global_ is not None and self.global_out >= caps.global_:
            return (("global",), why.CAP_GLOBAL, why.sentence(why.CAP_GLOBAL, cap=caps.global_))
        target, rejections = self.placement.choose(vm, host)
        if target is None:
            if rejections.get(why.CAP_TARGET_HOST) and len(rejections) == 1:
                return (
                    ("placement",),
                    why.CAP_TARGET_HOST,
                    why.sentence(why.CAP_TARGET_HOST, cap=caps.per_target_host),
                )
            return (
                ("placement",),
                why.NO_TARGET,
                why.sentence(why.NO_TARGET, detail=why.explain_rejections(rejections)),
            )
        return target

    def _pump(self, key: tuple) -> None:
        hosts = self.blocked.pop(key, None)
        if hosts:
            for host_id in list(hosts):
                self._try_host(self.fleet.hosts[host_id])

    def _pump_placement(self) -> None:
        self._pump(("placement",))

    def _start(self, vm: Vm, source: Host, target: Host, ev: MaintenanceEvent) -> None:
        rec = self._record(vm.id)
        rec.attempts += 1
        if rec.queued_at is not None:
            rec.queue_wait_s = self.now - rec.queued_at
        rec.wait_reason = ""
        self.wait_sentences.pop(vm.id, None)
        m = Migration(vm, source, target, ev, self.now)
        self.in_flight[vm.id] = m
        source.outgoing += 1
        self.rack_out[source.rack] += 1
        self.customer_out[vm.customer] = self.customer_out.get(vm.customer, 0) + 1
        self.global_out += 1
        self.peak_concurrent = max(self.peak_concurrent, self.global_out)
        self._take_target(m, target)
        self.emit(
            "migration_start",
            vm=vm.name,
            source=source.name,
            target=target.name,
            queue_wait_s=rec.queue_wait_s,
        )
        self.at(self.now + self.scenario.target_setup_s, self._target_ready, m)

    def _take_target(self, m: Migration, target: Host) -> None:
        m.target = target
        target.incoming += 1
        target.reserve(m.vm.vcpus, m.vm.memory_bytes)
        m.reserved = m.arriving = True

    def _drop_target(self, m: Migration) -> None:
        """Give the target back: its reservation (if not yet the VM's) and its arrival slot."""
        if m.reserved:
            m.target.release(m.vm.vcpus, m.vm.memory_bytes)
            m.reserved = False
        if m.arriving:
            m.target.incoming -= 1
            m.arriving = False

    def _target_ready(self, m: Migration) -> None:
        if m.phase != "setup":
            return
        scenario = self.scenario
        if scenario.auth_failure and self.rng.random() < scenario.auth_failure:
            self.emit(
                "auth_failed",
                vm=m.vm.name,
                target=m.target.name,
                detail=why.sentence(why.AUTH_FAILED),
            )
            if m.rejected_targets is None:
                m.rejected_targets = set()
            m.rejected_targets.add(m.target.id)
            self._drop_target(m)
            target, _ = self.placement.choose(m.vm, m.source, exclude=m.rejected_targets)
            if target is None or len(m.rejected_targets) >= 3:
                self._failed(m)
                self._back_out(m, why.AUTH_FAILED)
                return
            self._take_target(m, target)
            self.emit("target_retry", vm=m.vm.name, target=target.name)
            self.at(self.now + scenario.target_setup_s, self._target_ready, m)
            return
        self._begin_precopy(m)

    # --- pre-copy over the shared network ----------------------------------------------------

    def spec_for(self, vm: Vm):
        """The single-VM model's spec this VM migrates with: its memory and workload, its host
        NIC's migration share as the link, the scenario's policy. Cached by everything it is
        built from (the policy is the run's)."""
        bandwidth_bps = vm_nic_share(self.fleet, self.fleet.hosts[vm.host])
        key = (vm.workload, vm.memory_bytes, bandwidth_bps)
        spec = self._specs.get(key)
        if spec is None:
            spec = build_spec(
                memory=vm.memory_bytes,
                workload=vm.workload,
                bandwidth=bandwidth_bps,
                **self.scenario.policy,
            )
            self._specs[key] = spec
        return spec

    def _precopy_for(self, vm: Vm) -> SharedPrecopy:
        """The VM's pre-copy, sharing the rounds of every migration of its spec at its cap
        (``shared_precopy.py``)."""
        spec = self.spec_for(vm)
        family = self._families.get(id(spec))
        if family is None:
            family = self._families[id(spec)] = TrajectoryFamily(spec)
        return SharedPrecopy(family) if self.share_precopy else SharedPrecopy.alone(family)

    def _begin_precopy(self, m: Migration) -> None:
        m.precopy = self._precopy_for(m.vm)
        m.phase = "precopy"
        path = self.network.migration_path(self.fleet, m.source, m.target)
        m.flow = Flow(m.vm.name, path, m.precopy.rate_bps(math.inf))
        self._flows[m.flow] = m
        m.last_s = self.now
        self._rates_changed(self.network.add(m.flow), m)
        m.rate_bps = m.flow.rate_bps
        self.emit("precopy_start", vm=m.vm.name, rate_bps=m.rate_bps)
        scenario = self.scenario
        first_pass_s = m.precopy.first_pass_wire_bytes() / max(m.rate_bps, 1.0)  # round 0
        if scenario.target_failure and self.rng.random() < scenario.target_failure:
            self.at(self.now + self.rng.random() * first_pass_s, self._target_fails, m, m.version)
        if scenario.source_failure and self.rng.random() < scenario.source_failure:
            self.at(
                self.now + self.rng.random() * first_pass_s,
                self._host_fails,
                m.source,
                "failed during a migration",
            )
        self._decide(m)

    def _advance(self, m: Migration) -> None:
        """Account for what it sent since ``last_s`` at the rate it had."""
        if m.phase == "precopy" and self.now > m.last_s:
            m.precopy.send_for(self.now - m.last_s, m.rate_bps)
        m.last_s = self.now

    def _rates_changed(self, flows, skip: Migration | None = None) -> None:
        for flow in in_order(flows):
            m = self._flows.get(flow)
            if m is None or m is skip or m.phase != "precopy":
                continue
            self._advance(m)
            m.rate_bps = flow.rate_bps
            self._schedule_round_end(m)

    def _schedule_round_end(self, m: Migration) -> None:
        m.version += 1
        if m.rate_bps <= 0:
            return  # starved: rescheduled when its rate changes
        at_s = m.precopy.wake_at(self.now, m.rate_bps, every_round=self.round_events)
        # pre-copy decisions that fall on the same instant (timeouts of migrations started
        # together) run after everything else then, in VM order: never in the order they were
        # scheduled, which depends on how often each was woken before
        rank = 1.0 + m.vm.id / (len(self.fleet.vms) + 1)
        self.at(at_s, self._round_end, m, m.version, priority=rank)

    def _decide(self, m: Migration) -> None:
        stop = m.precopy.decide(m.rate_bps if m.rate_bps > 0 else m.flow.demand_bps)
        if stop is not None:
            self._switchover(m, stop)
            return
        demand = m.precopy.rate_bps(math.inf)
        if demand != m.flow.demand_bps:
            self._advance(m)
            self._rates_changed(self.network.set_demand(m.flow, demand), m)
            m.rate_bps = m.flow.rate_bps
        self._schedule_round_end(m)

    def _round_end(self, m: Migration, version: int) -> None:
        if version != m.version or m.phase != "precopy":
            self.idle()  # a wake-up its migration no longer waits for: nothing happens
            return
        if self.now == m.last_s:  # woken again at the instant of its last advance
            m.precopy.finish_round(m.rate_bps)
        self._advance(m)
        rounds = m.precopy.end_rounds()
        self._record(m.vm.id).rounds += len(rounds)
        if self.round_events and self.listeners:
            for live_round in rounds:
                self.emit(
                    "round",
                    vm=m.vm.name,
                    index=live_round.index,
                    bytes=live_round.bytes,
                    duration_s=live_round.duration_s,
                    dirty_bytes=live_round.dirty_bytes,
                    pending_after_bytes=live_round.pending_after_bytes,
                    rate_bps=live_round.rate_bps,
                )
        self._decide(m)

    # --- switch-over, brownout, cleanup --------------------------------------------------------

    def _switchover(self, m: Migration, stop) -> None:
        rec = self._record(m.vm.id)
        outcome = m.precopy.outcome(stop)
        rec.precopy_s += outcome.time_s
        self._sent(m, outcome.live_wire_bytes)
        rec.converged = stop.converged
        rec.stop_reason = stop.reason
        if stop.action == "abort":
            self.emit("aborted", vm=m.vm.name, reason=stop.reason, detail=stop.message)
            self._release_flow(m)
            self._failed(m, cut_short=False)  # what it sent is counted above, from the outcome
            self._back_out(m, stop.reason, aborted=True)
            return
        spec = m.precopy.spec
        m.phase = "blackout"
        _, wire = m.precopy.send_all()
        self._sent(m, wire + spec.device_state_bytes)
        if stop.action == "post_copy":
            # the guest resumes at once; the rest is pushed uncapped for seconds: re-share links
            self._rates_changed(self.network.set_demand(m.flow, math.inf), m)
            link_bps = max(m.flow.rate_bps, 1.0)
            blackout_s = device_and_resume_s(spec, link_bps)
            push_s = wire / link_bps
            self.at(self.now + blackout_s + push_s, self._release_flow, m)
        else:
            # the final copy runs uncapped (QEMU lifts its limit) for tens of milliseconds
            link_bps = max(self.network.burst_rate_bps(m.flow), 1.0)
            blackout_s = wire / link_bps + device_and_resume_s(spec, link_bps)
            push_s = 0.0
            self._release_flow(m)
        rec.blackout_s = blackout_s
        self.emit(
            "blackout_start",
            vm=m.vm.name,
            final_bytes=wire,
            blackout_s=blackout_s,
            stop_reason=stop.reason,
            switch_bps=link_bps,  # the final copy's (or post-copy push's) rate, uncapped
        )
        self.at(self.now + blackout_s, self._blackout_end, m, push_s)

    def _sent(self, m: Migration, wire_bytes: float) -> None:
        m.sent_bytes += wire_bytes
        self._record(m.vm.id).bytes_sent += wire_bytes

    def _failed(self, m: Migration, cut_short: bool = True) -> None:
        """A migration that ends without the VM running on its target (aborted, backed out, its
        source failed, or it crashed on a target that failed after the switch): the time it ran
        and what it sent are counted, never dropped. One cut short in pre-copy counts the rounds
        it finished and the part of the one under way (``_release_flow`` brought it to now)."""
        rec = self._record(m.vm.id)
        if cut_short and m.phase == "precopy" and m.precopy is not None:
            _, wire = m.precopy.sent_so_far()
            # whole bytes: the part of a round is summed from the pieces of time it was sent
            # in, and those depend on how often the run woke it (rounds told or not), which
            # must not move a figure by an ulp
            self._sent(m, float(round(wire)))
        rec.failed_s += self.now - m.started_s
        rec.failed_bytes += m.sent_bytes

    def _release_flow(self, m: Migration) -> None:
        if m.flow is not None and m.flow in self._flows:
            self._advance(m)
            self._record(m.vm.id).rounds += m.precopy.rounds_passed()
            del self._flows[m.flow]
            self._rates_changed(self.network.remove(m.flow))
            m.flow = m.flow  # keep for reporting

    def _blackout_end(self, m: Migration, push_s: float) -> None:
        if m.phase != "blackout":  # a host failed under it (``_host_fails``)
            self.idle()
            return
        vm, source, target = m.vm, m.source, m.target
        source.remove_vm(vm.id)
        source.release(vm.vcpus, vm.memory_bytes)
        target.add_vm(vm.id)
        vm.host = target.id
        m.reserved = False  # the target VM's reservation is now the running VM's
        m.phase = "post"
        rec = self._record(vm.id)
        sigma = self.scenario.fabric_convergence_sigma
        convergence_s = min(  # at most the single-VM model's longest (the anatomy replays it)
            self.scenario.fabric_convergence_median_s * math.exp(sigma * self.rng.gauss(0.0, 1.0)),
            MAX_DURATION_S,
        )
        spec = m.precopy.spec
        rec.post_brownout_s = max(convergence_s, push_s)
        stale_packets = spec.packet_rate_pps * convergence_s
        if spec.forwarding:
            rec.forwarded_packets += stale_packets
            rec.forwarding_latency_s = spec.forwarding_latency_s
        else:
            rec.lost_packets += stale_packets
        self.emit("blackout_end", vm=vm.name, host=target.name, fabric_convergence_s=convergence_s)
        self.at(self.now + rec.post_brownout_s, self._post_end, m)

    def _post_end(self, m: Migration) -> None:
        if m.phase != "post":  # its source failed during the post-copy push
            self.idle()
            return
        m.phase = "cleanup"
        rec = self._record(m.vm.id)
        self.emit(
            "post_brownout_end",
            vm=m.vm.name,
            forwarded_packets=rec.forwarded_packets,
            post_brownout_s=rec.post_brownout_s,
        )
        self.at(self.now + self.scenario.cleanup_s, self._cleanup_end, m)

    def _cleanup_end(self, m: Migration) -> None:
        if m.phase != "cleanup":  # its target failed under it (``_host_fails``)
            self.idle()
            return
        m.phase = "done"
        rec = self._record(m.vm.id)
        if m.vm.id not in m.target.vms:  # its new host failed under it: it crashed there
            self._failed(m)
            self._drop_target(m)
            self._end_migration(m, why.TARGET_FAILED)
            self._settle(m.source)
            return
        rec.migrations += 1
        rec.outcome = "migrated"
        rec.source, rec.target = m.source.name, m.target.name
        rec.done_at = self.now
        self.emit(
            "migrated",
            vm=m.vm.name,
            source=m.source.name,
            target=m.target.name,
            blackout_s=rec.blackout_s,
        )
        self.emit("notice", vm=m.vm.name, value=notices.NONE, lead_s=0.0)
        self._drop_target(m)  # the arrival slot; the reservation became the VM's at the switch
        self.leaving.discard(m.vm.id)
        self._end_migration(m, "migrated")
        ev = self.host_event.get(m.target.id)
        if m.target.state == SCHEDULED and ev is not None:
            # it landed on a host taken out of service while it was on its way: it leaves too
            self._evacuate(m.vm, ev)
        self._settle(m.source)
        self._settle(m.target)
        self._pump_placement()

    def _end_migration(self, m: Migration, result: str) -> None:
        """Every migration_start has one migration_end: its slot under the caps is free again."""
        self.emit(
            "migration_end", vm=m.vm.name, source=m.source.name, target=m.target.name, result=result
        )
        self.in_flight.pop(m.vm.id, None)
        source = m.source
        source.outgoing -= 1
        self.rack_out[source.rack] -= 1
        self.customer_out[m.vm.customer] -= 1
        self.global_out -= 1
        self._try_host(source)
        if self.scenario.caps.per_rack is not None:
            self._pump(("rack", source.rack))
        if self.scenario.caps.per_customer is not None:
            self._pump(("customer", m.vm.customer))
        if self.scenario.caps.global_ is not None:
            self._pump(("global",))

    def _back_out(self, m: Migration, reason: str, aborted: bool = False) -> None:
        """Any failure before the switch: the VM keeps running on its source."""
        self._drop_target(m)
        m.phase = "done"
        rec = self._record(m.vm.id)
        self._end_migration(m, "aborted" if aborted else reason)
        self._settle(m.target)  # a target scheduled meanwhile waited for this arrival
        if aborted:
            rec.outcome = "aborted"
            rec.reason = reason
            rec.done_at = self.now
            self.leaving.discard(m.vm.id)
            self._settle(m.source)
            return
        self.emit("backed_out", vm=m.vm.name, reason=reason)
        if rec.attempts >= MAX_ATTEMPTS:  # give up: the VM keeps running where it is
            rec.outcome, rec.reason, rec.done_at = "aborted", reason, self.now
            self.emit(
                "aborted",
                vm=m.vm.name,
                reason=reason,
                detail=f"gave up after {rec.attempts} attempts",
            )
            self.leaving.discard(m.vm.id)
            self._settle(m.source)
            return
        self._dequeue(m.vm, m.source)
        self.queues.setdefault(m.source.id, deque()).append(m.vm)
        self._try_host(m.source)

    def _target_fails(self, m: Migration, version: int) -> None:
        if m.phase not in ("setup", "precopy"):
            self.idle()  # the migration it would have hit is over
            return
        self.emit(
            "target_failed",
            vm=m.vm.name,
            target=m.target.name,
            detail=why.sentence(why.TARGET_FAILED),
        )
        self._release_flow(m)
        self._failed(m)
        self._back_out(m, why.TARGET_FAILED)

    # --- terminations, restarts, crashes -----------------------------------------------------

    def _terminate(self, vm: Vm, code: str, detail: str, crashed: bool = False) -> None:
        """Stop a VM on its host and restart it elsewhere if it restarts automatically."""
        host = self.fleet.hosts[vm.host]
        if vm.id not in host.vms:
            return
        self.leaving.discard(vm.id)
        self._dequeue(vm, host)
        host.remove_vm(vm.id)
        host.release(vm.vcpus, vm.memory_bytes)
        rec = self._record(vm.id)
        rec.reason, rec.done_at = detail, self.now
        self.emit(
            "crashed" if crashed else "terminated",
            vm=vm.name,
            host=host.name,
            reason=code,
            detail=detail,
        )
        outcome = "crashed" if crashed else "terminated"
        if vm.automatic_restart:
            target, _ = self.placement.choose(vm, host, restart=True)
            if target is not None:
                target.reserve(vm.vcpus, vm.memory_bytes)
                self.restarting.add(vm.id)
                self.at(
                    self.now + self.scenario.restart_s, self._restarted, vm, target, crashed, host
                )
                outcome = "crashed" if crashed else "restarted"
            else:
                rec.reason = detail + "; " + why.sentence(why.NO_RESTART_CAPACITY)
        rec.outcome = outcome
        self._settle(host)

    def _restarted(self, vm: Vm, target: Host, crashed: bool, stopped_on: Host) -> None:
        """The VM starts on the host reserved for it, or, if that host was taken out of service
        (or failed) meanwhile, on another one chosen now. Its record says so (its reason ends
        "restarted on another host"; ``source`` is where it stopped, ``target`` where it
        started again): a crash never reads as if the VM had simply vanished."""
        self.restarting.discard(vm.id)
        if target.state != UP:
            target.release(vm.vcpus, vm.memory_bytes)
            target, _ = self.placement.choose(vm, target, restart=True)
            if target is None:
                rec = self._record(vm.id)
                rec.outcome = "crashed" if crashed else "terminated"
                rec.reason += "; " + why.sentence(why.NO_RESTART_CAPACITY)
                return
            target.reserve(vm.vcpus, vm.memory_bytes)
        target.add_vm(vm.id)
        vm.host = target.id
        rec = self._record(vm.id)
        rec.restarts_after_crash += crashed
        restarted = why.sentence(why.RESTARTED_ELSEWHERE)
        rec.reason = f"{rec.reason}; {restarted}" if rec.reason else restarted
        rec.source, rec.target = stopped_on.name, target.name
        self.emit("restarted", vm=vm.name, host=target.name, host_error=crashed)
        self._pump_placement()

    def _hardware_fails(self, host: Host, c: Rollout) -> None:
        """The impending failure strikes, unless the host was repaired before (emptied, then
        back from this event's maintenance): the repair removed its cause."""
        if host.id in c.done:
            self.idle()
            return
        self._host_fails(host, "hardware failure")

    def _host_fails(self, host: Host, cause: str) -> None:
        if host.state in (FAILED, MAINTENANCE):
            if host.state == MAINTENANCE:
                self.emit("host_failed", host=host.name, cause=cause + " (already empty)")
            return
        self.emit("host_failed", host=host.name, cause=cause)
        host.state = FAILED
        self.placement.leave_pool(host)
        for vm in self.queues.pop(host.id, None) or ():
            self._waited(vm)  # its wait ended with its host
        # Where each migration's VM is decides what it lives through. Until the blackout ends
        # the source holds all of it (paused in the blackout): a failed target means it resumes
        # there, a failed source that it is lost with it (the loop over its VMs below).
        for m in list(self.in_flight.values()):
            if m.target is host and m.phase in BEFORE_SWITCH:
                self._release_flow(m)
                self._failed(m)
                self.emit(
                    "target_failed",
                    vm=m.vm.name,
                    target=host.name,
                    detail=why.sentence(why.TARGET_FAILED),
                )
                self._back_out(m, why.TARGET_FAILED)
            elif m.target is host and m.phase in ("post", "cleanup"):
                # after the switch the VM runs on its target and crashes with it (below): its
                # migration ends now, not at a cleanup that will never come (the slot held
                # until then let the host go into maintenance under an arrival)
                self._release_flow(m)  # a post-copy push into it
                self._failed(m)
                m.phase = "done"
                self._drop_target(m)
                self._end_migration(m, why.TARGET_FAILED)
                self._settle(m.source)
        for m in list(self.in_flight.values()):
            if m.source is host and m.phase in BEFORE_SWITCH:
                self._release_flow(m)
                self._failed(m)
                self._drop_target(m)
                m.phase = "done"
                self._end_migration(m, why.SOURCE_FAILED)
                self._settle(m.target)  # a scheduled target may have waited for this arrival
            elif m.source is host and m.phase == "post" and m.flow in self._flows:
                # post-copy: it runs on its target, but pages it has not pulled are on the
                # source (a pre-copy switch leaves nothing there: losing it loses nothing)
                self._release_flow(m)
                self._failed(m)
                m.phase = "done"
                self._drop_target(m)
                self._end_migration(m, why.SOURCE_FAILED)
                self._terminate(  # settles its target too
                    m.vm,
                    why.SOURCE_FAILED,
                    "its source failed during post-copy, before every page had reached the "
                    "target (hostError)",
                    crashed=True,
                )
        for vm_id in sorted(host.vms):
            self._terminate(
                self.fleet.vms[vm_id],
                why.SOURCE_FAILED,
                "its host failed before it could leave (hostError)",
                crashed=True,
            )
        ev = self.host_event.get(host.id)
        if ev is not None:  # repaired after the event's downtime
            self.emit("host_maintenance_start", host=host.name, event=ev.name)
            self.at(self.now + ev.host_downtime_s, self._host_back, host, ev)


def vm_nic_share(fleet: Fleet, host: Host) -> float:
    return host.nic_bps * fleet.migration_share


def run_scenario(scenario: Scenario, on_event: Callable[[dict], None] | None = None) -> FleetRun:
    return FleetRun(scenario, on_event).run()


__all__ = ["FleetRun", "VmRecord", "run_scenario"]
