"""Rehearsal views: the form and page (browser, cookie), the GCE-like metadata endpoint per VM
and the compute API (guests and scripts, token in the URL).

Creating one: ``creating.py``. Every view that touches a rehearsal is ``async``: it runs on daphne's event loop, where the
rehearsal's player runs, so a hanging GET is a suspended coroutine, not a blocked worker.
Unknown ids, unknown tokens and rehearsals of someone else are all the same 404.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from migrationsim import notice as notices

from . import registry as service
from .registry import RehearsalError, Session, registry

BOARD_ROWS = 200
FLAVOR = "Google"


# --- helpers --------------------------------------------------------------------------------------

def _session(request: HttpRequest, rid: str, token: str | None = None) -> Session:
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token):
        raise Http404("no such rehearsal")
    return session


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


def _guest_base(request: HttpRequest, session: Session, vm: str) -> str:
    return request.build_absolute_uri(
        reverse("rehearsal-guest-base", args=[session.id, session.token, vm]))


def _compute_base(request: HttpRequest, session: Session) -> str:
    return request.build_absolute_uri(
        reverse("rehearsal-compute-base", args=[session.id, session.token]))


def _remember(response: HttpResponse, session: Session) -> HttpResponse:
    response.set_cookie(service.cookie_name(session), session.token, max_age=int(service.MAX_AGE_S),
                        path="/rehearsals/", httponly=True, samesite="Lax")
    return response


# --- the share link ------------------------------------------------------------------------------

async def adopt(request: HttpRequest, rid: str, token: str) -> HttpResponse:
    """``GET /rehearsals/<id>/<token>/``: the share link; keeps the token in this browser."""
    session = _session(request, rid, token)
    return _remember(HttpResponseRedirect(reverse("rehearsal-detail", args=[session.id])), session)


# --- the page -------------------------------------------------------------------------------------

async def detail(request: HttpRequest, rid: str) -> HttpResponse:
    session = _session(request, rid)
    session.tick()
    session.touch()
    get_token(request)
    return render(request, "rehearsals/detail.html", {
        "session": session, **_board_context(request, session),
        "guest_base": _guest_base(request, session, "VM").removesuffix("VM/") + "<vm>/",
        "example_vm": next(iter(session.guests), ""),
        "example_base": _guest_base(request, session, next(iter(session.guests), "vm")),
        "compute_base": _compute_base(request, session),
        "share": request.build_absolute_uri(reverse("rehearsal-adopt", args=[session.id, session.token])),
    })


async def board(request: HttpRequest, rid: str) -> HttpResponse:
    session = _session(request, rid)
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
        rows.append({
            "name": name, "host": guest.host, "value": value, "etag": etag, "polls": guest.polls,
            "waiting": guest.waiting, "state": guest.state,
            "polled_ago_s": None if guest.last_poll_wall is None else now_wall - guest.last_poll_wall,
            "polled_sim_s": guest.last_poll_sim,
            "notice_value": guest.notice_value, "notice_lead_s": guest.notice_lead_s,
            "notice_at_s": guest.notice_at_s,
            "interesting": guest.polls > 0 or guest.notice_value is not None or value != notices.NONE,
        })
    rows.sort(key=lambda r: not r["interesting"])  # stable: fleet order within each group
    operations = [_operation_json(request, session, op) for op in session.rehearsal.operations]
    return {"session": session, "rows": rows[:BOARD_ROWS], "hidden": max(0, len(rows) - BOARD_ROWS),
            "total": len(session.guests), "q": query, "sim_now": sim_now,
            "events": len(session.rehearsal.playback.events), "finished": session.finished,
            "operations": operations[-10:]}


async def simulate_from_page(request: HttpRequest, rid: str, vm: str) -> HttpResponse:
    """The page's button (cookie + CSRF). htmx gets a fragment; a plain form a redirect."""
    if request.method != "POST":
        return HttpResponse("POST", status=405, content_type="text/plain")
    session = _session(request, rid)
    if vm not in session.guests:
        raise Http404("no such VM")
    try:
        operation = session.simulate(vm)
        message, ok, status = (f"{operation['name']}: maintenance of {operation['host']} started "
                               f"(the host of {vm})"), True, 200
    except RehearsalError as error:
        message, ok, status = error.message, False, error.status
    if request.htmx:
        return render(request, "rehearsals/_message.html", {"message": message, "ok": ok})
    if ok:
        return HttpResponseRedirect(reverse("rehearsal-detail", args=[session.id]), status=303)
    return HttpResponse(message, status=status, content_type="text/plain")


