"""A form that makes something, sent twice (a double click, a POST sent again from the
browser's history, two requests at once), makes it once: the new-fleet form and the sweep
form carry a one-time token (``playground.accounts.once``, like the plan page's approval), the
row keeps it in a unique column, and the second send is led to what the first made."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from playground.accounts import access, once
from playground.accounts.access import Visitor
from playground.fleets import services as fleet_services
from playground.fleets import sweep_views, sweeps, views
from playground.fleets.models import Fleet, FleetRun, Sweep
from playground.runs import tasks

from .fleet_support import fleet_post_data, tiny

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN = re.compile(r'name="submission" value="([0-9a-f]{32})"')
SWEEP = {
    "x_param": "policy.max_bandwidth",
    "x_values": "64MiB/s, 256MiB/s",
    "y_param": "caps.per_source_host",
    "y_values": "1, 2",
    "metric": "makespan_s",
}


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)


def _twin(browser: Client) -> Client:
    """Another client holding ``browser``'s cookies as they are now: a double click's second
    send, which leaves before the first's answer sets any cookie."""
    twin = Client()
    for name, morsel in browser.cookies.items():
        twin.cookies[name] = morsel.value
    return twin


def _token(response) -> str:
    return TOKEN.search(response.content.decode()).group(1)


def _fleet_form(client) -> dict:
    """What the new-fleet form sends, its token included."""
    data = fleet_post_data(client, "/fleets/new/")
    return {**data, "submission": _token(client.get("/fleets/new/"))}


def _sweep_form(client, fleet) -> dict:
    return {**SWEEP, "submission": _token(client.get(f"/fleets/{fleet.pk}/sweep/"))}


# --- the fleet list's preset buttons and import form ------------------------------------------


def _list_forms(client) -> dict:
    """The fleet list's forms that make a fleet: each preset button's token, the import's."""
    page = client.get("/fleets/").content.decode()
    presets = re.findall(
        r'name="preset" value="([\w-]+)"><input type="hidden" name="submission" '
        r'value="([0-9a-f]{32})"',
        page,
    )
    imported = re.search(
        r'id="import-form"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken"[^>]*>'
        r'<input type="hidden" name="submission" value="([0-9a-f]{32})"',
        page,
    )
    return {"presets": dict(presets), "import": imported.group(1)}


def test_a_preset_clicked_twice_makes_one_fleet_and_another_preset_its_own(client):
    tokens = _list_forms(client)["presets"]
    assert len(set(tokens.values())) == len(tokens) > 1  # a token per button
    sent = {"preset": "demo", "submission": tokens["demo"]}
    first = client.post("/fleets/from-preset/", sent)
    second = client.post("/fleets/from-preset/", sent)
    fleet = Fleet.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == fleet.get_absolute_url()
    # back to the (cached) list, another preset: a fleet of its own
    client.post(
        "/fleets/from-preset/", {"preset": "heartbleed", "submission": tokens["heartbleed"]}
    )
    assert Fleet.objects.count() == 2


def test_a_preset_token_sent_by_another_visitor_is_a_409_and_makes_nothing(client):
    token = _list_forms(client)["presets"]["demo"]
    client.post("/fleets/from-preset/", {"preset": "demo", "submission": token})
    other = Client().post("/fleets/from-preset/", {"preset": "demo", "submission": token})
    assert other.status_code == 409 and Fleet.objects.count() == 1


def test_the_import_form_sent_twice_makes_one_fleet(client):
    import json

    token = _list_forms(client)["import"]
    sent = {"text": json.dumps(tiny()), "submission": token}
    first = client.post("/fleets/import/", sent)
    second = client.post("/fleets/import/", sent)
    fleet = Fleet.objects.get()
    assert first.url == second.url == fleet.get_absolute_url()


def test_an_import_refused_for_its_errors_keeps_its_token(client):
    token = _list_forms(client)["import"]
    refused = client.post("/fleets/import/", {"text": "{not json", "submission": token})
    assert refused.status_code == 422 and not Fleet.objects.exists()
    assert f'name="submission" value="{token}"' in refused.content.decode()


# --- the new-fleet form ------------------------------------------------------------------------


def test_the_new_fleet_form_sent_twice_makes_one_fleet_and_both_go_to_its_plan(client):
    sent = _fleet_form(client)
    first = client.post("/fleets/new/", sent)
    second = client.post("/fleets/new/", sent)
    fleet = Fleet.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == f"/fleets/{fleet.pk}/plan/"
    again = client.post("/fleets/new/", sent, **HTMX)  # the htmx form, sent again
    assert again["HX-Redirect"] == f"/fleets/{fleet.pk}/plan/"
    assert Fleet.objects.count() == 1
    another = client.post("/fleets/new/", _fleet_form(client))  # a new page: a new fleet
    assert another.status_code == 302 and Fleet.objects.count() == 2


