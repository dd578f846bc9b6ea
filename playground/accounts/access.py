"""Who may see what: the one place that decides. Views, exports, JSON endpoints, fragments,
both WebSocket consumers and the rehearsal pages ask here; nothing else compares owners.

A **visitor** is the signed-in user or, for an anonymous visitor, a random key kept in their
session (``claim`` makes one the first time they make something). The rules:

- A ``Run``, ``Fleet``, ``FleetRun`` or ``Sweep`` belongs to its ``owner`` (a user) or, when it
  was made anonymously, to the ``visitor_key`` of the session that made it. Its rows (events,
  frames, VM rows, exports) go with it. What a visitor starts is theirs: a fleet run belongs to
  who approved the plan, a sweep and its runs to who started it, a VM's anatomy run to who
  clicked it.
- The owner may see and change it; staff may see and change everything (support; the admin
  shows everything anyway). Anyone else gets the same 404 as for an id that does not exist
  (WebSockets: close code 4404), so ids leak nothing.
- Lists show the visitor's own things only (staff included: they have the admin).
- Rows with neither an owner nor a visitor key (made before accounts existed, by the CLI, in
  the admin) are visible to staff only.
- Public, for anyone including anonymous visitors: the scenario presets and the fleet presets.
  They are not rows anyone owns; starting a run from one makes a run of your own.
- Signing in adopts what the session made anonymously (``adopt_on_login``).
- A **share link** lets anyone watch one fleet run, read-only: its URL carries a token signed
  with the secret key over that run's id (``share_token``), so it opens that run and no other.
  Opened (``accept_share``), the token is kept in the visitor's session, so the run's fragments,
  JSON, exports and its WebSocket (``watchable``, ``watch_or_404``) open for them too; whatever
  changes or starts something still asks ``visible`` / ``get_or_404`` (the owner's).
- Rehearsals live in memory (``playground/rehearsals/registry.py``, no tables): their secret token (in
  the URL for guests and scripts, in a cookie for the browser that created one) as before, or
  the signed-in user who created one from the page (``owns_rehearsal``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.signing import BadSignature, Signer, TimestampSigner
from django.db.models import Model, Q, QuerySet
from django.dispatch import receiver
from django.shortcuts import get_object_or_404

VISITOR_SESSION_KEY = "playground_visitor"
SHARES_SESSION_KEY = "playground_shares"  # {"fleets.fleetrun:7": "<token>"}: share links opened
SHARES_KEPT = 100  # a session remembers this many share links (the oldest forgotten first)
SHARE_SALT = "playground.accounts.access.share"
# a key offered to an anonymous visitor before they make anything (``offer_key``): signed, in a
# cookie of its own, so that offering it stores nothing
OFFERED_KEY_COOKIE = "playground_offered_key"
OFFERED_KEY_SALT = "playground.accounts.access.offered"
OFFERED_KEY_MAX_AGE_S = 3600


@dataclass(frozen=True)
class Visitor:
    user_id: int | None = None
    key: str = ""  # the anonymous visitor key of the session ("" until they make something)
    is_staff: bool = False
    username: str = ""
    shares: tuple[tuple[str, str], ...] = ()  # (label, token) of the share links they opened

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


NOBODY = Visitor()


def _shares(stored) -> tuple[tuple[str, str], ...]:
    if not isinstance(stored, dict):
        return ()
    return tuple((str(label), str(token)) for label, token in stored.items())


def _visitor(user, session) -> Visitor:
    key, shares = "", ()
    if session is not None:
        try:
            key = str(session.get(VISITOR_SESSION_KEY, "") or "")
            shares = _shares(session.get(SHARES_SESSION_KEY))
        except Exception:  # a session store that cannot be read: nobody in particular
            key, shares = "", ()
    if user is not None and getattr(user, "is_authenticated", False):
        return Visitor(
            user.pk, key, bool(user.is_staff and user.is_active), user.get_username(), shares
        )
    return Visitor(None, key, shares=shares)


def for_request(request) -> Visitor:
    """The visitor behind an HTTP request (``VisitorMiddleware`` computes it up front, so
    async views read it without touching the database)."""
    visitor = getattr(request, "visitor", None)
    if visitor is None:
        visitor = _visitor(getattr(request, "user", None), getattr(request, "session", None))
        request.visitor = visitor
    return visitor


def for_scope(scope) -> Visitor:
    """The visitor behind a WebSocket (``AuthMiddlewareStack`` fills ``scope["user"]`` and
    ``scope["session"]``). Reads the session: call it from a thread
    (``database_sync_to_async``)."""
    return _visitor(scope.get("user"), scope.get("session"))


async def afor_scope(scope) -> Visitor:
    """``for_scope`` from the event loop: the session is read through Django's async session
    API, which goes to a thread only if it is not loaded yet (``AuthMiddlewareStack`` loaded it
    to find the user, so for a WebSocket it is not a hop)."""
    session = scope.get("session")
    if session is not None:
        try:
            await session.aget(VISITOR_SESSION_KEY)  # loads it, if it was not
        except Exception:  # a session store that cannot be read: nobody in particular
            return _visitor(scope.get("user"), None)
    return _visitor(scope.get("user"), session)


def claim(request) -> Visitor:
    """The visitor who is about to make something: an anonymous visitor gets their key now
    (kept in the session, whose cookie the response sets)."""
    visitor = for_request(request)
    if not visitor.signed_in and not visitor.key:
        key = _key_to_give(request)
        request.session[VISITOR_SESSION_KEY] = key
        visitor = replace(visitor, key=key)
        request.visitor = visitor
    return visitor


_COUNTED_KEY = "_playground_counted_key"  # (on the request) the key a limit counted


def _key_to_give(request) -> str:
    """The key an anonymous visitor gets: the one a limit already counted them under in this
    request, else the one offered to their browser, else a new one."""
    return getattr(request, _COUNTED_KEY, "") or offered_key(request) or secrets.token_urlsafe(24)


def counted_as(request) -> Visitor:
    """The visitor a rate limit counts, storing nothing: an anonymous visitor without a key
    yet gets the one ``claim`` will give them (offered to the browser in its signed cookie by
    ``VisitorMiddleware`` if nothing claims it). A limit that claimed the key stored a session
    for every request counted, refused ones included: a client that keeps no cookies grew the
    session table without bound, a 429 at a time."""
    visitor = for_request(request)
    if visitor.signed_in or visitor.key:
        return visitor
    key = _key_to_give(request)
    setattr(request, _COUNTED_KEY, key)
    return replace(visitor, key=key)


def offer_counted_key(request, response) -> None:
    """The key a limit counted this anonymous visitor under, if nothing claimed it: offered to
    the browser (a cookie, nothing stored), so their next request counts under it too."""
    key = getattr(request, _COUNTED_KEY, "")
    if key and not for_request(request).key and offered_key(request) != key:
        _set_offered(response, key)


def offer_key(request, response) -> None:
    """Give an anonymous visitor who has no key yet the key ``claim`` will take, in a signed
    cookie (``OFFERED_KEY_COOKIE``): both sends of a double click on a form's first save carry
    it, so the second finds the first's row theirs. Nothing is stored: a session made on every
    GET let a client that keeps no cookies (or sends a CSRF cookie it made up) grow the
    session table without bound."""
    visitor = for_request(request)
    if visitor.signed_in or visitor.key:
        return
    _set_offered(response, offered_key(request) or secrets.token_urlsafe(24))


def _set_offered(response, key: str) -> None:
    response.set_cookie(
        OFFERED_KEY_COOKIE,
        TimestampSigner(salt=OFFERED_KEY_SALT).sign(key),
        max_age=OFFERED_KEY_MAX_AGE_S,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def as_claimed(request) -> Visitor:
    """The visitor as ``claim`` would make them, storing nothing: an anonymous visitor without
    a key yet has the one offered to them (``offer_key``), if any. (Is the row a token made
    theirs? The second send of a double click on a first save has no session yet.)"""
    visitor = for_request(request)
    if visitor.signed_in or visitor.key:
        return visitor
    key = offered_key(request)
    return replace(visitor, key=key) if key else visitor


def offered_key(request) -> str:
    """The key ``offer_key`` gave this browser (within the hour), or ``""``."""
    signed = request.COOKIES.get(OFFERED_KEY_COOKIE, "")
    if not signed or len(signed) > 200:
        return ""
    try:
        return TimestampSigner(salt=OFFERED_KEY_SALT).unsign(signed, max_age=OFFERED_KEY_MAX_AGE_S)
    except BadSignature:
        return ""


def owner_fields(visitor: Visitor | None) -> dict:
    """The ``owner``/``visitor_key`` values for a new row made by ``visitor`` (None: made by
    nobody in particular, e.g. the CLI: staff only)."""
    if visitor is None:
        return {}
    if visitor.signed_in:
        return {"owner_id": visitor.user_id, "visitor_key": ""}
    if not visitor.key:
        raise ValueError("an anonymous visitor needs a key before making anything (access.claim)")
    return {"owner_id": None, "visitor_key": visitor.key}


# --- the decisions --------------------------------------------------------------------------------


def owns(visitor: Visitor, obj: Model) -> bool:
    """Made by this visitor: their user, or (anonymously) their session's key."""
    owner_id, key = getattr(obj, "owner_id", None), getattr(obj, "visitor_key", "") or ""
    if owner_id is not None:
        return owner_id == visitor.user_id
    return bool(key and visitor.key) and secrets.compare_digest(key, visitor.key)


