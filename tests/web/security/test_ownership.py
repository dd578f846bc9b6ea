"""A fleet, its runs and their streams belong to their owner (``playground/access.py``).

One test per ownership boundary and per kind of visitor: the owner and staff get the page (or
the redirect of a successful POST); a signed-in stranger and an anonymous visitor get the same
404 as for an id that does not exist, and nothing is stored or changed. The WebSocket
boundaries are in ``test_ownership_ws.py``, the rehearsals in ``test_rehearsals.py``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from playground.accounts.models import RateLimitHit
from playground.anatomy.models import Run
from playground.fleets.models import Fleet, FleetRun, Sweep

from ..fleet_support import fleet_post_data
from .conftest import signed_in, things_of

pytestmark = pytest.mark.django_db


def _fleet_form(t, owner_client):
    data = fleet_post_data(owner_client, f"/fleets/{t.fleet.pk}/")
    data["name"] = "renamed"
    return data


SWEEP = {"x_param": "seed", "x_values": "5, 6", "metric": "makespan_s"}

# name: (method, url, the data a POST sends, what the owner gets)
BOUNDARIES = {
    "run page": ("get", lambda t: f"/runs/{t.run.pk}/", None, 200),
    "run events JSON": ("get", lambda t: f"/runs/{t.run.pk}/events.json", None, 200),
    "fleet form": ("get", lambda t: f"/fleets/{t.fleet.pk}/", None, 200),
    "fleet save": ("post", lambda t: f"/fleets/{t.fleet.pk}/", _fleet_form, 302),
    "fleet plan": ("get", lambda t: f"/fleets/{t.fleet.pk}/plan/", None, 200),
    "fleet plan approve": ("post", lambda t: f"/fleets/{t.fleet.pk}/plan/", None, 302),
    "fleet export YAML": ("get", lambda t: f"/fleets/{t.fleet.pk}/scenario.yaml", None, 200),
    "fleet export JSON": ("get", lambda t: f"/fleets/{t.fleet.pk}/scenario.json", None, 200),
    "fleet delete": ("post", lambda t: f"/fleets/{t.fleet.pk}/delete/", None, 302),
    "sweep form": ("get", lambda t: f"/fleets/{t.fleet.pk}/sweep/", None, 200),
    "sweep start": ("post", lambda t: f"/fleets/{t.fleet.pk}/sweep/", lambda t, c: SWEEP, 302),
    "fleet run page": ("get", lambda t: f"/fleets/runs/{t.fleet_run.pk}/", None, 200),
    "fleet run results fragment": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/results/",
        None,
        200,
    ),
    "fleet run frames JSON": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/messages.json",
        None,
        200,
    ),
    "fleet run host timeline JSON": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/timeline.json?host={t.host}",
        None,
        200,
    ),
    "fleet run VMs CSV": ("get", lambda t: f"/fleets/runs/{t.fleet_run.pk}/vms.csv", None, 200),
    "fleet run summary JSON": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/summary.json",
        None,
        200,
    ),
    "fleet run event log": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/events.jsonl",
        None,
        200,
    ),
    "fleet run scenario YAML": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/scenario.yaml",
        None,
        200,
    ),
    "fleet run scenario JSON": (
        "get",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/scenario.json",
        None,
        200,
    ),
    "VM anatomy click-through": (
        "post",
        lambda t: f"/fleets/runs/{t.fleet_run.pk}/vms/{t.vm}/anatomy/",
        None,
        302,
    ),
    "compare": (
        "get",
        lambda t: f"/fleets/runs/compare/?runs={t.fleet_run.pk},{t.other_run.pk}",
        None,
        200,
    ),
    "sweep page": ("get", lambda t: f"/fleets/sweeps/{t.sweep.pk}/", None, 200),
    "sweep results JSON": ("get", lambda t: f"/fleets/sweeps/{t.sweep.pk}/results.json", None, 200),
}


def _ask(client, name, things, owner_client):
    method, url, data, _ = BOUNDARIES[name]
    body = data(things, owner_client) if data else {}
    return (
        getattr(client, method)(url(things), body) if method == "post" else client.get(url(things))
    )


def _state():
    """Everything a request could have made or changed."""
    return [
        list(model.objects.order_by("id").values()) for model in (Fleet, Run, FleetRun, Sweep)
    ] + [RateLimitHit.objects.count()]


@pytest.mark.parametrize("name", BOUNDARIES)
def test_the_owner_may(name, alices, client):
    response = _ask(client, name, alices, client)
    assert response.status_code == BOUNDARIES[name][3], response.content[:300]


@pytest.mark.parametrize("name", BOUNDARIES)
def test_staff_may(name, alices, client, staff_client):
    response = _ask(staff_client, name, alices, client)
    assert response.status_code == BOUNDARIES[name][3], response.content[:300]


@pytest.mark.parametrize("name", BOUNDARIES)
def test_a_signed_in_stranger_gets_404_and_changes_nothing(name, alices, client, bob_client):
    before = _state()
    response = _ask(bob_client, name, alices, client)
    assert response.status_code == 404
    assert _state() == before


@pytest.mark.parametrize("name", BOUNDARIES)
def test_an_anonymous_visitor_gets_404_and_changes_nothing(name, alices, client, anon_client):
    before = _state()
    response = _ask(anon_client, name, alices, client)
    assert response.status_code == 404
    assert _state() == before


def test_someone_elses_thing_and_a_thing_that_does_not_exist_look_the_same(alices, bob_client):
    mine = bob_client.get(f"/runs/{alices.run.pk}/events.json")
    missing = bob_client.get("/runs/999999/events.json")
    assert (mine.status_code, mine.json()) == (missing.status_code, missing.json())


# --- what a page shows besides its object ------------------------------------------------------


def test_a_rerun_link_prefills_only_from_your_own_run(alices, client, bob_client):
    assert (
        f'href="/runs/{alices.run.pk}/">run {alices.run.pk}</a>'
        in client.get(f"/?from={alices.run.pk}").content.decode()
    )
    html = bob_client.get(f"/?from={alices.run.pk}").content.decode()
    assert "Re-running" not in html and f"/runs/{alices.run.pk}/" not in html


def test_re_running_a_fleet_with_changes_prefills_only_from_your_own_run(
    alices, client, bob_client
):
    assert (
        "Re-running" in client.get(f"/fleets/new/?from_run={alices.fleet_run.pk}").content.decode()
    )
    html = bob_client.get(f"/fleets/new/?from_run={alices.fleet_run.pk}").content.decode()
    assert "Re-running" not in html and f"/fleets/runs/{alices.fleet_run.pk}/" not in html


def test_compare_refuses_a_run_of_someone_else_among_your_own(alices, bob, bob_client):
    from playground.accounts.access import Visitor

    bobs = things_of(Visitor(bob.pk))
    response = bob_client.get(
        f"/fleets/runs/compare/?runs={bobs.fleet_run.pk},{alices.fleet_run.pk}"
    )
    assert response.status_code == 404 and "no such finished run" in response.content.decode()
    assert "rows" not in response.context  # no numbers of alice's run on the page


@pytest.mark.parametrize("url", ["/runs/", "/fleets/", "/fleets/runs/", "/"])
def test_lists_show_only_your_own_things(url, alices, bob, bob_client):
    from playground.accounts.access import Visitor

    bobs = things_of(Visitor(bob.pk))
    html = bob_client.get(url).content.decode()
    links = {
        f"/runs/{alices.run.pk}/",
        f"/fleets/{alices.fleet.pk}/",
        f"/fleets/runs/{alices.fleet_run.pk}/",
        f"/fleets/sweeps/{alices.sweep.pk}/",
    }
    assert not [link for link in links if f'href="{link}"' in html]
    theirs = {
        "/runs/": f"/runs/{bobs.run.pk}/",
        "/fleets/": f"/fleets/{bobs.fleet.pk}/",
        "/fleets/runs/": f"/fleets/runs/{bobs.fleet_run.pk}/",
        "/": f"/runs/{bobs.run.pk}/",
    }
    assert f'href="{theirs[url]}"' in html


# --- anonymous visitors ---------------------------------------------------------------------------


def test_anonymous_visitors_use_the_public_presets_and_own_what_they_start(
    anon_client, form_data, client
):
    from playground.anatomy.models import Scenario

    Scenario.objects.create(slug="busy", title="Busy", description="d", params={"memory": "16GiB"})
    assert anon_client.get("/?scenario=busy").status_code == 200
    assert anon_client.get("/fleets/").status_code == 200
    response = anon_client.post("/fleets/from-preset/", {"preset": "demo"})
    assert response.status_code == 302
    fleet = Fleet.objects.get()
    assert fleet.owner is None and fleet.visitor_key  # this session's
    assert anon_client.get(response.url).status_code == 200
    started = anon_client.post("/runs/", form_data)
    assert started.status_code == 302 and anon_client.get(started.url).status_code == 200
    # another anonymous visitor, and a signed-in one, see none of it
    for other in (Client(), client):
        assert other.get(response.url).status_code == 404
        assert other.get(started.url).status_code == 404


def test_signing_up_keeps_what_this_browser_made_anonymously(anon_client):
    anon_client.post("/fleets/from-preset/", {"preset": "demo"})
    fleet = Fleet.objects.get()
    response = anon_client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    fleet.refresh_from_db()
    assert fleet.owner.username == "carol" and fleet.visitor_key == ""
    assert anon_client.get(f"/fleets/{fleet.pk}/").status_code == 200
    # and in another browser, once she signs in there
    other = Client()
    assert other.get(f"/fleets/{fleet.pk}/").status_code == 404
    other.post("/accounts/login/", {"username": "carol", "password": "a-long-passphrase-9"})
    assert other.get(f"/fleets/{fleet.pk}/").status_code == 200


def test_rows_from_before_accounts_are_visible_to_staff_only(client, anon_client, staff_client):
    legacy = Run.objects.create(params={"memory": "4GiB"})  # no owner, no visitor key
    assert legacy.owner is None and legacy.visitor_key == ""
    assert client.get(f"/runs/{legacy.pk}/").status_code == 404
    assert anon_client.get(f"/runs/{legacy.pk}/").status_code == 404
    assert staff_client.get(f"/runs/{legacy.pk}/").status_code == 200


def test_the_admin_is_for_staff_only(client, staff):
    assert client.get("/admin/anatomy/run/").status_code == 302  # to the admin's login
    staff.is_superuser = True
    staff.save()
    assert signed_in(staff).get("/admin/anatomy/run/").status_code == 200


def test_a_fleets_scenario_edited_in_the_admin_is_checked_by_the_engine(staff):
    import json

    from ..fleet_support import tiny

    staff.is_superuser = True
    staff.save()
    admin = signed_in(staff)
    fleet = Fleet.objects.create(scenario=tiny(), source="test")
    url = f"/admin/fleets/fleet/{fleet.pk}/change/"
    assert (
        admin.get("/admin/fleets/fleet/").status_code == 200 and admin.get(url).status_code == 200
    )
    bad = tiny()
    bad["fleet"]["racks"][0]["hosts"] = 0
    response = admin.post(
        url,
        {
            "scenario": json.dumps(bad),
            "source": "test",
            "visitor_key": "",
            "created_0": "2026-01-01",
            "created_1": "00:00:00",
        },
    )
    assert (
        response.status_code == 200
        and "fleet.racks[0].hosts: must be &gt; 0" in response.content.decode()
    )
    fleet.refresh_from_db()
    assert fleet.scenario == tiny()
