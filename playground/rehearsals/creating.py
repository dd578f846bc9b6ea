"""Creating a rehearsal: the form (``/rehearsals/``) and ``POST /rehearsals/new.json``.

The views are ``async`` (the registry lives on daphne's event loop), but nothing costly runs
there: reading the body, parsing the JSON or YAML (size, nesting and aliases bounded:
``migrationsim.bounded``), validating the scenario and building the fleet all happen in a
worker thread (``sync_to_async``), so other requests (``/healthz``, hanging GETs) keep being
answered. Who counts a rehearsal (``PLAYGROUND_REHEARSALS_PER_VISITOR``) is the signed-in user,
else the client address; the room is checked before the costly part and again, atomically on
the loop, when the rehearsal is added. Refusals: JSON for ``new.json`` (``{"error", "field"}``),
the form with the reason next to the field for the page; 429 comes with ``Retry-After``.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from migrationsim import bounded
from playground.accounts import access, limits

from . import registry as service
from .registry import RehearsalError, Session, registry
from .views import _remember, compute_base_url, guest_base_url

PRESET_DEFAULT = "demo"
MAX_JSON_BYTES = 1024 * 1024  # a scenario text is at most 256 KiB; as data, some more
MAX_JSON_DEPTH = 20  # a scenario nests 6 levels; 20 leaves room and refuses a bomb
JSON_KEYS = {"preset", "scenario", "speed", "start_events"}


def creator(request: HttpRequest) -> str:
    visitor = access.for_request(request)
    if visitor.signed_in:
        return f"user:{visitor.user_id}"
    return f"addr:{limits.client_address(request)}"


def _in_thread(func):
    return sync_to_async(func, thread_sensitive=False)


# --- the JSON API --------------------------------------------------------------------------------


@csrf_exempt
async def create_json(request: HttpRequest) -> HttpResponse:
    """``POST /rehearsals/new.json`` with ``{"preset": "demo"}`` or ``{"scenario": {...} or
    "yaml text"}``, ``"speed"`` and ``"start_events"``: for test suites that start their own
    rehearsal. Exempt from CSRF: it acts on nothing the browser's cookies own."""
    if request.method != "POST":
        return JsonResponse({"error": "POST a JSON object", "field": ""}, status=405)
    who = creator(request)
    try:
        registry.check_room(who)  # before reading anything
        scenario, speed, start_events = await _in_thread(_read_json)(request)
        rehearsal = await _in_thread(registry.build)(
            scenario, speed=speed, start_events=start_events
        )
        session = registry.add(rehearsal, scenario, speed=speed, creator=who)
    except RehearsalError as error:
        return refused_json(error)
    return _created_json(request, session)