def can_access(visitor: Visitor, obj: Model) -> bool:
    """May this visitor see and change ``obj`` (and everything of it)?"""
    return visitor.is_staff or owns(visitor, obj)


def _made_by(visitor: Visitor) -> Q:
    match = Q(pk__in=[])
    if visitor.signed_in:
        match |= Q(owner_id=visitor.user_id)
    if visitor.key:
        match |= Q(owner__isnull=True, visitor_key=visitor.key)
    return match


def mine(queryset, visitor: Visitor) -> QuerySet:
    """What this visitor made (lists)."""
    return _queryset(queryset).filter(_made_by(visitor))


def visible(queryset, visitor: Visitor) -> QuerySet:
    """What this visitor may open by id."""
    queryset = _queryset(queryset)
    return queryset if visitor.is_staff else mine(queryset, visitor)


def get_or_404(queryset, visitor: Visitor, **lookup):
    """The object if this visitor may see it; else the same 404 as for one that does not
    exist."""
    return get_object_or_404(visible(queryset, visitor), **lookup)


# --- share links: watching one run, read-only -----------------------------------------------------


def _share_label(model, pk) -> str:
    return f"{model._meta.label_lower}:{pk}"


def share_token(obj: Model) -> str:
    """The token of ``obj``'s share link: signed with the secret key over its kind and id, so
    it opens this object and no other (and nobody can make one without the key)."""
    return Signer(salt=SHARE_SALT).signature(_share_label(type(obj), obj.pk))


