"""What a guest and its scripts see of a rehearsal: the GCE-like metadata server (with hanging
GETs on ``maintenance-event``) and the compute API's ``simulateMaintenanceEvent`` and operations.
The rehearsal's own pages are ``views``."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from playground.ops.ids import whole_number

from . import registry as service
from .registry import RehearsalError, Session, registry
from .views import FLAVOR, compute_base_url, operation_json

# --- the metadata server --------------------------------------------------------------------------


def _metadata(
    body: str,
    status: int = 200,
    etag: str | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> HttpResponse:
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
        return None, _metadata(
            "Request rejected: it carries X-Forwarded-For, as a proxied request "
            "would (GCE's metadata server refuses those too)\n",
            403,
        )
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
            seconds = whole_number(timeout_raw.strip())
            if seconds is None or seconds < 1:
                raise RehearsalError(
                    "timeout_sec", "timeout_sec must be a whole number of seconds >= 1", 400
                )
            timeout_s = min(seconds, service.HANGING_GET_MAX_S)
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


def _scheduling(session: Session, vm_name: str) -> dict:
    vm = session.rehearsal.vms[vm_name]
    return {
        "automaticRestart": "TRUE" if vm.automatic_restart and not vm.spot else "FALSE",
        "onHostMaintenance": "TERMINATE" if not vm.live_migratable else "MIGRATE",
        "preemptible": "TRUE" if vm.spot else "FALSE",
    }


def _tree(session: Session, vm: str) -> dict:
    """What the metadata server holds for ``vm`` under ``computeMetadata/v1/``: directories are
    dicts (keys as in GCE's paths, sorted as GCE lists them), leaves are values; a callable leaf
    is read only when answered (``maintenance-event``: reading it counts as the guest watching)."""
    project = session.project
    return {
        "instance": {
            "id": session.guests[vm].instance_id,
            "maintenance-event": lambda: session.read(vm)[0],
            "name": vm,
            "scheduling": _scheduling(session, vm),
            "zone": project.zone_path(session.zone),
        },
        "project": {
            "numeric-project-id": project.numeric_id,
            "project-id": project.project_id,
        },
    }


def _camel(key: str) -> str:
    """A path's key as GCE names it in a recursive JSON answer (``numeric-project-id`` ->
    ``numericProjectId``)."""
    first, *rest = key.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _value(leaf):
    return leaf() if callable(leaf) else leaf


def _as_json(node):
    if isinstance(node, dict):
        return {_camel(key): _as_json(child) for key, child in node.items()}
    return _value(node)


def _etag(body: str) -> str:
    return hashlib.sha1(body.encode()).hexdigest()[:16]


@csrf_exempt  # token in the URL, GET only: 405 for other methods, not a CSRF 403
async def metadata(
    request: HttpRequest, rid: str, token: str, vm: str, key: str = ""
) -> HttpResponse:
    """``computeMetadata/v1/<key>`` other than ``maintenance-event`` (its own view, with
    hanging GETs): a leaf as text (``?alt=json``: as JSON, numbers as numbers); a directory
    (``key`` ending in ``/``) as its entries one a line, subdirectories with a ``/``
    (``?recursive=true``: the whole subtree as JSON, keys in camelCase). As GCE: a directory
    asked for without its ``/`` is a 301 to it; anything else unknown is 404."""
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    params = request.GET
    try:
        recursive = _truthy(params.get("recursive", "false"), "recursive")
        if _truthy(params.get("wait_for_change", "false"), "wait_for_change"):
            raise RehearsalError(
                "wait_for_change",
                "wait_for_change is served on instance/maintenance-event; "
                f"{key or 'this'} does not change during a rehearsal",
                400,
            )
        alt = params.get("alt", "text")
        if alt not in ("text", "json"):
            raise RehearsalError("alt", "alt must be text or json", 400)
    except RehearsalError as error:
        return _metadata(error.message + "\n", 400)
    node = _tree(session, vm)
    parts = key.removesuffix("/").split("/") if key else []
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _metadata(f"Not found: {key}\n", 404)
        node = node[part]
    is_directory = isinstance(node, dict)
    if is_directory and key and not key.endswith("/"):
        query = "?" + request.META["QUERY_STRING"] if request.META.get("QUERY_STRING") else ""
        moved = _metadata(f"Moved: {key}/\n", 301)
        moved["Location"] = parts[-1] + "/" + query
        return moved
    if not is_directory and key.endswith("/"):
        return _metadata(f"Not found: {key}\n", 404)
    if is_directory and recursive or not is_directory and alt == "json":
        body = json.dumps(_as_json(node))
        return _metadata(body, etag=_etag(body), content_type="application/json")
    if is_directory:
        body = "".join(
            f"{name}/\n" if isinstance(child, dict) else f"{name}\n" for name, child in node.items()
        )
    else:
        body = str(_value(node))
    return _metadata(body, etag=_etag(body))


@csrf_exempt
async def guest_base(request: HttpRequest, rid: str, token: str, vm: str) -> HttpResponse:
    """The VM's base URL itself: like the metadata server's root, lists what is under it."""
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    return _metadata("computeMetadata/\n")


@csrf_exempt
async def metadata_versions(request: HttpRequest, rid: str, token: str, vm: str) -> HttpResponse:
    """``computeMetadata/``: the versions served."""
    session, refused = _metadata_guard(request, rid, token, vm)
    if refused:
        return refused
    return _metadata("v1/\n")


# --- the compute API ------------------------------------------------------------------------------


def _api_error(code: int, message: str, reason: str) -> JsonResponse:
    return JsonResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        },
        status=code,
    )


def _api_session_or_404(request: HttpRequest, rid: str, token: str, zone: str) -> Session | None:
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token) or zone != session.zone:
        return None
    return session


@csrf_exempt
async def simulate_maintenance_event(
    request: HttpRequest, rid: str, token: str, project: str, zone: str, vm: str
) -> JsonResponse:
    """``POST .../compute/v1/projects/{project}/zones/{zone}/instances/{vm}/simulateMaintenanceEvent``
    (``?requestId=<uuid>`` makes a retry return the same operation). Token in the URL, so no
    CSRF: a browser's cookies give no power here."""
    if request.method != "POST":
        return _api_error(405, "simulateMaintenanceEvent is a POST", "httpMethodNotAllowed")
    session = _api_session_or_404(request, rid, token, zone)
    if session is None or vm not in session.guests:
        return _api_error(
            404,
            f"The resource 'projects/{project}/zones/{zone}/instances/{vm}' was not found",
            "notFound",
        )
    try:
        operation = session.simulate(vm, request.GET.get("requestId"))
    except RehearsalError as error:
        response = _api_error(
            error.status, error.message, error.reason if error.status == 429 else "invalid"
        )
        if error.status == 429:
            response["Retry-After"] = str(int(service.SIMULATE_VM_INTERVAL_S))
        return response
    operation.setdefault("project", project)
    return JsonResponse(operation_json(request, session, operation))


async def operation(
    request: HttpRequest, rid: str, token: str, project: str, zone: str, name: str
) -> JsonResponse:
    if request.method != "GET":
        return _api_error(405, "operations.get is a GET", "httpMethodNotAllowed")
    session = _api_session_or_404(request, rid, token, zone)
    op = session.operation(name) if session is not None else None
    if op is None:
        return _api_error(
            404,
            f"The resource 'projects/{project}/zones/{zone}/operations/{name}' was not found",
            "notFound",
        )
    return JsonResponse(operation_json(request, session, op))


async def compute_base(request: HttpRequest, rid: str, token: str) -> JsonResponse:
    """The compute API root of a rehearsal: says where the instances are."""
    session = registry.get(rid)
    if session is None or not service.owns(request, session, token):
        return _api_error(404, "no such rehearsal", "notFound")
    return JsonResponse(
        {
            "zone": session.zone,
            "instances": list(session.guests)[: service.MAX_VMS],
            "simulateMaintenanceEvent": f"POST {compute_base_url(request, session)}projects/<any>/zones/{session.zone}"
            "/instances/<vm>/simulateMaintenanceEvent",
        }
    )
