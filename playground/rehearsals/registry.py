"""Rehearsals: fleet runs played in real time inside the web (ASGI) process, with a GCE-like
metadata endpoint per simulated VM and ``simulateMaintenanceEvent``.

Everything here lives in this process's memory: a module-level ``registry`` keyed by an
unguessable id. A rehearsal ends when the process restarts; with several daphne processes each
has its own registry (route a rehearsal's requests to the process that created it). A
background asyncio task on daphne's event loop plays each rehearsal; the views that touch a
rehearsal are ``async`` so that they run on that same loop (no locks: one thread touches it).

Limits (environment variables, read at import):

- ``PLAYGROUND_REHEARSALS_MAX`` (20): rehearsals alive at once in this process;
- ``PLAYGROUND_REHEARSALS_PER_VISITOR`` (3): of those, started by one visitor (the signed-in
  user, else the client address); over either: 429 with ``Retry-After``;
- ``PLAYGROUND_REHEARSAL_IDLE_S`` (900): a rehearsal with nothing left to play and no request
  for this long is dropped;
- ``PLAYGROUND_REHEARSAL_MAX_AGE_S`` (14400): dropped after this long whatever it does.

Ownership: the creator gets the id and a secret token. The browser keeps the token in a cookie
scoped to the rehearsal's path; guests and scripts carry it in the URL (a capability URL, since
a guest script has no cookie jar and no login). ``owns`` is the one place that decides: the
token, or for the page the signed-in user who created it (``Session.owner_id``, through
``playground/access.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field

from migrationsim import notice as notices
from migrationsim.fleet.realtime import Rehearsal

from .scenarios import (  # noqa: F401  (re-exported: the views and tests read them here)
    MAX_SCENARIO_BYTES,
    MAX_SPEED,
    MAX_VMS,
    MIN_SPEED,
    RehearsalError,
    parse_speed,
    scenario_from,
    small_presets,
    vm_count,
)

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


_STATE_OF_KIND = {
    "notice": None, "queued": "queued", "migration_start": "target setup",
    "precopy_start": "pre-copy (brownout)", "blackout_start": "blackout",
    "blackout_end": "post-copy brownout", "post_brownout_end": "cleanup", "migrated": "migrated",
    "backed_out": "backed out, queued again", "aborted": "aborted: stays on its host",
    "terminated": "terminated", "crashed": "crashed", "restarted": "restarted",
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
        for vm in self.rehearsal.run.fleet.vms:
            self.guests[vm.name] = GuestView(host=hosts[vm.host].name)

    # the clock and the event log
    def sim_now(self) -> float:
        return self.rehearsal.playback.sim_now()

    def tick(self) -> None:
        self.rehearsal.tick()
        self._follow()

    def _follow(self) -> None:
        events = self.rehearsal.playback.events
        for event in events[self._cursor:]:
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
                guest.host = event["host"]
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
                "", f"at most {SIMULATE_PER_MINUTE} simulateMaintenanceEvent requests per minute "
                    "per rehearsal", 429, "rateLimitExceeded")
        last = self._simulated_at.get(vm)
        if last is not None and now - last < SIMULATE_VM_INTERVAL_S:
            wait = SIMULATE_VM_INTERVAL_S - (now - last)
            raise RehearsalError(
                "", f"{vm} had a simulated maintenance event {now - last:.0f} s ago; one per VM "
                    f"every {SIMULATE_VM_INTERVAL_S:.0f} s (retry in {wait:.0f} s)", 429,
                "rateLimitExceeded")
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
        self.tick()
        return next((op for op in self.rehearsal.operations if op["name"] == name), None)

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
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
                    except asyncio.TimeoutError:
                        pass
                else:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # keep the process alive; the page says what happened
            log.exception("rehearsal %s stopped", self.id)
            self.error = f"the player stopped: {error}"
        finally:
            on_expired(self)


# --- the registry ---------------------------------------------------------------------------------

class Registry:
    """Rehearsals alive in this process, by id. Must be used from the event loop's thread."""

    def __init__(self, max_alive: int = MAX_ALIVE, per_visitor: int = PER_VISITOR):
        self.max_alive = max_alive
        self.per_visitor = per_visitor
        self.sessions: dict[str, Session] = {}

    def check_room(self, creator: str = "") -> None:
        """Raise ``RehearsalError`` (429, with ``retry_after_s``) when this process runs its
        limit of rehearsals, or ``creator`` (a visitor) runs theirs. Ask before the costly
        ``build`` and again in ``add``: nothing awaits in between on the event loop."""
        self.sweep()
        now = time.monotonic()
        if len(self.sessions) >= self.max_alive:
            soonest = min((s.ends_within(now) for s in self.sessions.values()), default=IDLE_S)
            raise RehearsalError(
                "", f"{len(self.sessions)} rehearsals already run in this process (the limit); "
                    f"finished ones are dropped after {IDLE_S / 60:.0f} min without requests",
                429, "tooManyRehearsals", retry_after_s=int(soonest + 0.999))
        if not creator or self.per_visitor <= 0:
            return
        theirs = [s for s in self.sessions.values() if s.creator == creator]
        if len(theirs) >= self.per_visitor:
            soonest = min(s.ends_within(now) for s in theirs)
            who = "You have" if creator.startswith("user:") else "Your address has"
            raise RehearsalError(
                "", f"{who} {len(theirs)} rehearsals running (the limit per visitor); the "
                    f"soonest ends within {_minutes(soonest)} (a finished one "
                    f"{IDLE_S / 60:.0f} min after its last request)",
                429, "tooManyRehearsals", retry_after_s=int(soonest + 0.999))

    @staticmethod
    def build(scenario, *, speed: float = 1.0, start_events: bool = True) -> Rehearsal:
        """The rehearsal's engine (a fleet of up to MAX_VMS VMs): CPU work, any thread."""
        return Rehearsal(scenario, speed=speed, start_events=start_events)

    def add(self, rehearsal: Rehearsal, scenario, *, speed: float, owner_id: int | None = None,
            creator: str = "") -> Session:
        """Register a built rehearsal and start its player (on the event loop's thread)."""
        self.check_room(creator)
        session = Session(id=secrets.token_urlsafe(12), token=secrets.token_urlsafe(24),
                          name=scenario.name or "scenario", speed=speed, rehearsal=rehearsal,
                          zone=scenario.zone, owner_id=owner_id, creator=creator)
        self.sessions[session.id] = session
        session.task = asyncio.get_running_loop().create_task(session.play(self._drop))
        return session

    def create(self, scenario, *, speed: float = 1.0, start_events: bool = True,
               owner_id: int | None = None, creator: str = "") -> Session:
        """``check_room``, ``build`` and ``add`` in one go on the event loop (tests, small
        fleets)."""
        self.check_room(creator)
        rehearsal = self.build(scenario, speed=speed, start_events=start_events)
        return self.add(rehearsal, scenario, speed=speed, owner_id=owner_id, creator=creator)

    def _drop(self, session: Session) -> None:
        session.closed = True
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]

    def get(self, rehearsal_id: str) -> Session | None:
        return self.sessions.get(rehearsal_id)

    def sweep(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if session.expired(now):
                self.close(session)

    def close(self, session: Session) -> None:
        self._drop(session)
        if session.task is not None and not session.task.done():
            session.task.cancel()


registry = Registry()


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


# --- ownership ------------------------------------------------------------------------------------

def cookie_name(session: Session) -> str:
    return f"rehearsal-{session.id}"


def owns(request, session: Session, token: str | None = None) -> bool:
    """Whether this request may see ``session``: the token from the URL when given (guests,
    scripts: only the token counts), else the browser's cookie, or the signed-in user who
    created it from the page (``access.owns_rehearsal``)."""
    supplied = token if token is not None else request.COOKIES.get(cookie_name(session), "")
    if secrets.compare_digest(supplied.encode(), session.token.encode()):
        return True
    if token is not None:
        return False
    from playground.accounts.access import for_request, owns_rehearsal

    return owns_rehearsal(for_request(request), session)