def test_a_new_fleet_form_refused_for_its_errors_keeps_its_token_for_the_corrected_send(client):
    sent = _fleet_form(client)
    refused = client.post("/fleets/new/", {**sent, "host_memory": "lots"})
    assert refused.status_code == 422 and _token(refused) == sent["submission"]
    assert not Fleet.objects.exists()
    client.post("/fleets/new/", sent)
    client.post("/fleets/new/", sent)
    assert Fleet.objects.count() == 1


def test_an_anonymous_visitor_s_double_click_on_their_first_fleet_makes_one_they_own():
    """Both sends of a double click leave before the first answer sets the session cookie:
    the form's page gives the visitor their key, so both sends carry it."""
    browser = Client()
    sent = _fleet_form(browser)
    twin = _twin(browser)  # the second send: the cookies as they were before the first answer
    first = browser.post("/fleets/new/", sent)
    second = twin.post("/fleets/new/", sent)
    fleet = Fleet.objects.get()
    assert first.url == second.url == f"/fleets/{fleet.pk}/plan/"
    assert browser.get(second.url).status_code == 200  # theirs


def test_a_client_that_keeps_no_cookies_makes_no_stored_session_by_opening_the_form():
    from django.contrib.sessions.models import Session

    for _ in range(3):
        assert Client().get("/fleets/new/").status_code == 200
    assert not Session.objects.exists()


def test_an_anonymous_visitor_s_double_click_on_a_preset_on_their_first_visit_makes_one_fleet():
    """Both sends leave before the first answer sets the session cookie: the fleet list
    offers the visitor their key, so the second is led to the first's fleet, not a 409."""
    browser = Client()
    token = _list_forms(browser)["presets"]["demo"]
    twin = _twin(browser)  # the second send: the cookies as they were before the first answer
    sent = {"preset": "demo", "submission": token}
    first = browser.post("/fleets/from-preset/", sent)
    second = twin.post("/fleets/from-preset/", sent)
    fleet = Fleet.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == fleet.get_absolute_url()
    assert browser.get(second.url).status_code == 200  # theirs