def _opens(model, pk, token: str) -> bool:
    expected = Signer(salt=SHARE_SALT).signature(_share_label(model, pk))
    return bool(token) and secrets.compare_digest(str(token).encode(), expected.encode())


def share_opens(obj: Model, token: str) -> bool:
    """Is ``token`` ``obj``'s share token?"""
    return _opens(type(obj), obj.pk, token)


def keeps_cookies(request) -> bool:
    """Has this browser shown it keeps what it is given: a session that holds something, or
    the signed key cookie of an earlier answer (``offer_key``)? (Before a session is stored
    for a GET: a client that keeps no cookies would store one with every request.)"""
    visitor = for_request(request)
    return visitor.signed_in or bool(visitor.key or visitor.shares or offered_key(request))


def accept_share(request, obj: Model, token: str) -> bool:
    """The share link was opened: when ``token`` is ``obj``'s, keep it in this visitor's session
    (so the page's fragments, JSON and WebSocket open too) and say True."""
    if not _opens(type(obj), obj.pk, token):
        return False
    label = _share_label(type(obj), obj.pk)
    shares = dict(_shares(request.session.get(SHARES_SESSION_KEY)))
    shares.pop(label, None)
    shares[label] = token
    request.session[SHARES_SESSION_KEY] = dict(list(shares.items())[-SHARES_KEPT:])
    request.visitor = replace(for_request(request), shares=_shares(shares))
    return True