async def events_json(request: HttpRequest, rid: str, token: str) -> JsonResponse:
    """The engine's events so far (``?after=<n>`` skips the first n), the simulated clock."""
    session = _session(request, rid, token)
    after = request.GET.get("after", "0")
    if not re.fullmatch(r"[0-9]{1,12}", after):
        return JsonResponse({"error": "after must be a whole number >= 0"}, status=400)
    session.tick()
    events = session.rehearsal.playback.events
    return JsonResponse({
        "id": session.id, "speed": session.speed, "sim_now_s": session.sim_now(),
        "finished": session.finished, "error": session.error, "events": events[int(after):],
        "count": len(events),
        "waiting": sum(g.waiting for g in session.guests.values()),
        "guests": {name: {"polls": g.polls, "last_poll_sim_s": g.last_poll_sim, "waiting": g.waiting,
                          "notice": g.notice_value, "notice_lead_s": g.notice_lead_s}
                   for name, g in session.guests.items()},
    })


# --- the metadata server --------------------------------------------------------------------------

def _metadata(body: str, status: int = 200, etag: str | None = None,
              content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=content_type)
    response["Metadata-Flavor"] = FLAVOR
    response["Cache-Control"] = "no-store"
    if etag is not None:
        response["ETag"] = etag
    return response


def _metadata_guard(request: HttpRequest, rid: str, token: str, vm: str):
    """The metadata server's rules, in its order: the method, the header, then the VM.
    Returns (session, None) or (None, an error response)."""
    if request.method not in ("GET", "HEAD"):
        return None, _metadata("Method not allowed: the metadata server answers GET\n", 405)
    if request.headers.get("Metadata-Flavor") != FLAVOR:
        return None, _metadata("Missing required header: Metadata-Flavor: Google\n", 403)
    if "X-Forwarded-For" in request.headers:
        return None, _metadata("Request rejected: it carries X-Forwarded-For, as a proxied request "
                               "would (GCE's metadata server refuses those too)\n", 403)
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token) or vm not in session.guests:
        return None, _metadata("Not found: no such rehearsal or VM\n", 404)
    return session, None


def _truthy(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise RehearsalError(name, f"{name} must be true or false, not {value!r}", 400)


@csrf_exempt  # token in the URL, GET only: 405 for other methods, not a CSRF 403
async def maintenance_event(request: HttpRequest, rid: str, token: str, vm: str) -> HttpResponse:
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    params = request.GET
    try:
        wait = _truthy(params.get("wait_for_change", "false"), "wait_for_change")
        timeout_raw = params.get("timeout_sec")
        timeout_s = service.HANGING_GET_DEFAULT_S
        if timeout_raw is not None:
            if not re.fullmatch(r"[0-9]{1,12}", timeout_raw.strip()) or int(timeout_raw) < 1:
                raise RehearsalError("timeout_sec", "timeout_sec must be a whole number of seconds >= 1", 400)
            timeout_s = min(int(timeout_raw), service.HANGING_GET_MAX_S)
        alt = params.get("alt", "text")
        if alt not in ("text", "json"):
            raise RehearsalError("alt", "alt must be text or json", 400)
    except RehearsalError as error:
        return _metadata(error.message + "\n", 400)
    if wait:
        value, etag = await session.wait(vm, params.get("last_etag") or None, timeout_s)
        if registry.get(rid) is not session:  # dropped while we waited
            return _metadata("Not found: the rehearsal has ended\n", 404)
    else:
        value, etag = session.read(vm)
    if alt == "json":
        return _metadata(json.dumps(value), etag=etag, content_type="application/json")
    return _metadata(value, etag=etag)


SCHEDULING_KEYS = ("automaticRestart", "onHostMaintenance", "preemptible")


def _scheduling(session: Session, vm_name: str) -> dict:
    vm = session.rehearsal.vms[vm_name]
    return {
        "automaticRestart": "TRUE" if vm.automatic_restart and not vm.spot else "FALSE",
        "onHostMaintenance": "TERMINATE" if not vm.live_migratable else "MIGRATE",
        "preemptible": "TRUE" if vm.spot else "FALSE",
    }


@csrf_exempt
async def scheduling(request: HttpRequest, rid: str, token: str, vm: str, key: str = "") -> HttpResponse:
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    values = _scheduling(session, vm)
    import hashlib

    if key:
        if key not in values:
            return _metadata(f"Not found: scheduling/{key}\n", 404)
        body = values[key]
        return _metadata(body, etag=hashlib.sha1(f"{vm}:{key}:{body}".encode()).hexdigest()[:16])
    if request.GET.get("recursive", "").lower() == "true":
        body = json.dumps(values)
        return _metadata(body, etag=hashlib.sha1(body.encode()).hexdigest()[:16],
                         content_type="application/json")
    body = "".join(f"{k}\n" for k in SCHEDULING_KEYS)
    return _metadata(body, etag=hashlib.sha1(body.encode()).hexdigest()[:16])


@csrf_exempt
async def guest_base(request: HttpRequest, rid: str, token: str, vm: str) -> HttpResponse:
    """The VM's base URL itself: like the metadata server's root, lists what is under it."""
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    return _metadata("computeMetadata/\n")


# --- the compute API ------------------------------------------------------------------------------

def _api_error(code: int, message: str, reason: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message,
                                   "errors": [{"message": message, "domain": "global", "reason": reason}]}},
                        status=code)


