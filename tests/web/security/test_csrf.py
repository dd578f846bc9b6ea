"""CSRF on every form: a POST without the token is refused with 403 and changes nothing; the
token in the page (a hidden field, and ``hx-headers`` on ``<body>`` for htmx) is accepted. Only
the rehearsal endpoints that act on a token in the URL, never on the browser's cookies, are
exempt."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from playground.anatomy.models import Run
from playground.fleets.models import Fleet, FleetRun, Sweep

from ..fleet_support import tiny
from .conftest import things_of

pytestmark = pytest.mark.django_db

RID = "a" * 16  # any well-formed rehearsal id: the CSRF check comes before the view


def _posts(t, form_data):
    return {
        "single-VM run": ("/runs/", form_data),
        "fleet from a preset": ("/fleets/from-preset/", {"preset": "demo"}),
        "scenario import": ("/fleets/import/", {"text": json.dumps(tiny())}),
        "new fleet": ("/fleets/new/", {"name": "x"}),
        "fleet save": (f"/fleets/{t.fleet.pk}/", {"name": "x"}),
        "fleet plan approve": (f"/fleets/{t.fleet.pk}/plan/", {}),
        "fleet delete": (f"/fleets/{t.fleet.pk}/delete/", {}),
        "sweep start": (
            f"/fleets/{t.fleet.pk}/sweep/",
            {"x_param": "seed", "x_values": "1, 2", "metric": "makespan_s"},
        ),
        "VM anatomy click-through": (f"/fleets/runs/{t.fleet_run.pk}/vms/{t.vm}/anatomy/", {}),
        "sign in": ("/accounts/login/", {"username": "alice", "password": "alice-password-1"}),
        "sign out": ("/accounts/logout/", {}),
        "sign up": (
            "/accounts/signup/",
            {
                "username": "eve",
                "password1": "a-long-passphrase-9",
                "password2": "a-long-passphrase-9",
            },
        ),
        "rehearsal from the form": ("/rehearsals/", {"preset": "demo", "speed": "10"}),
        "rehearsal simulate button": (f"/rehearsals/{RID}/vms/vm-1/simulate", {}),
    }


POSTS = list(
    _posts(type("T", (), {"fleet": Fleet(pk=1), "fleet_run": FleetRun(pk=1), "vm": "v"}), {})
)


def _state():
    return [list(m.objects.order_by("id").values()) for m in (Fleet, Run, FleetRun, Sweep)]


@pytest.mark.parametrize("name", POSTS)
def test_a_post_without_the_csrf_token_is_refused(name, alice, user, form_data):
    things = things_of(alice)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url, data = _posts(things, form_data)[name]
    before = _state()
    response = browser.post(url, data)
    assert response.status_code == 403 and b"CSRF" in response.content
    assert _state() == before
    assert browser.get("/fleets/").context["user"].is_authenticated  # not even signed out


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_token_in_the_form_is_accepted(user, form_data):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    token = _token(browser.get("/").content.decode())
    response = browser.post("/runs/", {**form_data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Run.objects.count() == 1


def test_htmx_requests_carry_the_token_from_the_body_hx_headers(user, form_data):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    html = browser.get("/").content.decode()
    headers = json.loads(re.search(r"<body hx-headers='([^']+)'", html).group(1))
    response = browser.post("/runs/", form_data, headers={**headers, "HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/runs/")
    refused = browser.post("/runs/", form_data, headers={"HX-Request": "true"})
    assert refused.status_code == 403


# Views exempt from CSRF, and why each may be: they act on the rehearsal whose secret token is in
# the URL (a guest script or a test suite has no cookie jar), never on what the browser's
# cookies own, so a forged cross-site request gains nothing the token would not already give.
EXEMPT = {
    "rehearsal-create-json": "creates a new rehearsal; returns its token; reads no cookie",
    "rehearsal-maintenance-event": "GET only (else 405, as GCE's metadata server), token in the URL",
    "rehearsal-metadata": "GET only (else 405), token in the URL",
    "rehearsal-metadata-root": "GET only (else 405), token in the URL",
    "rehearsal-metadata-versions": "GET only (else 405), token in the URL",
    "rehearsal-guest-base": "GET only, token in the URL",
    "rehearsal-simulate-api": "simulateMaintenanceEvent: POST with the token in the URL, no cookie counts",
}


def _patterns(resolver=None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry)
        elif isinstance(entry, URLPattern):
            yield entry


def test_only_the_token_endpoints_are_exempt_from_csrf():
    exempt = {p.name for p in _patterns() if getattr(p.callback, "csrf_exempt", False)}
    assert exempt == set(EXEMPT)


def test_the_exempt_simulate_api_counts_the_token_in_the_url_and_nothing_else(rf, user):
    """The owner's cookie (and sign-in) give nothing on a URL with a wrong token."""
    from playground.rehearsals import registry as rehearsals

    session = type("S", (), {"id": "r" * 16, "token": "t" * 32, "owner_id": user.pk})()
    request = rf.post("/")
    request.COOKIES[rehearsals.cookie_name(session)] = session.token
    from playground.accounts.access import Visitor

    request.visitor = Visitor(user.pk)
    assert rehearsals.owns(request, session) is True  # the page: cookie or owner
    assert rehearsals.owns(request, session, token="x" * 32) is False  # the API: the token only
    assert rehearsals.owns(request, session, token=session.token) is True
