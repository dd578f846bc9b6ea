"""htmx variants of the fleet pages and the past-runs lists: the same views, a fragment for an
htmx request (``HX-Request: true``), the whole page otherwise."""

import pytest

from playground.anatomy import services as anatomy_services
from playground.fleets import services as fleet_services
from playground.fleets.forms import MAX_EVENTS
from playground.fleets.views import ERROR_EVENT_COUNT

from .fleet_support import compute_plans, fleet_post_data, tiny

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fleet(alice):
    return fleet_services.create_fleet(scenario=tiny(), source="test", visitor=alice)


def _post(client, fleet, changes, **headers):
    url = f"/fleets/{fleet.pk}/"
    return client.post(url, {**fleet_post_data(client, url), **changes}, **headers)


def test_an_htmx_save_with_an_error_gets_the_form_alone_with_the_error_next_to_its_field(
    client, fleet
):
    response = _post(client, fleet, {"host_memory": "lots"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert body.startswith('<form method="post" id="fleet-form"') and "<html" not in body
    assert 'id="id_host_memory_error"' in body and "cannot read &#x27;lots&#x27;" in body
    assert f'hx-post="/fleets/{fleet.pk}/"' in body  # the swapped-in form posts the same way


def test_an_htmx_save_that_succeeds_sends_the_browser_to_the_plan(client, fleet):
    response = _post(client, fleet, {"racks": "3"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == f"/fleets/{fleet.pk}/plan/"
    fleet.refresh_from_db()
    assert fleet.scenario["fleet"]["racks"][0]["count"] == 3


def test_without_javascript_the_form_is_a_page_and_a_save_a_redirect(client, fleet):
    response = _post(client, fleet, {"host_memory": "lots"})
    assert response.status_code == 422 and b"<html" in response.content
    response = _post(client, fleet, {"racks": "3"})
    assert response.status_code == 302 and response.url == f"/fleets/{fleet.pk}/plan/"


def test_a_new_fleet_saved_over_htmx_is_stored_and_opens_its_plan(client):
    data = fleet_post_data(client, "/fleets/new/")
    response = client.post("/fleets/new/", {**data, "name": "fresh"}, **HTMX)
    fleet = fleet_services.Fleet.objects.get()
    assert response["HX-Redirect"] == f"/fleets/{fleet.pk}/plan/"
    assert fleet.scenario == {**fleet_services.NEW_FLEET, "name": "fresh"}


def test_a_re_run_with_changes_keeps_what_the_form_does_not_edit_from_the_run(alice, client):
    scenario = tiny(name="again", timing={"cleanup": "2s"})
    run = fleet_services.start_run(scenario=scenario, queue=False, visitor=alice)
    url = f"/fleets/new/?from_run={run.pk}"
    response = client.post(url, {**fleet_post_data(client, url), "seed": "9"})
    assert response.status_code == 302
    assert fleet_services.Fleet.objects.get().scenario == {**scenario, "seed": 9}


def test_adding_an_event_gives_one_blank_event_form_and_the_new_count(client):
    response = client.get("/fleets/new/event/", {"events-TOTAL_FORMS": "1"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'name="events-1-name"' in body and 'name="events-1-DELETE"' in body
    assert 'id="id_events-TOTAL_FORMS" hx-swap-oob="true"' in body and 'value="2"' in body


def test_no_event_is_added_past_the_limit_or_for_a_count_that_is_no_number(client):
    assert (
        client.get("/fleets/new/event/", {"events-TOTAL_FORMS": str(MAX_EVENTS)}).status_code == 204
    )
    assert client.get("/fleets/new/event/", {"events-TOTAL_FORMS": "two"}).status_code == 400


@pytest.mark.parametrize("query", [{}, {"events-TOTAL_FORMS": "two"}, {"events-TOTAL_FORMS": "-1"}])
def test_a_tampered_event_count_is_a_400_page_saying_why(client, query):
    """It was a line of bare text naming a form field, not a page (nor JSON to a JSON client)."""
    page = client.get("/fleets/new/event/", query)
    assert page.status_code == 400
    assert page.templates[0].name == "400.html" and page.context["message"] == ERROR_EVENT_COUNT
    assert "reload the fleet form" in page.content.decode()
    refused = client.get("/fleets/new/event/", query, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["error"] == ERROR_EVENT_COUNT


def test_the_plan_is_a_fragment_for_htmx_and_a_page_otherwise(client, fleet):
    planning = client.get(f"/fleets/{fleet.pk}/plan/", **HTMX).content.decode()
    assert planning.startswith('<div id="plan">') and 'id="planning"' in planning
    compute_plans()
    preview = client.get(f"/fleets/{fleet.pk}/plan/", **HTMX).content.decode()
    assert preview.startswith('<div id="plan">') and "<html" not in preview
    assert f'action="/fleets/{fleet.pk}/plan/"' in preview  # approving works from the edit page
    assert b"<html" in client.get(f"/fleets/{fleet.pk}/plan/").content


def test_the_past_runs_lists_are_fragments_for_htmx_and_refresh_while_a_run_is_unfinished(
    alice, client, valid_params
):
    anatomy_services.create_run(params=valid_params, visitor=alice)
    fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    for url, list_id in (("/runs/", "run-list"), ("/fleets/runs/", "fleet-run-list")):
        fragment = client.get(url, **HTMX).content.decode()
        assert fragment.startswith(f'<div id="{list_id}" hx-get="{url}" hx-trigger="every 3s"')
        assert "<html" not in fragment
        assert f'<div id="{list_id}"' in client.get(url).content.decode()


def test_the_past_runs_page_says_it_lists_single_vm_runs_and_links_the_fleet_runs(client):
    """It said "No runs yet" to a visitor with two fleet runs, and led nowhere near them."""
    page = client.get("/runs/").content.decode()
    assert 'id="runs-scope"' in page and 'href="/fleets/runs/"' in page


def test_a_finished_list_does_not_refresh(client):
    assert "hx-trigger" not in client.get("/fleets/runs/", **HTMX).content.decode()


def test_saving_a_fleet_deleted_meanwhile_is_a_404_saying_so_not_a_500(client, fleet, monkeypatch):
    """The fleet deleted (in another tab) while its form was validated: the save's UPDATE found
    no row and Django raised DatabaseError ('did not affect any rows'), a 500."""
    from playground.fleets import views
    from playground.fleets.models import Fleet

    data = fleet_post_data(client, f"/fleets/{fleet.pk}/")
    real = views.validate_fleet

    def deleted_meanwhile(form, formset):
        Fleet.objects.filter(pk=fleet.pk).delete()
        return real(form, formset)

    monkeypatch.setattr(views, "validate_fleet", deleted_meanwhile)
    client.raise_request_exception = False
    response = client.post(f"/fleets/{fleet.pk}/", data)
    assert response.status_code == 404
    assert "deleted" in response.content.decode()
    assert not Fleet.objects.filter(pk=fleet.pk).exists()  # not brought back either
