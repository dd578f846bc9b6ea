"""Rehearsals: fleet runs played in real time inside the web (ASGI) process, with a GCE-like
metadata endpoint per simulated VM and ``simulateMaintenanceEvent``.

Everything here lives in this process's memory: a module-level ``registry`` keyed by an
unguessable id. A rehearsal ends when the process restarts; with several daphne processes each
has its own registry (route a rehearsal's requests to the process that created it). A
background asyncio task on daphne's event loop plays each rehearsal; the views that touch a
rehearsal are ``async`` so that they run on that same loop (no locks: one thread touches it).

Limits (environment variables, read at import):

- ``PLAYGROUND_REHEARSALS_MAX`` (20): rehearsals alive at once in this process;
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
from migrationsim.fleet import PRESET_NAMES, ScenarioError, load_scenario, parse_scenario
from migrationsim.fleet.realtime import Rehearsal
from migrationsim.fleet.text import read_text

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


MAX_VMS = 2000
MIN_SPEED, MAX_SPEED = 0.1, 100.0
MAX_SCENARIO_BYTES = 256 * 1024
MAX_ALIVE = int(_env_float("PLAYGROUND_REHEARSALS_MAX", 20))
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


class RehearsalError(Exception):
    """Bad input or a refused request: ``field`` (or ""), a sentence, an HTTP status."""

    def __init__(self, field: str, message: str, status: int = 422, reason: str = "invalid"):
        super().__init__(message)
        self.field, self.message, self.status, self.reason = field, message, status, reason


# --- scenarios ------------------------------------------------------------------------------------

def vm_count(scenario) -> int:
    return len(scenario.vm_list) if scenario.vm_list else scenario.vm_count


def small_presets() -> list[tuple[str, str, int]]:
    """(name, description, VMs) of the presets small enough to rehearse."""
    out = []
    for name in PRESET_NAMES:
        scenario = load_scenario(name)
        count = vm_count(scenario)
        if count <= MAX_VMS:
            out.append((name, scenario.description, count))
    return out


def scenario_from(*, preset: str = "", text: str = "", data=None):
    """A validated scenario from a preset name, a YAML/JSON text or an already parsed dict."""
    given = [x for x in (preset, text, data) if x not in ("", None)]
    if len(given) != 1:
        raise RehearsalError("scenario", "give one of: a preset, a scenario text or a file")
    try:
        if preset:
            if preset not in PRESET_NAMES:
                raise RehearsalError("preset", f"no preset {preset!r}; one of {', '.join(PRESET_NAMES)}")
            scenario = load_scenario(preset)
        else:
            if text:
                if len(text.encode()) > MAX_SCENARIO_BYTES:
                    raise RehearsalError("scenario", f"at most {MAX_SCENARIO_BYTES // 1024} KiB")
                data = read_text(text)
            scenario = parse_scenario(data)
    except ScenarioError as error:
        raise RehearsalError("scenario", str(error)) from None
    if vm_count(scenario) > MAX_VMS:
        raise RehearsalError("scenario", f"{vm_count(scenario)} VMs: a rehearsal takes at most {MAX_VMS:,}")
    # names become URL path segments (.../vms/<vm>/, .../zones/<zone>/)
    for i, spec in enumerate(scenario.vm_list):
        if "/" in spec.name or not spec.name.strip():
            raise RehearsalError("scenario", f"fleet.vm_list[{i}].name: {spec.name!r}: a rehearsal needs "
                                             "VM names without '/' (they are part of URLs)")
    if "/" in scenario.zone or not scenario.zone.strip():
        raise RehearsalError("scenario", f"fleet.zone: {scenario.zone!r}: a rehearsal needs a zone "
                                         "name without '/' (it is part of URLs)")
    return scenario


def parse_speed(value) -> float:
    try:
        speed = float(str(value).strip().rstrip("xX") or 1)
    except ValueError:
        raise RehearsalError("speed", "must be a number, e.g. 1 or 10") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise RehearsalError("speed", f"must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return speed


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

    def __init__(self, max_alive: int = MAX_ALIVE):
        self.max_alive = max_alive
        self.sessions: dict[str, Session] = {}

    def create(self, scenario, *, speed: float = 1.0, start_events: bool = True,
               owner_id: int | None = None) -> Session:
        self.sweep()
        if len(self.sessions) >= self.max_alive:
            raise RehearsalError(
                "", f"{len(self.sessions)} rehearsals already run in this process (the limit); "
                    f"finished ones are dropped after {IDLE_S / 60:.0f} min without requests",
                503, "tooManyRehearsals")
        rehearsal = Rehearsal(scenario, speed=speed, start_events=start_events)
        session = Session(id=secrets.token_urlsafe(12), token=secrets.token_urlsafe(24),
                          name=scenario.name or "scenario", speed=speed, rehearsal=rehearsal,
                          zone=scenario.zone, owner_id=owner_id)
        self.sessions[session.id] = session
        session.task = asyncio.get_running_loop().create_task(session.play(self._drop))
        return session

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
