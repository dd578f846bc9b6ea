"""One rehearsal: a fleet run played in real time (``Session``), what each guest sees of it
(``GuestView``: its ``maintenance-event`` value and ETag, for hanging GETs), and the limits a
rehearsal keeps (read from the environment at import; ``registry`` holds them all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass, field

from migrationsim import humanize
from migrationsim import notice as notices
from migrationsim.fleet.realtime import Rehearsal
from playground.ops.ids import whole_number

from . import identity
from .scenarios import RehearsalError

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


MAX_ALIVE = int(_env_float("PLAYGROUND_REHEARSALS_MAX", 20))
PER_VISITOR = int(_env_float("PLAYGROUND_REHEARSALS_PER_VISITOR", 3))
IDLE_S = _env_float("PLAYGROUND_REHEARSAL_IDLE_S", 900)
MAX_AGE_S = _env_float("PLAYGROUND_REHEARSAL_MAX_AGE_S", 4 * 3600)
# simulateMaintenanceEvent: GCE limits requests per minute per project and region; here the
# "project" is the rehearsal, and one VM may be hit again only after a pause.
SIMULATE_PER_MINUTE = 20
SIMULATE_VM_INTERVAL_S = 30.0
HANGING_GET_DEFAULT_S = 300
HANGING_GET_MAX_S = 3600
MAX_SLEEP_S = 1.0  # the player re-checks expiry at least this often
MAX_REQUEST_IDS = 1000
OPERATION_PREFIX = "operation-simulate-"  # an operation's name (migrationsim.fleet.realtime)


# --- one rehearsal --------------------------------------------------------------------------------


@dataclass
class GuestView:
    """What the page shows per VM, kept up to date from the engine's events and the polls."""

    polls: int = 0
    last_poll_wall: float | None = None
    last_poll_sim: float | None = None
    waiting: int = 0  # hanging GETs held open right now
    notice_value: str | None = None  # the last non-NONE notice
    notice_lead_s: float | None = None
    notice_at_s: float | None = None
    state: str = "running"
    host: str = ""
    instance_id: int = 0  # ``instance/id``


_STATE_OF_KIND = {
    "notice": None,
    "queued": "queued",
    "migration_start": "target setup",
    "precopy_start": "pre-copy (brownout)",
    "blackout_start": "blackout",
    "blackout_end": "post-copy brownout",
    "post_brownout_end": "cleanup",
    "migrated": "migrated",
    "backed_out": "backed out, queued again",
    "aborted": "aborted: stays on its host",
    "terminated": "terminated",
    "crashed": "crashed",
    "restarted": "restarted",
}


