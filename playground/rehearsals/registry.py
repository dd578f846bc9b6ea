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
import secrets
import time

from migrationsim import humanize
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
from .session import (  # noqa: F401  (re-exported: the views and tests read them here)
    HANGING_GET_DEFAULT_S,
    HANGING_GET_MAX_S,
    IDLE_S,
    MAX_AGE_S,
    MAX_ALIVE,
    MAX_REQUEST_IDS,
    MAX_SLEEP_S,
    PER_VISITOR,
    SIMULATE_PER_MINUTE,
    SIMULATE_VM_INTERVAL_S,
    GuestView,
    Session,
)

log = logging.getLogger(__name__)


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
                "",
                f"{len(self.sessions)} rehearsals already run in this process (the limit); "
                f"finished ones are dropped after {humanize.duration(IDLE_S)} without requests",
                429,
                "tooManyRehearsals",
                retry_after_s=int(soonest + 0.999),
            )
        if not creator or self.per_visitor <= 0:
            return
        theirs = [s for s in self.sessions.values() if s.creator == creator]
        if len(theirs) >= self.per_visitor:
            soonest = min(s.ends_within(now) for s in theirs)
            who = "You have" if creator.startswith("user:") else "Your address has"
            raise RehearsalError(
                "",
                f"{who} {len(theirs)} rehearsals running (the limit per visitor); the "
                f"soonest ends within {_minutes(soonest)} (a finished one "
                f"{humanize.duration(IDLE_S)} after its last request)",
                429,
                "tooManyRehearsals",
                retry_after_s=int(soonest + 0.999),
            )

    @staticmethod
    def build(scenario, *, speed: float = 1.0, start_events: bool = True) -> Rehearsal:
        """The rehearsal's engine (a fleet of up to MAX_VMS VMs): CPU work, any thread."""
        return Rehearsal(scenario, speed=speed, start_events=start_events)

    def add(
        self,
        rehearsal: Rehearsal,
        scenario,
        *,
        speed: float,
        owner_id: int | None = None,
        creator: str = "",
    ) -> Session:
        """Register a built rehearsal and start its player (on the event loop's thread)."""
        self.check_room(creator)
        session = Session(
            id=secrets.token_urlsafe(12),
            token=secrets.token_urlsafe(24),
            name=scenario.name or "scenario",
            speed=speed,
            rehearsal=rehearsal,
            zone=scenario.zone,
            owner_id=owner_id,
            creator=creator,
        )
        self.sessions[session.id] = session
        session.task = asyncio.get_running_loop().create_task(session.play(self._drop))
        return session

    def create(
        self,
        scenario,
        *,
        speed: float = 1.0,
        start_events: bool = True,
        owner_id: int | None = None,
        creator: str = "",
    ) -> Session:
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
    return humanize.duration(seconds)


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