def test_a_client_with_a_made_up_csrf_cookie_makes_no_stored_session_by_opening_the_form():
    """The CSRF cookie is no proof of an earlier visit (any client can send one it made up):
    opening the form stores nothing, however often."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    for _ in range(3):
        forged = Client()
        forged.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32
        assert forged.get("/fleets/new/").status_code == 200
    assert not Session.objects.exists()


def test_an_offered_key_whose_signature_is_wrong_is_not_taken():
    browser = Client()
    browser.cookies[access.OFFERED_KEY_COOKIE] = "someone-elses-key:forged"
    browser.post("/fleets/from-preset/", {"preset": "demo", "submission": once.new_token()})
    assert Fleet.objects.get().visitor_key not in ("", "someone-elses-key")


def test_two_sends_of_the_new_fleet_form_at_once_make_one_fleet(client, monkeypatch):
    """The check before the work can pass in both requests at once: the database's unique
    token keeps one row, and the second send is led to it."""
    sent = _fleet_form(client)
    monkeypatch.setattr(views, "made_before", lambda *args, **kwargs: None)  # both past it
    first = client.post("/fleets/new/", sent)
    second = client.post("/fleets/new/", sent)
    fleet = Fleet.objects.get()
    assert first.url == second.url == f"/fleets/{fleet.pk}/plan/"


def test_one_fleet_per_token_whatever_calls_the_service(alice):
    made = [fleet_services.create_fleet(scenario=tiny(), visitor=alice, submission="b" * 32)]
    made.append(fleet_services.create_fleet(scenario=tiny(), visitor=alice, submission="b" * 32))
    assert made[0].pk == made[1].pk and Fleet.objects.count() == 1
    fleet_services.create_fleet(scenario=tiny(), visitor=alice)  # no token: no such rule
    fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    assert Fleet.objects.count() == 3
    with pytest.raises(once.Taken):
        fleet_services.create_fleet(
            scenario=tiny(), visitor=Visitor(None, "someone-else"), submission="b" * 32
        )


# --- the sweep form ---------------------------------------------------------------------------


def test_the_sweep_form_sent_twice_makes_one_sweep_and_both_go_to_it(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sent = _sweep_form(client, fleet)
    first = client.post(f"/fleets/{fleet.pk}/sweep/", sent)
    second = client.post(f"/fleets/{fleet.pk}/sweep/", sent)
    sweep = Sweep.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == f"/fleets/sweeps/{sweep.pk}/"
    assert FleetRun.objects.count() == 4  # not eight
    another = client.post(f"/fleets/{fleet.pk}/sweep/", _sweep_form(client, fleet))
    assert another.status_code == 302 and Sweep.objects.count() == 2


def test_a_sweep_form_refused_for_its_errors_keeps_its_token(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sent = _sweep_form(client, fleet)
    refused = client.post(f"/fleets/{fleet.pk}/sweep/", {**sent, "x_values": "lots"})
    assert refused.status_code == 422 and _token(refused) == sent["submission"]


def test_two_sends_of_the_sweep_form_at_once_make_one_sweep(alice, client, monkeypatch):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sent = _sweep_form(client, fleet)
    monkeypatch.setattr(sweep_views, "made_before", lambda *args, **kwargs: None)  # both past it
    first = client.post(f"/fleets/{fleet.pk}/sweep/", sent)
    second = client.post(f"/fleets/{fleet.pk}/sweep/", sent)
    sweep = Sweep.objects.get()
    assert first.url == second.url == f"/fleets/sweeps/{sweep.pk}/"
    assert FleetRun.objects.count() == 4


def test_one_sweep_per_token_whatever_calls_the_service(alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    grid = {
        "fleet": fleet,
        "scenario": tiny(),
        "x_param": "seed",
        "x_values": [1, 2],
        "metric": "makespan_s",
        "visitor": alice,
        "submission": "c" * 32,
    }
    assert sweeps.create_sweep(**grid).pk == sweeps.create_sweep(**grid).pk
    assert Sweep.objects.count() == 1 and FleetRun.objects.count() == 2
    other = fleet_services.create_fleet(scenario=tiny(seed=2), visitor=alice)
    with pytest.raises(once.Taken):  # the same token for another fleet: not a double click
        sweeps.create_sweep(**{**grid, "fleet": other})
    assert Sweep.objects.count() == 1 and FleetRun.objects.count() == 2


# --- tokens that are not a double click -------------------------------------------------------


def test_a_token_sent_again_for_another_fleet_or_by_another_visitor_is_a_409(
    alice, client, django_user_model
):
    one = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    two = fleet_services.create_fleet(scenario=tiny(seed=2), visitor=alice)
    sent = _sweep_form(client, one)
    client.post(f"/fleets/{one.pk}/sweep/", sent)
    elsewhere = client.post(f"/fleets/{two.pk}/sweep/", sent)
    assert elsewhere.status_code == 409 and "already used" in elsewhere.content.decode()
    bob = Client()
    bob.force_login(django_user_model.objects.create_user("bob", password="bob-password-1"))
    new_fleet = _fleet_form(client)
    client.post("/fleets/new/", new_fleet)
    stolen = bob.post("/fleets/new/", new_fleet)
    assert stolen.status_code == 409 and "already used" in stolen.content.decode()
    assert Sweep.objects.count() == 1 and Fleet.objects.count() == 3


@pytest.mark.parametrize("token", ["g" * 32, "x" * 5000, "A" * 32])
def test_a_token_no_page_gives_is_a_400_and_makes_nothing(alice, client, token):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    for url, sent in (
        ("/fleets/new/", _fleet_form(client)),
        (f"/fleets/{fleet.pk}/sweep/", _sweep_form(client, fleet)),
    ):
        response = client.post(url, {**sent, "submission": token})
        assert response.status_code == 400 and "not one a page gives" in response.content.decode()
    assert Fleet.objects.count() == 1 and not Sweep.objects.exists()


@pytest.mark.parametrize(
    ("model", "field"), [(Fleet, "submission"), (Sweep, "submission"), (FleetRun, "approval")]
)
def test_a_token_is_found_through_its_unique_index_not_by_reading_every_row(model, field):
    """SQLite uses a partial index only for a query that states the index's condition: looking
    a token up read the token column of every fleet (or run), past megabytes of JSON each.
    On PostgreSQL (CI's database) the plan must find an index too, with sequential scans priced
    out (a small table would be scanned anyway); PostgreSQL proves the index's condition from
    the token itself, so there this holds the index's existence, not the query's wording."""
    with CaptureQueriesContext(connection) as queries:
        once.made_by(model, field, "d" * 32)
    (asked,) = [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # (the test's transaction only)
            cursor.execute(f"EXPLAIN {asked}")
            plan = [row[0] for row in cursor.fetchall()]
            assert any("Index" in step for step in plan), plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {asked}")
            plan = [row[-1] for row in cursor.fetchall()]
            assert any("USING INDEX" in step for step in plan), plan
