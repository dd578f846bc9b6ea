"""The error answers (``handler400`` ... ``handler500`` in ``playground/urls.py``,
``CSRF_FAILURE_VIEW``): pages in the playground's style (templates ``400.html`` ... ``500.html``
extend ``base.html``), JSON (``{"error": ...}``) for JSON endpoints; never a stack trace, a
setting or an exception's text (the log has those). A form over Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (a pasted scenario of 3 MB) is 413 with the limit in words,
not a bare 400."""

from __future__ import annotations

import re

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.decorators import sync_and_async_middleware

from migrationsim.bounded import size_in_words

SENTENCES = {
    400: "The request could not be understood.",
    403: "You may not do that here.",
    404: "There is nothing here: no such page, or it is not yours.",
    413: "The request is too large.",
    429: "Too many requests: try again a little later.",
    500: "Something went wrong on our side. It has been logged.",
}
TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Not now",
    500: "Server error",
}


def wants_json(request: HttpRequest) -> bool:
    """A JSON endpoint (``.json``, the rehearsal compute API) or a client that asks for JSON
    and not HTML."""
    path = request.path
    if path.endswith(".json") or "/compute/v1/" in path:
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def answer(request: HttpRequest | None, status: int, message: str | None = None) -> HttpResponse:
    message = message or SENTENCES[status]
    if request is not None and wants_json(request):
        return JsonResponse({"error": message, "field": ""}, status=status)
    template = loader.get_template(
        f"{status}.html" if status in (400, 403, 404, 413, 429, 500) else "400.html"
    )
    context = {"message": message, "status": status, "title": TITLES.get(status, "Error")}
    try:
        body = template.render(context, request)
    except Exception:  # the page itself failed (a broken database behind the session)
        body = template.render(context)
    return HttpResponse(body, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        limit = size_in_words(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return answer(
            request,
            413,
            f"The form is too large: at most {limit} (a scenario file goes in the file field).",
        )
    return answer(request, 400)


def permission_denied(request, exception=None):
    return answer(request, 403)


def page_not_found(request, exception=None):
    return answer(request, 404)


def server_error(request=None):
    return answer(request, 500)


def csrf_failure(request, reason: str = ""):
    return answer(
        request,
        403,
        "This form has expired or came from another site: reload the page and send it again.",
    )


def method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    """A 405 in words: which methods this address answers (a link to a button's address, a
    script that GETs a form's)."""
    only = " or ".join(m.strip() for m in allowed.split(",") if m.strip()) or "another method"
    hint = " (a button sends it: open the page that has the button)" if only == "POST" else ""
    response = answer(request, 405, f"This address answers {only}, not {request.method}{hint}.")
    response["Allow"] = allowed
    return response


@sync_and_async_middleware
def method_not_allowed_in_words(get_response):
    """Django's ``require_POST`` and friends answer 405 with an empty body (a blank page):
    ours says which methods the address answers. A 405 that already says something (the
    metadata server's, the compute API's) is left as it is."""

    def words(request, response):
        streaming = getattr(response, "streaming", False)
        if response.status_code == 405 and not streaming and not response.content:
            return method_not_allowed(request, response.get("Allow", ""))
        return response

    if iscoroutinefunction(get_response):

        async def middleware(request):
            return words(request, await get_response(request))

    else:

        def middleware(request):
            return words(request, get_response(request))

    return middleware


ERROR_NUL = (
    "The request holds a NUL character (%00, or \\u0000 in JSON), which no name, value, "
    "address or body here may hold."
)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# JSON's escape of a NUL: a backslash that is not itself escaped (an odd number of them), u0000
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _holds_nul(request: HttpRequest) -> bool:
    """A NUL in the address, the query, a form's names and values (urlencoded or multipart:
    every field but a file's content; Django drops it from a file's name) or a body read
    otherwise, JSON (a NUL byte, or the escape ``\\u0000`` anywhere in it). A file's content is
    its reader's to refuse, next to its field: the scenario reader says where a NUL is, or that
    a UTF-16 file is not UTF-8 text."""
    if "\x00" in request.path_info or _in_query(request.GET):
        return True
    if not _has_body(request):
        return False
    if request.content_type not in FORM_TYPES:
        try:
            body = request.body
        except RequestDataTooBig:  # refused by whatever reads it (413 in words)
            return False
        return b"\x00" in body or _JSON_NUL.search(body) is not None
    # a form over the limits raises here, as it would in the view: 413 in words (``handler400``)
    if request.content_type == FORM_TYPES[0] and _JSON_NUL.search(request.body):
        return True  # (a JSON body sent as a form: its values hold no NUL, but a view may read it)
    return _in_query(request.POST) or any("\x00" in name for name in request.FILES)


def _in_query(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in query.getlist(key)) for key in query)


def _has_body(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or ""
    return (length.isdigit() and int(length) > 0) or "HTTP_TRANSFER_ENCODING" in request.META


@sync_and_async_middleware
def refuse_nul(get_response):
    """A NUL anywhere in the address, the query or a form sent reached the database in a
    lookup (a VM's, a host's, a sign-in's name): PostgreSQL's driver refuses text holding
    one (psycopg's DataError), a 500. A multipart form and a JSON body (``\\u0000``) are
    searched as well, so that no view has to (before, a multipart form's NUL met each form
    field's own check, a 422, or a view's own pattern for what it reads raw; a JSON body's,
    the one JSON endpoint's reader, which stores nothing). Refused at once: 400 in words."""

    if iscoroutinefunction(get_response):

        async def middleware(request):
            # a body (up to the request cap) is parsed and searched in a thread, not on the
            # event loop that relays every run's frames
            check = sync_to_async(_holds_nul, thread_sensitive=False)
            if await check(request) if _has_body(request) else _holds_nul(request):
                return answer(request, 400, ERROR_NUL)
            return await get_response(request)

    else:

        def middleware(request):
            if _holds_nul(request):
                return answer(request, 400, ERROR_NUL)
            return get_response(request)

    return middleware
