"""A fleet run's share link: anyone who opens it may watch that run and its results (page,
fragments, JSON, exports, its WebSocket), read only; without it the run is the same 404 as
before; the token of one run opens no other. ``playground/accounts/access.py`` decides."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from playground.accounts.access import Visitor, share_token
from playground.asgi import application
from playground.fleets.models import Fleet, FleetRun

from ..support import close_code, ws_headers
from .conftest import things_of

pytestmark = pytest.mark.django_db

# what a viewer watches: (url under the run, status the owner gets)
WATCHING = {
    "page": ("", 200),
    "results fragment": ("results/", 200),
    "frames JSON": ("messages.json", 200),
    "host timeline JSON": ("timeline.json?host={host}", 200),
    "VMs CSV": ("vms.csv", 200),
    "summary JSON": ("summary.json", 200),
    "event log": ("events.jsonl", 200),
    "scenario YAML": ("scenario.yaml", 200),
}


def _url(run, name, host):
    return f"/fleets/runs/{run.pk}/" + WATCHING[name][0].format(host=host)


def _share_link(owner_client, run) -> str:
    """The link as the owner's page shows it."""
    html = owner_client.get(f"/fleets/runs/{run.pk}/").content.decode()
    href = re.search(r'<a href="([^"]+)" id="share-url">', html).group(1)
    assert href.startswith("http://testserver/") and "share=" in href
    return href.removeprefix("http://testserver").replace("&amp;", "&")


def _opened(link: str) -> Client:
    """A new anonymous visitor, in another browser, who opened ``link`` (sent once more with
    the cookie its first answer gave: the share is stored for a browser that keeps cookies)."""
    visitor = Client()
    first = visitor.get(link)
    assert first.status_code == 302 and "share=" in first["Location"]
    response = visitor.get(first["Location"])
    assert response.status_code == 302 and "share=" not in response["Location"]
    return visitor


def test_a_client_that_keeps_no_cookies_stores_no_session_by_opening_the_link(alices, client):
    """The share is kept in the visitor's session: a client that keeps no cookies stored a
    session each time it opened a (public) link, without bound."""
    from django.contrib.sessions.models import Session

    link = _share_link(client, alices.fleet_run)
    before = Session.objects.count()
    for _ in range(3):
        first = Client().get(link)
        assert first.status_code == 302
        again = Client().get(first["Location"])  # the cookie it was given, dropped
        assert again.status_code == 400 and "cookie" in again.content.decode()
    assert Session.objects.count() == before


@pytest.mark.parametrize("name", WATCHING)
def test_an_anonymous_visitor_with_the_link_watches_the_run_and_its_results(name, alices, client):
    visitor = _opened(_share_link(client, alices.fleet_run))
    response = visitor.get(_url(alices.fleet_run, name, alices.host))
    assert response.status_code == WATCHING[name][1], response.content[:300]


@pytest.mark.parametrize("name", WATCHING)
def test_without_the_link_it_is_404(name, alices, anon_client, bob_client):
    for stranger in (anon_client, bob_client):
        assert stranger.get(_url(alices.fleet_run, name, alices.host)).status_code == 404


