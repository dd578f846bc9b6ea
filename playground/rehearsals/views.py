"""Rehearsal views: the form and page (browser, cookie), the GCE-like metadata endpoint per VM
and the compute API (guests and scripts, token in the URL).

Creating one: ``creating.py``. Every view that touches a rehearsal is ``async``: it runs on daphne's event loop, where the
rehearsal's player runs, so a hanging GET is a suspended coroutine, not a blocked worker.
Unknown ids, unknown tokens and rehearsals of someone else are all the same 404.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from migrationsim import notice as notices
from playground.runs.after import ERROR_BAD_AFTER, parse_after

from . import registry as service
from .registry import RehearsalError, Session, registry

BOARD_ROWS = 200
FLAVOR = "Google"


# --- helpers --------------------------------------------------------------------------------------


def session_or_404(request: HttpRequest, rid: str, token: str | None = None) -> Session:
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token):
        raise Http404("no such rehearsal")
    return session


def iso_time(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


def guest_base_url(request: HttpRequest, session: Session, vm: str) -> str:
    return request.build_absolute_uri(
        reverse("rehearsal-guest-base", args=[session.id, session.token, vm])
    )


def compute_base_url(request: HttpRequest, session: Session) -> str:
    return request.build_absolute_uri(
        reverse("rehearsal-compute-base", args=[session.id, session.token])
    )


def _remember(response: HttpResponse, session: Session) -> HttpResponse:
    response.set_cookie(
        service.cookie_name(session),
        session.token,
        max_age=int(service.MAX_AGE_S),
        path="/rehearsals/",
        httponly=True,
        samesite="Lax",
    )
    return response


# --- the share link ------------------------------------------------------------------------------


async def adopt(request: HttpRequest, rid: str, token: str) -> HttpResponse:
    """``GET /rehearsals/<id>/<token>/``: the share link; keeps the token in this browser."""
    session = session_or_404(request, rid, token)
    return _remember(HttpResponseRedirect(reverse("rehearsal-detail", args=[session.id])), session)


# --- the page -------------------------------------------------------------------------------------


async def detail(request: HttpRequest, rid: str) -> HttpResponse:
    session = session_or_404(request, rid)
    session.tick()
    session.touch()
    get_token(request)
    return render(
        request,
        "rehearsals/detail.html",
        {
            "session": session,
            **_board_context(request, session),
            "guest_base": guest_base_url(request, session, "VM").removesuffix("VM/") + "<vm>/",
            "example_vm": next(iter(session.guests), ""),
            "example_base": guest_base_url(request, session, next(iter(session.guests), "vm")),
            "compute_base": compute_base_url(request, session),
            "share": request.build_absolute_uri(
                reverse("rehearsal-adopt", args=[session.id, session.token])
            ),
        },
    )


async def board(request: HttpRequest, rid: str) -> HttpResponse:
    session = session_or_404(request, rid)
    session.tick()
    return render(request, "rehearsals/_board.html", _board_context(request, session))


def _board_context(request: HttpRequest, session: Session) -> dict:
    import time

    query = request.GET.get("q", "").strip()
    now_wall, sim_now = time.time(), session.sim_now()
    rows = []
    for name, guest in session.guests.items():
        if query and query not in name and query not in guest.host:
            continue
        value, etag = session.rehearsal.board.get(name)
        rows.append(
            {
                "name": name,
                "host": guest.host,
                "value": value,
                "etag": etag,
                "polls": guest.polls,
                "waiting": guest.waiting,
                "state": guest.state,
                "polled_ago_s": None
                if guest.last_poll_wall is None
                else now_wall - guest.last_poll_wall,
                "polled_sim_s": guest.last_poll_sim,
                "notice_value": guest.notice_value,
                "notice_lead_s": guest.notice_lead_s,
                "notice_at_s": guest.notice_at_s,
                "interesting": guest.polls > 0
                or guest.notice_value is not None
                or value != notices.NONE,
            }
        )
    rows.sort(key=lambda r: not r["interesting"])  # stable: fleet order within each group
    # the last ten (all of them were built on every refresh: one per VM every 30 s, 2,000 VMs,
    # for hours of a rehearsal)
    operations = [operation_json(request, session, op) for op in session.rehearsal.operations[-10:]]
    return {
        "session": session,
        "rows": rows[:BOARD_ROWS],
        "hidden": max(0, len(rows) - BOARD_ROWS),
        "total": len(session.guests),
        "q": query,
        "sim_now": sim_now,
        "events": len(session.rehearsal.playback.events),
        "finished": session.finished,
        "operations": operations,
    }


async def simulate_from_page(request: HttpRequest, rid: str, vm: str) -> HttpResponse:
    """The page's button (cookie + CSRF). htmx gets a fragment; a plain form a redirect."""
    if request.method != "POST":
        return HttpResponse("POST", status=405, content_type="text/plain")
    session = session_or_404(request, rid)
    if vm not in session.guests:
        raise Http404("no such VM")
    try:
        operation = session.simulate(vm)
        message, ok, status = (
            (f"{operation['name']}: maintenance of {operation['host']} started (the host of {vm})"),
            True,
            200,
        )
    except RehearsalError as error:
        message, ok, status = error.message, False, error.status
    if request.htmx:
        return render(request, "rehearsals/_message.html", {"message": message, "ok": ok})
    if ok:
        return HttpResponseRedirect(reverse("rehearsal-detail", args=[session.id]), status=303)
    return HttpResponse(message, status=status, content_type="text/plain")


async def events_json(request: HttpRequest, rid: str, token: str) -> JsonResponse:
    """The engine's events so far (``?after=<n>`` skips the first n), the simulated clock."""
    session = session_or_404(request, rid, token)
    after = parse_after(request.GET.get("after", "0"))
    if after is None:
        return JsonResponse({"error": ERROR_BAD_AFTER}, status=400)
    session.tick()
    events = session.rehearsal.playback.events
    return JsonResponse(
        {
            "id": session.id,
            "speed": session.speed,
            "sim_now_s": session.sim_now(),
            "finished": session.finished,
            "error": session.error,
            "events": events[after:],
            "count": len(events),
            "waiting": sum(g.waiting for g in session.guests.values()),
            "guests": {
                name: {
                    "polls": g.polls,
                    "last_poll_sim_s": g.last_poll_sim,
                    "waiting": g.waiting,
                    "notice": g.notice_value,
                    "notice_lead_s": g.notice_lead_s,
                }
                for name, g in session.guests.items()
            },
        }
    )


def operation_json(request: HttpRequest, session: Session, op: dict) -> dict:
    base = (
        compute_base_url(request, session)
        + f"projects/{op.get('project', session.project.project_id)}/zones/{session.zone}"
    )
    start_wall = op.get("insertTime_wall")
    end_wall = None
    if op.get("endTime_s") is not None:
        end_wall = session.created_wall + op["endTime_s"] / session.speed
    return {
        "kind": op["kind"],
        "id": op["id"],
        "name": op["name"],
        "zone": base,
        "operationType": op["operationType"],
        "targetLink": f"{base}/instances/{op['targetLink']}",
        "targetId": op["targetLink"],
        "status": op["status"],
        "progress": op["progress"],
        "insertTime": iso_time(start_wall),
        "startTime": iso_time(start_wall),
        "endTime": iso_time(end_wall),
        "selfLink": f"{base}/operations/{op['name']}",
        "user": "rehearsal",
        # the playground's own: the simulated clock and the host taken out
        "host": op["host"],
        "simulatedInsertTime_s": op["insertTime_s"],
        "simulatedEndTime_s": op.get("endTime_s"),
    }