@dataclass(eq=False)
class Session:
    id: str
    token: str
    name: str
    speed: float
    rehearsal: Rehearsal
    zone: str
    owner_id: int | None = None  # issue 6: the creating user
    creator: str = ""  # who counts it (``user:<id>`` or ``addr:<address>``): PER_VISITOR
    project: identity.Project | None = None  # the project its guests are in (made from the name)
    created: float = field(default_factory=time.monotonic)
    created_wall: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.monotonic)
    guests: dict[str, GuestView] = field(default_factory=dict)
    task: asyncio.Task | None = None
    error: str = ""
    closed: bool = False
    _cursor: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _simulated_at: dict[str, float] = field(default_factory=dict)
    _simulate_times: list[float] = field(default_factory=list)
    _request_ids: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        hosts = self.rehearsal.run.fleet.hosts
        vms = self.rehearsal.run.fleet.vms
        ids = identity.instance_ids(vm.name for vm in vms)
        for vm in vms:
            self.guests[vm.name] = GuestView(host=hosts[vm.host].name, instance_id=ids[vm.name])
        if self.project is None:
            self.project = identity.project_for(self.name)

    # the clock and the event log
    def sim_now(self) -> float:
        return self.rehearsal.playback.sim_now()

    def tick(self) -> None:
        self.rehearsal.tick()
        self._follow()

    def _follow(self) -> None:
        events = self.rehearsal.playback.events
        for event in events[self._cursor :]:
            vm = event.get("vm")
            guest = self.guests.get(vm) if vm else None
            if guest is None:
                continue
            kind = event["kind"]
            if kind == "notice":
                if event["value"] != notices.NONE:
                    guest.notice_value, guest.notice_lead_s = event["value"], event["lead_s"]
                    guest.notice_at_s = event["t_s"]
                    guest.state = "notice given"
            elif kind in _STATE_OF_KIND:
                guest.state = _STATE_OF_KIND[kind]
            if kind == "migrated":
                guest.host = event["target"]
            elif kind == "restarted":
                # what stopped it stays said: a crash (its host failed) or a termination
                guest.host = event["host"]
                guest.state = (
                    "crashed, then restarted on another host"
                    if event.get("host_error")
                    else "terminated, then restarted on another host"
                )
        self._cursor = len(events)

    @property
    def finished(self) -> bool:
        return self.rehearsal.playback.finished

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def expired(self, now: float) -> bool:
        if now - self.created > MAX_AGE_S:
            return True
        busy = any(g.waiting for g in self.guests.values())
        return self.finished and not busy and now - self.last_activity > IDLE_S

    def ends_within(self, now: float) -> float:
        """At most this many seconds until it is dropped (sooner if it finishes and idles)."""
        left = MAX_AGE_S - (now - self.created)
        if self.finished:
            left = min(left, IDLE_S - (now - self.last_activity))
        return max(1.0, left)

    # the guests
    def _polled(self, vm: str) -> GuestView:
        guest = self.guests[vm]
        guest.polls += 1
        guest.last_poll_wall = time.time()
        guest.last_poll_sim = self.sim_now()
        self.touch()
        return guest

    def read(self, vm: str) -> tuple[str, str]:
        value_etag = self.rehearsal.poll(vm)
        self._follow()
        self._polled(vm)
        return value_etag

    async def wait(self, vm: str, last_etag: str | None, timeout_s: float) -> tuple[str, str]:
        guest = self._polled(vm)
        guest.waiting += 1
        try:
            result = await self.rehearsal.wait(vm, last_etag, timeout_s)
        finally:
            guest.waiting -= 1
        self._follow()
        self.touch()
        return result

    # simulateMaintenanceEvent
    def simulate(self, vm: str, request_id: str | None = None) -> dict:
        """Start a maintenance of ``vm``'s host now; returns the operation. Raises
        ``RehearsalError`` (429) over the rate limits."""
        if request_id is not None:
            try:
                request_id = str(uuid.UUID(request_id))
            except ValueError:
                raise RehearsalError("requestId", "must be a UUID", 400) from None
            if request_id == str(uuid.UUID(int=0)):
                raise RehearsalError("requestId", "the zero UUID is not allowed", 400)
            if request_id in self._request_ids:  # a retry: the same operation
                return self._request_ids[request_id]
        now = time.monotonic()
        self._simulate_times = [t for t in self._simulate_times if now - t < 60]
        if len(self._simulate_times) >= SIMULATE_PER_MINUTE:
            raise RehearsalError(
                "",
                f"at most {SIMULATE_PER_MINUTE} simulateMaintenanceEvent requests per minute "
                "per rehearsal",
                429,
                "rateLimitExceeded",
            )
        last = self._simulated_at.get(vm)
        if last is not None and now - last < SIMULATE_VM_INTERVAL_S:
            wait = SIMULATE_VM_INTERVAL_S - (now - last)
            raise RehearsalError(
                "",
                f"{vm} had a simulated maintenance event {humanize.duration(now - last)} ago; "
                f"one per VM every {humanize.duration(SIMULATE_VM_INTERVAL_S)} (retry in "
                f"{humanize.duration(math.ceil(wait))})",
                429,
                "rateLimitExceeded",
            )
        self._simulate_times.append(now)
        self._simulated_at[vm] = now
        operation = self.rehearsal.simulate_maintenance_event(vm)
        operation["insertTime_wall"] = time.time()
        if request_id is not None:
            if len(self._request_ids) >= MAX_REQUEST_IDS:
                self._request_ids.pop(next(iter(self._request_ids)))
            self._request_ids[request_id] = operation
        self._follow()
        self.touch()
        self._wake.set()  # the player re-plans: the new event may be due before its next one
        return operation

    def operation(self, name: str) -> dict | None:
        """The operation named ``operation-simulate-<n>``: the n-th, found by its number (a
        search of the list, on the event loop, grew with every simulated maintenance)."""
        self.tick()
        number = whole_number(name.removeprefix(OPERATION_PREFIX))
        operations = self.rehearsal.operations
        if not name.startswith(OPERATION_PREFIX) or number is None:
            return None
        if 1 <= number <= len(operations) and operations[number - 1]["name"] == name:
            return operations[number - 1]
        return None

    # the player
    async def play(self, on_expired) -> None:
        """Keep up with the clock until expired: every event due is run at its wall moment,
        waking the hanging GETs whose value changed."""
        try:
            while not self.closed:
                self.tick()
                if self.expired(time.monotonic()):
                    break
                wait = self.rehearsal.playback.seconds_to_next()
                wait = MAX_SLEEP_S if wait is None else min(wait, MAX_SLEEP_S)
                self._wake.clear()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
                else:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # keep the process alive; the page says what happened
            log.exception("rehearsal %s stopped", self.id)
            self.error = f"the player stopped: {error}"
        finally:
            on_expired(self)