def _shared_pks(model, visitor: Visitor) -> list:
    prefix = model._meta.label_lower + ":"
    return [
        label.removeprefix(prefix)
        for label, token in visitor.shares
        if label.startswith(prefix) and _opens(model, label.removeprefix(prefix), token)
    ]


def watchable(queryset, visitor: Visitor) -> QuerySet:
    """What this visitor may watch (read only): what they may open, and what a share link they
    opened shows them."""
    queryset = _queryset(queryset)
    if visitor.is_staff:
        return queryset
    shared = _shared_pks(queryset.model, visitor)
    return queryset.filter(_made_by(visitor) | Q(pk__in=shared) if shared else _made_by(visitor))


def may_watch(visitor: Visitor, obj: Model) -> bool:
    """``watchable``'s rule for one row already read (its ``owner_id`` and ``visitor_key``): the
    WebSocket consumers read a run once for all the viewers who connect together, then ask
    here for each."""
    if can_access(visitor, obj):
        return True
    label = _share_label(type(obj), obj.pk)
    return _opens(type(obj), obj.pk, dict(visitor.shares).get(label, ""))


def watch_or_404(queryset, visitor: Visitor, **lookup):
    """The object if this visitor may watch it (``watchable``); else the same 404."""
    return get_object_or_404(watchable(queryset, visitor), **lookup)


def shared_with(visitor: Visitor, obj: Model) -> bool:
    """Watched through a share link, not owned: the page offers nothing that changes it."""
    return not can_access(visitor, obj)


def _queryset(queryset) -> QuerySet:
    return queryset._default_manager.all() if isinstance(queryset, type) else queryset


def owns_rehearsal(visitor: Visitor, session) -> bool:
    """A rehearsal a signed-in visitor created from the page is theirs in any browser (besides
    its token, which the creating browser keeps in a cookie and guests carry in the URL)."""
    owner_id = getattr(session, "owner_id", None)
    return owner_id is not None and owner_id == visitor.user_id


# --- wiring ---------------------------------------------------------------------------------------


class VisitorMiddleware:
    """Resolves ``request.visitor`` (the user and the session's key) before the view, so async
    views (rehearsals) can ask ``for_request`` without touching the database. Sync and async
    (Django's async user and session reads): no extra hop between threads."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        for_request(request)
        response = self.get_response(request)
        offer_counted_key(request, response)
        return response

    async def _acall(self, request):
        user = await request.auser() if hasattr(request, "auser") else None
        if user is not None:
            request.user = user  # resolved: templates of async views read it without a query
        session = getattr(request, "session", None)
        key = str(await session.aget(VISITOR_SESSION_KEY, "") or "") if session is not None else ""
        shares = _shares(await session.aget(SHARES_SESSION_KEY)) if session is not None else ()
        if user is not None and user.is_authenticated:
            request.visitor = Visitor(
                user.pk, key, bool(user.is_staff and user.is_active), user.get_username(), shares
            )
        else:
            request.visitor = Visitor(None, key, shares=shares)
        response = await self.get_response(request)
        offer_counted_key(request, response)
        return response


@receiver(user_logged_in, dispatch_uid="playground.accounts.access.adopt_on_login")
def adopt_on_login(sender, request, user, **kwargs) -> None:
    """Signing in (or up) keeps what this browser made anonymously: those rows become the
    user's. (``login`` keeps the session's data, so the key is still there.)"""
    from django.apps import apps

    from .models import Owned

    session = getattr(request, "session", None)
    key = session.get(VISITOR_SESSION_KEY, "") if session is not None else ""
    if key:
        for model in (m for m in apps.get_models() if issubclass(m, Owned)):
            model.objects.filter(owner__isnull=True, visitor_key=key).update(
                owner=user, visitor_key=""
            )
    if request is not None:
        request.visitor = _visitor(user, session)
