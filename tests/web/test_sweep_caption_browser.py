"""The sweep page's table caption says what its cells hold, as the charts' labels do: choosing
another outcome above retitles it (it said 'Makespan (ms)' over a table of hours: the label the
page was rendered with before any run had finished, never updated)."""

import pytest

from playground.accounts.access import Visitor
from playground.fleets import services as fleet_services
from playground.fleets import sweeps
from playground.runs import pipeline
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher
from .test_lessons_browser import page  # noqa: F401  (Chromium against live_server)


@pytest.fixture
def sweep(live_server, django_user_model, monkeypatch):
    """A finished two-run sweep of a signed-up user (made before Chromium starts)."""
    user = django_user_model.objects.create_user("sweeper", password="sweeper-password-1")
    visitor = Visitor(user.pk, "", False, user.username)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=visitor)
    monkeypatch.setattr(pipeline, "enqueue", lambda run: None)  # run below, here
    made = sweeps.create_sweep(
        fleet=fleet,
        scenario=fleet.to_scenario(),
        x_param="caps.per_source_host",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=visitor,
    )
    for run in made.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    return made


def test_the_table_caption_follows_the_outcome_chosen(live_server, sweep, page):  # noqa: F811
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "sweeper")
    page.fill("#id_password", "sweeper-password-1")
    page.click("#login-submit")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/fleets/sweeps/{sweep.pk}/")
    assert page.inner_text("#sweep-table caption").startswith("Makespan (")
    page.select_option("#metric", "peak_concurrent_migrations")
    page.wait_for_function(
        "document.querySelector('#sweep-table caption').textContent"
        " === 'Peak concurrent migrations'",
        timeout=10_000,
    )
    page.select_option("#metric", "blackout_p99_s")
    page.wait_for_function(
        "document.querySelector('#sweep-table caption').textContent.startsWith('Blackout p99 (')",
        timeout=10_000,
    )
    assert page.errors == []