def _read_json(request: HttpRequest):
    """(scenario, speed, start_events) from the body, or ``RehearsalError``. In a thread."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise RehearsalError(
            "",
            f"the body is {bounded.size_in_words(int(declared))}; at most "
            f"{bounded.size_in_words(MAX_JSON_BYTES)}",
            413,
        )
    try:
        body = bounded.load_json(
            request.body or b"{}",
            max_bytes=MAX_JSON_BYTES,
            max_depth=MAX_JSON_DEPTH,
            unique_keys=True,
        )
    except bounded.DuplicateKey as error:  # a scenario's key twice is the scenario's mistake
        if error.path.startswith("scenario."):
            raise RehearsalError("scenario", error.message.removeprefix("scenario.")) from None
        raise RehearsalError("", error.message, error.status) from None
    except bounded.InputRefused as error:
        raise RehearsalError("", error.message, error.status) from None
    if not isinstance(body, dict):
        raise RehearsalError("", "the body must be a JSON object", 400)
    unknown = set(body) - JSON_KEYS
    if unknown:
        raise RehearsalError("", f"unknown keys: {', '.join(sorted(map(str, unknown)))}", 400)
    speed = service.parse_speed(body.get("speed", 1))
    start_events = body.get("start_events", True)
    if not isinstance(start_events, bool):
        raise RehearsalError("start_events", "must be true or false")
    preset, scenario = body.get("preset") or "", body.get("scenario")
    if not isinstance(preset, str):
        raise RehearsalError("preset", "must be the name of a preset")
    scenario = service.scenario_from(
        preset=preset,
        text=scenario if isinstance(scenario, str) else "",
        data=scenario if isinstance(scenario, dict) else None,
    )
    return scenario, speed, start_events


def refused_json(error: RehearsalError) -> JsonResponse:
    response = JsonResponse({"error": error.message, "field": error.field}, status=error.status)
    if error.retry_after_s is not None:
        response["Retry-After"] = str(error.retry_after_s)
    return response


def _created_json(request: HttpRequest, session: Session, status: int = 201) -> JsonResponse:
    page = request.build_absolute_uri(reverse("rehearsal-detail", args=[session.id]))
    events = reverse("rehearsal-events", args=[session.id, session.token])
    return _remember(
        JsonResponse(
            {
                "id": session.id,
                "token": session.token,
                "name": session.name,
                "speed": session.speed,
                "zone": session.zone,
                "project": session.project.project_id,
                "project_number": session.project.numeric_id,
                "page": page,
                "events": request.build_absolute_uri(events),
                "compute": compute_base_url(request, session),
                "vms": {name: guest_base_url(request, session, name) for name in session.guests},
            },
            status=status,
        ),
        session,
    )


# --- the form ------------------------------------------------------------------------------------


async def index(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return await _create_from_form(request)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse("GET or POST", status=405, content_type="text/plain")
    return _form_page(request, {"preset": PRESET_DEFAULT, "speed": "10", "start_events": True}, {})


def _mine(request: HttpRequest) -> list[Session]:
    return [s for s in registry.sessions.values() if service.owns(request, s)]


def _form_page(request: HttpRequest, values: dict, errors: dict, status: int = 200) -> HttpResponse:
    get_token(request)
    return render(
        request,
        "rehearsals/index.html",
        {
            "presets": service.small_presets(),
            "values": values,
            "errors": errors,
            "mine": _mine(request),
            "max_vms": service.MAX_VMS,
            "max_speed": service.MAX_SPEED,
            "min_speed": service.MIN_SPEED,
            "alive": len(registry.sessions),
            "max_alive": registry.max_alive,
        },
        status=status,
    )


def _read_form(request: HttpRequest, values: dict):
    """(scenario, speed) from the posted form, filling ``values`` (to show them again). In a
    thread: reading a multipart body and parsing a pasted scenario cost CPU."""
    try:
        post, files = request.POST, request.FILES
    except RequestDataTooBig:
        raise RehearsalError("scenario", _form_too_big(), 413) from None
    values.update(
        {
            "preset": post.get("preset", ""),
            "scenario": post.get("scenario", ""),
            "speed": post.get("speed", "1"),
            "start_events": post.get("start_events") == "on",
        }
    )
    upload = files.get("scenario_file")
    speed = service.parse_speed(values["speed"])
    text = values["scenario"].strip()
    if upload is not None:
        if upload.size > service.MAX_SCENARIO_BYTES:
            raise RehearsalError(
                "scenario", f"the file is over {bounded.size_in_words(service.MAX_SCENARIO_BYTES)}"
            )
        try:
            text = upload.read().decode()
        except UnicodeDecodeError:
            raise RehearsalError("scenario", "the file is not UTF-8 text") from None
    preset = "" if text else values["preset"]
    return service.scenario_from(preset=preset, text=text), speed


def _form_too_big() -> str:
    from django.conf import settings

    return (
        f"the form is over {bounded.size_in_words(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}; "
        f"a scenario is at most {bounded.size_in_words(service.MAX_SCENARIO_BYTES)}"
    )


async def _create_from_form(request: HttpRequest) -> HttpResponse:
    values: dict = {"preset": "", "scenario": "", "speed": "1", "start_events": False}
    who = creator(request)
    try:
        registry.check_room(who)
        scenario, speed = await _in_thread(_read_form)(request, values)
        rehearsal = await _in_thread(registry.build)(
            scenario, speed=speed, start_events=values["start_events"]
        )
        session = registry.add(
            rehearsal,
            scenario,
            speed=speed,
            owner_id=access.for_request(request).user_id,
            creator=who,
        )
    except RehearsalError as error:
        response = _form_page(
            request, values, {error.field or "form": error.message}, status=error.status
        )
        if error.retry_after_s is not None:
            response["Retry-After"] = str(error.retry_after_s)
        return response
    response = HttpResponseRedirect(reverse("rehearsal-detail", args=[session.id]), status=303)
    if request.htmx:
        response = HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return _remember(response, session)
