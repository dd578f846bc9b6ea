"""Rehearse maintenance against the clock: a fleet run played in wall-clock time, and the
metadata a guest would read from GCE's metadata server while it plays.

``Playback`` steps a ``FleetRun`` so that its events happen at wall-clock moments (``speed`` x
real time). ``GuestPolls`` records when each guest read its ``maintenance-event`` key, and is
the engine's live notice rule: a guest that polled since the last event gets its 60 s warning,
one that never polled gets none. ``MetadataBoard`` keeps each VM's current value and ETag, and
lets a hanging GET (``wait_for_change``) wait for the next change or a timeout. Pure Python and
asyncio: the web layer serves it, nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from migrationsim import notice as notices

from .engine import FleetRun
from .model import Vm


class GuestPolls:
    """When each guest last read its maintenance-event key (simulated seconds)."""

    def __init__(self):
        self.last_poll_s: dict[str, float] = {}
        self.last_event_s: dict[str, float] = {}

    def polled(self, vm_name: str, now_s: float) -> None:
        self.last_poll_s[vm_name] = now_s

    def event_seen(self, vm_name: str, now_s: float) -> None:
        self.last_event_s[vm_name] = now_s

    def watches(self, vm: Vm, now_s: float) -> bool:
        """The notice rule: has it read the key since the last maintenance event ended?"""
        polled = self.last_poll_s.get(vm.name)
        return polled is not None and polled >= self.last_event_s.get(vm.name, float("-inf"))


@dataclass
class _Entry:
    value: str = notices.NONE
    etag: str = ""
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class MetadataBoard:
    """Each VM's ``maintenance-event`` value, its ETag (which changes exactly when the value
    does) and a way to wait for the next change."""

    def __init__(self, vm_names):
        self.entries = {name: _Entry() for name in vm_names}
        for name, entry in self.entries.items():
            entry.etag = self._etag(name, entry)

    @staticmethod
    def _etag(name: str, entry: _Entry) -> str:
        return hashlib.sha1(f"{name}:{entry.version}:{entry.value}".encode()).hexdigest()[:16]

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def get(self, name: str) -> tuple[str, str]:
        entry = self.entries[name]
        return entry.value, entry.etag

    def set(self, name: str, value: str) -> bool:
        entry = self.entries.get(name)
        if entry is None or entry.value == value:
            return False
        entry.value = value
        entry.version += 1
        entry.etag = self._etag(name, entry)
        entry.changed.set()
        entry.changed = asyncio.Event()
        return True

    async def wait_for_change(
        self, name: str, last_etag: str | None, timeout_s: float
    ) -> tuple[str, str]:
        """Like GCE's hanging GET: return at once if the ETag differs from ``last_etag``, else
        when the value changes or ``timeout_s`` passes (then the unchanged value)."""
        entry = self.entries[name]
        if last_etag is not None and last_etag != entry.etag:
            return entry.value, entry.etag
        waiter = entry.changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout=max(0.0, timeout_s))
        return self.get(name)

    def apply(self, event: dict) -> None:
        """Follow the engine's events: notices set the key, the end of a VM's trip clears it."""
        kind = event["kind"]
        if kind == "notice":
            self.set(event["vm"], event["value"])
        elif kind in ("terminated", "crashed", "aborted"):
            self.set(event["vm"], notices.NONE)


class Playback:
    """Plays a fleet run in wall-clock time: simulated time = ``speed`` x elapsed wall time."""

    def __init__(
        self, run: FleetRun, *, speed: float = 1.0, clock: Callable[[], float] = time.monotonic
    ):
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.run = run
        self.speed = speed
        self.clock = clock
        self.started = clock()
        self.events: list[dict] = []
        run.listeners.append(self.events.append)

    def sim_now(self) -> float:
        return (self.clock() - self.started) * self.speed

    def advance(self) -> list[dict]:
        """Run everything due by now; returns the events it produced."""
        first = len(self.events)
        due = self.sim_now()
        while self.run.next_s is not None and self.run.next_s <= due:
            self.run.step()
        if self.run.now < due:
            self.run.now = due  # the engine's clock follows the wall clock between events
        return self.events[first:]

    def seconds_to_next(self) -> float | None:
        """Wall seconds until the next event is due, or None when nothing is left."""
        next_s = self.run.next_s
        if next_s is None:
            return None
        return max(0.0, (next_s - self.sim_now()) / self.speed)

    @property
    def finished(self) -> bool:
        return self.run.next_s is None

    async def play(
        self, on_events: Callable[[list[dict]], None] | None = None, max_sleep_s: float = 0.05
    ) -> None:
        """Advance as the clock goes until the run is over. (A rehearsal plays with
        ``Rehearsal.play``, which also keeps its metadata board up to date.)"""
        while True:
            produced = self.advance()
            if produced and on_events:
                on_events(produced)
            wait = self.seconds_to_next()
            if wait is None:
                return
            await asyncio.sleep(min(wait, max_sleep_s) if wait > 0 else 0)


class Rehearsal:
    """A fleet run played in real time with live guests: what a metadata endpoint serves.

    ``poll(vm)`` is a guest reading its key (it counts for the notice rule); ``wait(...)`` is
    the hanging GET; ``simulate_maintenance_event(vm)`` starts a maintenance of the VM's host
    now, like GCE's ``instances.simulateMaintenanceEvent``; its operation turns ``DONE`` when
    that event's hosts are back (``maintenance_done``).
    """

    def __init__(
        self,
        scenario,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        start_events: bool = True,
    ):
        from dataclasses import replace

        self.polls = GuestPolls()
        if not start_events:
            scenario = replace(scenario, events=())
        self.run = FleetRun(scenario, guest_watches=self.polls.watches)
        self.board = MetadataBoard(vm.name for vm in self.run.fleet.vms)
        self.playback = Playback(self.run, speed=speed, clock=clock)
        self.vms = {vm.name: vm for vm in self.run.fleet.vms}
        self.operations: list[dict] = []
        self._operation_of_event: dict[str, dict] = {}

    def tick(self) -> list[dict]:
        """Catch up with the clock; the board follows every event."""
        produced = self.playback.advance()
        for event in produced:
            self.board.apply(event)
            if event["kind"] == "notice" and event["value"] == notices.NONE:
                self.polls.event_seen(event["vm"], event["t_s"])
            elif event["kind"] == "maintenance_done" and event["event"] in self._operation_of_event:
                operation = self._operation_of_event.pop(event["event"])
                operation.update(status="DONE", progress=100, endTime_s=event["t_s"])
        return produced

    async def play(self, max_sleep_s: float = 0.05, keep_alive=lambda: False) -> None:
        """Follow the clock: ``tick`` until nothing is left to play (and ``keep_alive()`` is
        false), so metadata values change, and hanging GETs wake, at their wall-clock moment."""
        while True:
            self.tick()
            wait = self.playback.seconds_to_next()
            if wait is None:
                if not keep_alive():
                    return
                wait = max_sleep_s
            await asyncio.sleep(min(wait, max_sleep_s))

    def poll(self, vm_name: str) -> tuple[str, str]:
        self.tick()
        self.polls.polled(vm_name, self.playback.sim_now())
        return self.board.get(vm_name)

    async def wait(self, vm_name: str, last_etag: str | None, timeout_s: float) -> tuple[str, str]:
        self.tick()
        self.polls.polled(vm_name, self.playback.sim_now())
        return await self.board.wait_for_change(vm_name, last_etag, timeout_s)

    def simulate_maintenance_event(self, vm_name: str) -> dict:
        """Start a maintenance of the VM's host now; returns a GCE-shaped operation."""
        from .scenario import MaintenanceEvent

        self.tick()
        vm = self.vms[vm_name]
        host = self.run.fleet.hosts[vm.host]
        number = len(self.operations) + 1
        event = MaintenanceEvent(
            name=f"simulated-{number}",
            kind="kernel_upgrade",
            start_s=self.playback.sim_now(),
            scope_zone=False,
            scope_racks=(),
            scope_hosts=(host.name,),
            deadline_s=None,
            window=None,
            max_hosts_in_maintenance=1,
            host_downtime_s=60.0,
            failure_after_mean_s=None,
        )
        self.run.start_maintenance(event)
        operation = {
            "kind": "compute#operation",
            "id": str(number),
            "name": f"operation-simulate-{number}",
            "operationType": "simulateMaintenanceEvent",
            "targetLink": vm_name,
            "status": "RUNNING",
            "progress": 0,
            "insertTime_s": self.playback.sim_now(),
            "host": host.name,
        }
        self.operations.append(operation)
        self._operation_of_event[event.name] = operation
        return operation