def test_a_wrong_token_reads_nothing_of_the_run(alices, anon_client):
    """A stranger's ``?share=`` with any token, for any run id, read the run's whole row (its
    scenario, plan and series: megabytes for a listed fleet) before the token was checked."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = anon_client.get(f"/fleets/runs/{alices.fleet_run.pk}/?share=wrong")
    assert response.status_code == 404
    reads = [q["sql"] for q in queries if 'FROM "playground_fleetrun"' in q["sql"]]
    assert reads and not any('"playground_fleetrun"."scenario"' in sql for sql in reads)


def test_the_token_of_one_run_opens_no_other(alices, client):
    run_a, run_b = alices.fleet_run, alices.other_run
    token_a = share_token(run_a)
    assert token_a != share_token(run_b)
    visitor = Client()
    # A's token on B's address: not accepted, the same 404
    assert visitor.get(f"/fleets/runs/{run_b.pk}/?share={token_a}").status_code == 404
    # having opened A's link, B stays closed
    visitor.get(_share_link(client, run_a), follow=True)
    assert visitor.get(f"/fleets/runs/{run_a.pk}/").status_code == 200
    assert visitor.get(f"/fleets/runs/{run_b.pk}/").status_code == 404
    assert visitor.get(f"/fleets/runs/{run_b.pk}/summary.json").status_code == 404
    # a token that is not a signature at all
    assert Client().get(f"/fleets/runs/{run_a.pk}/?share=x{token_a}").status_code == 404


def test_the_link_is_read_only(alices, client):
    run = alices.fleet_run
    visitor = _opened(_share_link(client, run))
    page = visitor.get(f"/fleets/runs/{run.pk}/").content.decode()
    assert "read only" in page and 'id="rerun"' not in page
    assert "?select=" not in page  # no "Compare with…" either
    assert 'id="rerun"' in client.get(f"/fleets/runs/{run.pk}/").content.decode()  # the owner's
    before = [list(m.objects.order_by("id").values()) for m in (Fleet, FleetRun)]
    # the run's fleet, its plan, its form and a re-run prefilled from it stay the owner's
    for url in (f"/fleets/{alices.fleet.pk}/", f"/fleets/{alices.fleet.pk}/plan/"):
        assert visitor.get(url).status_code == 404, url
    assert visitor.post(f"/fleets/{alices.fleet.pk}/delete/").status_code == 404
    assert visitor.post(f"/fleets/{alices.fleet.pk}/plan/").status_code == 404
    assert "Re-running" not in visitor.get(f"/fleets/new/?from_run={run.pk}").content.decode()
    compare = visitor.get(f"/fleets/runs/compare/?runs={run.pk},{alices.other_run.pk}")
    assert compare.status_code == 404
    assert [list(m.objects.order_by("id").values()) for m in (Fleet, FleetRun)] == before


def test_a_viewer_may_open_a_vms_anatomy_as_a_run_of_their_own(alices, client):
    """Drilling into one VM is watching: it makes a single-VM run that is the viewer's, and
    changes nothing of the shared run."""
    from playground.anatomy.models import Run

    run = alices.fleet_run
    url = f"/fleets/runs/{run.pk}/vms/{alices.vm}/anatomy/"
    assert Client().post(url).status_code == 404  # without the link
    visitor = _opened(_share_link(client, run))
    before = list(FleetRun.objects.filter(pk=run.pk).values())
    response = visitor.post(url)
    assert response.status_code == 302
    created = Run.objects.latest("id")
    assert created.owner_id is None and created.visitor_key  # the viewer's, not alice's
    assert visitor.get(created.get_absolute_url()).status_code == 200
    assert client.get(created.get_absolute_url()).status_code == 404
    assert list(FleetRun.objects.filter(pk=run.pk).values()) == before


def test_a_visitor_with_the_link_does_not_own_the_run(alices, client):
    visitor = _opened(_share_link(client, alices.fleet_run))
    html = visitor.get("/fleets/runs/").content.decode()
    assert f'href="/fleets/runs/{alices.fleet_run.pk}/"' not in html  # not in their list


# --- the WebSocket: the same check ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _layer(in_memory_layer):
    return in_memory_layer


def _cookie(visitor: Client) -> list[tuple[bytes, bytes]]:
    name = settings.SESSION_COOKIE_NAME
    return [(b"cookie", f"{name}={visitor.cookies[name].value}".encode())]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_runs_stream_opens_for_the_link_and_only_for_its_run(user):
    def setup():
        owner = Client()
        owner.force_login(user)
        things = things_of(Visitor(user.pk, "", False, user.username))
        return things, _opened(_share_link(owner, things.fleet_run))

    things, visitor = await sync_to_async(setup)()
    headers = ws_headers() + await sync_to_async(_cookie)(visitor)
    communicator = WebsocketCommunicator(
        application, f"/ws/fleet-runs/{things.fleet_run.pk}/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert connected
    kinds = []
    while not kinds or kinds[-1] != "status":
        kinds.append((await communicator.receive_json_from(timeout=5))["type"])
    assert kinds == ["events", "status"]
    await communicator.disconnect()
    other = WebsocketCommunicator(
        application, f"/ws/fleet-runs/{things.other_run.pk}/", headers=headers
    )
    assert await close_code(other) == 4404
    without = WebsocketCommunicator(
        application, f"/ws/fleet-runs/{things.fleet_run.pk}/", headers=ws_headers()
    )
    assert await close_code(without) == 4404
