"""The rollout of a maintenance event: which hosts it names, in what order it takes them out of
service, how many at a time, and when its daily window lets migrations start.

A ``Rollout`` is an event's bookkeeping during a run (hosts pending, active, deferred to another
event, skipped); the engine drives it. ``planned_waves`` is the same order and grouping seen
from before the run, for the plan.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .model import Fleet, Host
from .scenario import MaintenanceEvent

DAY_S = 86400.0  # maintenance windows repeat daily


def hosts_in_scope(fleet: Fleet, ev: MaintenanceEvent) -> list[Host]:
    """The hosts a maintenance event names (the zone, zones, racks or hosts), in fleet order."""
    if ev.scope_zone:
        return list(fleet.hosts)
    named, zones = set(ev.scope_racks), set(ev.scope_zones)
    racks = {r.id for r in fleet.racks if r.name in named or r.zone in zones}
    names = set(ev.scope_hosts)
    return [h for h in fleet.hosts if h.rack in racks or h.name in names]


def next_window_open(ev: MaintenanceEvent, now_s: float) -> float:
    """``now_s`` if the event's daily window is open, else when it next opens."""
    start, end = ev.window
    if end - start >= DAY_S:
        return now_s
    into_day = (now_s - ev.start_s) % DAY_S
    if start <= into_day < end or start <= into_day + DAY_S < end:
        return now_s
    return now_s + (start - into_day) % DAY_S


@dataclass(eq=False)
class Rollout:
    """Takes an event's hosts out of service in order, at most ``max_active`` at a time."""

    event: MaintenanceEvent
    hosts: list

    def __post_init__(self):
        ev = self.event
        self.pending = deque(sorted(self.hosts, key=lambda h: (h.rack, h.id)))
        self.total = len(self.hosts)
        limit = ev.max_hosts_in_maintenance
        if isinstance(limit, str):  # a share of the event's hosts
            self.max_active = max(1, math.ceil(float(limit[:-1]) / 100 * self.total))
        else:
            self.max_active = limit
        self.by_rack = ev.kind == "bios_rollout"
        if self.by_rack:
            self.max_active = max(
                self.max_active,
                max(
                    (
                        sum(1 for h in self.hosts if h.rack == r)
                        for r in {h.rack for h in self.hosts}
                    ),
                    default=1,
                ),
            )
        self.active: set = set()
        self.deferred: set = set()  # hosts another event holds; taken when it lets go
        self.current_rack = -1
        self.finished = False
        self.skipped = 0
        self.done: set = set()  # hosts back from this event's maintenance
        self.forced = False  # past its deadline: every host it takes is rebooted with its VMs
        self.activating = False  # its hosts are being taken now (``FleetRun._activate``)


def planned_waves(ev: MaintenanceEvent, hosts: list[Host]) -> list[list[Host]]:
    """The order and grouping in which an event takes its hosts out of service, if each group
    finished before the next started: rack by rack for a BIOS rollout, else groups of
    ``max_hosts_in_maintenance`` (the engine actually rolls: a host comes back, the next goes)."""
    rollout = Rollout(ev, hosts)
    ordered = list(rollout.pending)
    if rollout.by_rack:
        waves: list[list[Host]] = []
        for host in ordered:
            if not waves or waves[-1][0].rack != host.rack:
                waves.append([])
            waves[-1].append(host)
        return waves
    size = max(1, int(min(rollout.max_active, len(ordered) or 1)))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