def _operation_json(request: HttpRequest, session: Session, op: dict) -> dict:
    base = _compute_base(request, session) + f"projects/{op.get('project', 'rehearsal')}/zones/{session.zone}"
    start_wall = op.get("insertTime_wall")
    end_wall = None
    if op.get("endTime_s") is not None:
        end_wall = session.created_wall + op["endTime_s"] / session.speed
    return {
        "kind": op["kind"], "id": op["id"], "name": op["name"], "zone": base,
        "operationType": op["operationType"], "targetLink": f"{base}/instances/{op['targetLink']}",
        "targetId": op["targetLink"], "status": op["status"], "progress": op["progress"],
        "insertTime": _iso(start_wall), "startTime": _iso(start_wall), "endTime": _iso(end_wall),
        "selfLink": f"{base}/operations/{op['name']}", "user": "rehearsal",
        # the playground's own: the simulated clock and the host taken out
        "host": op["host"], "simulatedInsertTime_s": op["insertTime_s"],
        "simulatedEndTime_s": op.get("endTime_s"),
    }


def _api_session(request: HttpRequest, rid: str, token: str, zone: str) -> Session | None:
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token) or zone != session.zone:
        return None
    return session


@csrf_exempt
async def simulate_maintenance_event(request: HttpRequest, rid: str, token: str, project: str,
                                     zone: str, vm: str) -> JsonResponse:
    """``POST .../compute/v1/projects/{project}/zones/{zone}/instances/{vm}/simulateMaintenanceEvent``
    (``?requestId=<uuid>`` makes a retry return the same operation). Token in the URL, so no
    CSRF: a browser's cookies give no power here."""
    if request.method != "POST":
        return _api_error(405, "simulateMaintenanceEvent is a POST", "httpMethodNotAllowed")
    session = _api_session(request, rid, token, zone)
    if session is None or vm not in session.guests:
        return _api_error(404, f"The resource 'projects/{project}/zones/{zone}/instances/{vm}' was not found",
                          "notFound")
    try:
        operation = session.simulate(vm, request.GET.get("requestId"))
    except RehearsalError as error:
        response = _api_error(error.status, error.message,
                              error.reason if error.status == 429 else "invalid")
        if error.status == 429:
            response["Retry-After"] = str(int(service.SIMULATE_VM_INTERVAL_S))
        return response
    operation.setdefault("project", project)
    return JsonResponse(_operation_json(request, session, operation))


async def operation(request: HttpRequest, rid: str, token: str, project: str, zone: str,
                    name: str) -> JsonResponse:
    if request.method != "GET":
        return _api_error(405, "operations.get is a GET", "httpMethodNotAllowed")
    session = _api_session(request, rid, token, zone)
    op = session.operation(name) if session is not None else None
    if op is None:
        return _api_error(404, f"The resource 'projects/{project}/zones/{zone}/operations/{name}' was not found",
                          "notFound")
    return JsonResponse(_operation_json(request, session, op))


async def compute_base(request: HttpRequest, rid: str, token: str) -> JsonResponse:
    """The compute API root of a rehearsal: says where the instances are."""
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token):
        return _api_error(404, "no such rehearsal", "notFound")
    return JsonResponse({"zone": session.zone, "instances": list(session.guests)[:service.MAX_VMS],
                         "simulateMaintenanceEvent":
                             f"POST {_compute_base(request, session)}projects/<any>/zones/{session.zone}"
                             "/instances/<vm>/simulateMaintenanceEvent"})
