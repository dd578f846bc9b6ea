"""Frames: a fleet run's raw events aggregated into what a browser can take.

One frame per ``bucket_s`` of simulated time (never one message per VM or per round): the
fleet's state at the frame's end (VMs by state, hosts, migrations in flight per rack, the
busiest links, why VMs wait) and what happened in it (closed timeline segments, blackouts,
queue waits, notable events). ``PHASES`` and ``HOST_PHASES`` are the timeline's legend: a
segment names its phase by its index in them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator

from migrationsim import notice as notices
from migrationsim.humanize import count

from .engine import FleetRun
from .export import vm_rows
from .frame_zones import ZoneTally
from .prediction import watch
from .scenario import EVENT_KIND_WORDS, parse_scenario
from .single_vm import LinkShares, vm_facts

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
    # appended, not inserted: a segment names its phase by index, in stored runs too
    {"name": "restarted", "label": "Restarted elsewhere", "color": "#7A5195"},
]
HOST_PHASES: list[dict[str, str]] = [
    {"name": "draining", "label": "Draining (VMs leaving)", "color": "#E69F00"},
    {"name": "maintenance", "label": "In maintenance", "color": "#56B4E9"},
    {"name": "skipped", "label": "Skipped", "color": "#A3001B"},
    {"name": "failed", "label": "Failed", "color": "#000000"},
]
_PHASE = {p["name"]: i for i, p in enumerate(PHASES)}
_HOST_PHASE = {p["name"]: i for i, p in enumerate(HOST_PHASES)}
_NEXT_PHASE = {
    "migration_start": "setup",
    "precopy_start": "precopy",  # engine event -> phase it opens
    "blackout_start": "blackout",
    "blackout_end": "post",
    "post_brownout_end": "cleanup",
}

# frames made after the run's last activity so far, held until something happens after them
# (a frame past the makespan is never sent): at most this many, the earliest carried into the
# next beyond it
MAX_HELD_FRAMES = 200
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

    def __init__(
        self,
        data: dict,
        *,
        bucket_s: float,
        vm_level: bool | None = None,
        on_event: Callable[[dict], None] | None = None,
    ):
        self.on_event = on_event  # sees every engine event as it is read (the stored event log)
        self.scenario = parse_scenario(data)
        self.bucket_s = float(bucket_s)
        self.run = FleetRun(self.scenario, sample_every_s=self.bucket_s)
        self._seen = watch(self.run)  # what the plan reads too: figures, what is not handled
        # each VM's bandwidth over time and its switch-over's rate, for its anatomy
        self.link_shares = LinkShares()
        self.run.listeners.append(self.link_shares)
        fleet = self.run.fleet
        self.vm_level = len(fleet.vms) <= VM_TIMELINE_MAX_VMS if vm_level is None else vm_level
        self._vm_by_name = {vm.name: vm for vm in fleet.vms}
        self._rack_of_host = {h.name: fleet.racks[h.rack].name for h in fleet.hosts}
        self._first_host = {vm.name: fleet.hosts[vm.host].name for vm in fleet.vms}
        self.zone_tally = ZoneTally(fleet)  # zones and racks, for a region's map
        self.many_zones = len(fleet.zones) > 1
        self.vm_segments: dict[str, list] = {}  # every VM's segments, for the stored rows
        self._open: dict[str, tuple] = {}  # vm -> (phase, start, host)
        self._host_open: dict[str, tuple] = {}
        self._notified: list = []  # heap of (notice ends, vm)
        self._done: set = set()
        self._terminated: set = set()
        self._failed: set = set()
        # hosts, not host-events: a host named by two events counts once, and is through its
        # maintenance when every event that named it is done with it
        self.hosts_scope = 0
        self.hosts_done = 0
        self._host_events_left: dict[str, int] = {}
        self._last_links: dict = {"links": [], "in_flight_by_rack": {}}
        # every host some event names is in scope from the first frame, as the plan counts them
        # (a region's later zones are "waiting their turn", not "0 / 0 hosts"), events to come too
        self._in_scope: set[str] = set()
        for ev in self.run.scenario.events:
            self._count_in_scope(self.run.scope(ev))
        self._reset()
        # for the comparison charts, kept for the whole run
        self.series: dict[str, list] = {
            "t_s": [],
            "done": [],  # VMs done now (one that must move again leaves it: it can drop)
            "completed": [],  # migrations completed so far (never drops)
            "migrating": [],
            "queued": [],
            "hosts_done": [],
        }
        self.blackouts: list[float] = []
        self.completed = 0

    def _count_in_scope(self, hosts) -> None:
        for host in hosts:
            if host.name not in self._in_scope:
                self._in_scope.add(host.name)
                self.zone_tally.scope[self._rack_of_host[host.name]] += 1
        self.hosts_scope = len(self._in_scope)

    def _reset(self) -> None:
        self._segments: list = []
        self._peak_in_flight = 0
        self._host_segments: list = []
        self._blackouts: list = []
        self._waits: list = []
        self._notes: list = []

    def frames(self) -> Iterator[dict]:
        """The frames, the last one (``final``) at the run's makespan, the time the results
        and the plan show: no frame is later. The engine goes on past its last activity (a
        deadline or a window opening that finds nothing left to do, and the link samples until
        then), so a frame is made at its time but held until something really happens after
        it; what the frames held at the end carried is sent in the final frame."""
        end = self.bucket_s
        run = self.run
        held: list[dict] = []  # made, not yet known to be before the makespan
        held_frames = 0  # how many frames ``held`` stands for
        for event in run.events():
            if self.on_event is not None:
                self.on_event(event)
            t = event["t_s"]
            # the engine samples the links at each frame's time: that frame shows that sample
            # (the busiest links then), not the one a bucket before
            sample_now = event["kind"] == "links" and t == end
            if sample_now:
                self._track(event)
            if t >= end:
                held.append(self._frame(end))
                held_frames += 1
                if len(held) > MAX_HELD_FRAMES:
                    # a long quiet stretch (the engine only samples, or wakes to find nothing
                    # to do): its earliest frame goes into the next, so what is held stays a
                    # few hundred frames however long the stretch (memory)
                    first = held.pop(0)
                    held[0] = self._carried(first, held[0])
                end = (math.floor(t / self.bucket_s) + 1) * self.bucket_s
            while held and held[0]["t_s"] < run.last_activity_s:
                yield held.pop(0)
                held_frames = len(held) if held else 0
            if not sample_now:
                self._track(event)
        makespan_s = run.makespan_s
        for vm in list(self._open):  # still open when the run ended (stuck in a queue)
            self._close(vm, makespan_s)
        self._forget(held_frames)
        final = self._frame(makespan_s, final=True)
        for frame in reversed(held):
            final = self._carried(frame, final)
        final["notes"] = [note for note in final["notes"] if note[0] <= makespan_s][:20]
        yield final

    # per event
    def _track(self, e: dict) -> None:
        kind, t = e["kind"], e["t_s"]
        if kind == "links":
            self._last_links = e
            return
        vm = e.get("vm")
        if kind == "notice":
            if e["value"] == notices.NONE:
                return
            self._close(vm, t)
            self._done.discard(vm)
            lead = float(e.get("lead_s") or 0.0)
            host = self.run.fleet.hosts[self._vm_by_name[vm].host].name
            if lead > 0:
                self._segment(vm, host, "notice", t, t + lead)
                heapq.heappush(self._notified, (t + lead, vm))
            if e["value"] != notices.TERMINATE:
                self._open[vm] = ("queued", t + lead, host)
        elif kind in _NEXT_PHASE:
            opened = self._open.get(vm)
            host = opened[2] if opened else e.get("source", "")
            self._close(vm, t)
            self._open[vm] = (_NEXT_PHASE[kind], t, host)
            if kind == "migration_start":
                self._waits.append(round(float(e.get("queue_wait_s") or 0.0), 3))
                # the most in flight during the frame: a migration that starts and ends
                # between two frames is counted (a count at the frame's end would miss it)
                self._peak_in_flight = max(self._peak_in_flight, len(self.run.in_flight))
        elif kind == "migrated":
            self._close(vm, t)
            self._done.add(vm)
            self.completed += 1
            self._blackouts.append(round(float(e["blackout_s"]), 6))
        elif kind == "backed_out":
            opened = self._open.get(vm)
            self._close(vm, t)
            if opened:
                self._open[vm] = ("queued", t, opened[2])
            self._notes.append([t, f"{vm}: backed out ({_reason_words(e.get('reason', ''))})"])
        elif kind in ("aborted", "crashed", "terminated"):
            opened = self._open.get(vm)
            host = opened[2] if opened else e.get("host", "")
            self._close(vm, t)
            marker = "terminated" if kind == "terminated" else "failed"
            self._segment(vm, host, marker, t, t)
            (self._terminated if kind == "terminated" else self._failed).add(vm)
            if kind == "aborted":
                self._notes.append(
                    [
                        t,
                        f"{vm}: aborted, keeps running on its source "
                        f"({_reason_words(e.get('reason', ''))})",
                    ]
                )
            elif kind == "crashed":
                self._notes.append(
                    [t, f"{vm}: crashed on {host} ({_reason_words(e.get('reason', ''))})"]
                )
        elif kind == "restarted":
            # a VM that crashed or was stopped is not gone: it starts again on another host
            # (automaticRestart), a marker on its timeline there; the notes tell a crash's
            # restart (a VM stopped because it cannot live-migrate is not narrated)
            self._segment(vm, e["host"], "restarted", t, t)
            if e.get("host_error"):
                self._notes.append(
                    [t, f"{vm}: crashed, then restarted on another host, {e['host']}"]
                )
        elif kind == "maintenance_start":
            controller = self.run.controllers.get(e["event"])
            for host in controller.hosts if controller is not None else ():
                left = self._host_events_left.get(host.name, 0)
                rack = self._rack_of_host[host.name]
                if left == 0 and host.name in self._host_events_left:
                    self.hosts_done -= 1  # through an earlier event, named again
                    self.zone_tally.done[rack] -= 1
                self._host_events_left[host.name] = left + 1
            self._count_in_scope(controller.hosts if controller is not None else ())
            self._notes.append(
                [
                    t,
                    f"maintenance {e['event']} "
                    f"({EVENT_KIND_WORDS.get(e['maintenance'], e['maintenance'])}) "
                    f"starts: {count(e['hosts'], 'host')}",
                ]
            )
        elif kind == "host_scheduled":
            self._host_open[e["host"]] = ("draining", t)
        elif kind == "host_maintenance_start":
            self._host_close(e["host"], t)
            self._host_open[e["host"]] = ("maintenance", t)
        elif kind == "host_back":
            self._host_close(e["host"], t)
            self._host_through(e["host"])
        elif kind in ("host_skipped", "host_failed"):
            self._host_close(e["host"], t)
            marker = "skipped" if kind == "host_skipped" else "failed"
            self._host_segments.append(
                [
                    e["host"],
                    self._rack_of_host.get(e["host"], ""),
                    _HOST_PHASE[marker],
                    round(t, 3),
                    round(t, 3),
                ]
            )
            if kind == "host_skipped":
                self._host_through(e["host"])
            self._notes.append(
                [
                    t,
                    f"{e['host']}: {kind.replace('_', ' ')} "
                    f"({e.get('reason') or e.get('cause') or ''})",
                ]
            )
        elif kind in ("deadline", "maintenance_done", "window_open"):
            self._notes.append([t, f"{kind.replace('_', ' ')}: {e.get('event', '')}"])

    def _host_through(self, host: str) -> None:
        """One event is done with the host; the host is through once every event is."""
        left = self._host_events_left.get(host, 0)
        if left > 0:
            self._host_events_left[host] = left - 1
            if left == 1:
                self.hosts_done += 1
                self.zone_tally.done[self._rack_of_host[host]] += 1

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
            self._host_segments.append(
                [
                    host,
                    self._rack_of_host.get(host, ""),
                    _HOST_PHASE[phase],
                    round(start, 3),
                    round(t, 3),
                ]
            )

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
        counts = {
            "notified": len(self._notified),
            "queued": queued,
            "migrating": len(run.in_flight),
            "done": len(self._done),
            "terminated": len(self._terminated),
            "failed": len(self._failed),
        }
        if final:
            counts.update(notified=0, migrating=0)
        links = self._last_links
        in_flight_by_rack = {} if final else links.get("in_flight_by_rack") or {}
        frame = {
            "kind": "frame",
            "t_s": round(t, 3),
            "final": final,
            "counts": counts,
            "hosts": {
                "scope": self.hosts_scope,
                "done": self.hosts_done,
                "draining": sum(1 for p, _ in self._host_open.values() if p == "draining"),
                "maintenance": sum(1 for p, _ in self._host_open.values() if p == "maintenance"),
            },
            # per rack for one zone; a region's racks are in ``racks``, its zones in ``zones``
            "in_flight": {} if final or self.many_zones else dict(in_flight_by_rack),
            # the busiest links at the frame's time, busiest first: [[link, utilisation], ...]
            "links": []
            if final
            else [
                [link["link"], round(link["utilisation"], 4)] for link in links.get("links") or []
            ],
            "waiting": waiting,
            "segments": self._segments,
            "host_segments": self._host_segments,
            "blackouts": self._blackouts,
            "waits": self._waits,
            "notes": self._notes[:20],
            **self.zone_tally.frame_part(self._host_open, self._rack_of_host, in_flight_by_rack),
        }
        s = self.series
        s["t_s"].append(frame["t_s"])
        s["done"].append(counts["done"])
        s["completed"].append(self.completed)
        s["migrating"].append(max(self._peak_in_flight, len(run.in_flight)))
        s["queued"].append(queued)
        s["hosts_done"].append(self.hosts_done)
        self.blackouts.extend(self._blackouts)
        self._reset()
        return frame

    def _forget(self, frames: int) -> None:
        """Take the last ``frames`` frames out of the comparison series (made, never sent)."""
        if frames:
            for values in self.series.values():
                del values[-frames:]

    @staticmethod
    def _carried(earlier: dict, later: dict) -> dict:
        """``later`` with what ``earlier`` (made, never sent) carried besides the state at its
        time: the segments, blackouts and waits closed before it, its notes, the racks that
        changed (each frame sends only those) and, were it the first, the layout. Notes after
        the makespan (a deadline with nothing left to do) are dropped from the final frame."""
        for key in ("segments", "host_segments", "blackouts", "waits", "notes"):
            later[key] = earlier[key] + later[key]
        racks = dict(earlier["racks"])
        racks.update(later["racks"])
        later["racks"] = racks
        if "layout" in earlier:
            later["layout"] = earlier["layout"]
        return later

    # after the run
    def summary(self) -> dict:
        """The plan's figures, by the plan's code, and every host or VM not handled."""
        return self._seen().summary()

    def compare_series(self, max_points: int = 400) -> dict:
        """What the compare page overlays: progress over time and the blackout distribution
        (every blackout, or evenly spaced quantiles of them for big fleets)."""
        step = max(1, math.ceil(len(self.series["t_s"]) / max_points))
        series = {k: v[::step] for k, v in self.series.items()}
        migrating = self.series["migrating"]  # peaks: the most in flight over each kept step
        series["migrating"] = [max(migrating[i : i + step]) for i in range(0, len(migrating), step)]
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
        host_named = {host.name: host for host in fleet.hosts}
        for vm, row in zip(fleet.vms, rows, strict=False):
            row["host"] = self._first_host[vm.name]  # where it was when the run began
            row["rack"] = self._rack_of_host[row["host"]]
            row["segments"] = self.vm_segments.get(vm.name, [])
            row["link_rates"] = self.link_shares.rates.get(vm.name, [])
            if vm.name in self.link_shares.switch_bps:
                row["switch_bps"] = self.link_shares.switch_bps[vm.name]
            if vm.name in self.link_shares.convergence_s:
                row["convergence_s"] = self.link_shares.convergence_s[vm.name]
            if vm.name in self.link_shares.ended:
                row["first_precopy_end"] = self.link_shares.ended[vm.name]
            facts = vm_facts(fleet, vm, host_named[row["host"]])  # its anatomy, no rebuild
            row.update(vcpus=facts["vcpus"], watches=facts["watches"], link_bps=facts["link_bps"])
        return rows


def _reason_words(code: str) -> str:
    """A reason code in the outcome table's words, the code beside them ("completion timeout:
    abort [timeout_abort]"); a reason that is a sentence already stays as it is."""
    from migrationsim import outcomes  # the table reads this package's reasons

    return f"{outcomes.label(code)} [{code}]" if outcomes.words(code) else code
