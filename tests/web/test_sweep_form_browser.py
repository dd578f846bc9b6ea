"""Sweeps in headless Chromium, as a signed-up user. The form: choosing a parameter puts that
parameter's example values in its field (never a cap's '1, 2, 4' under a downtime limit), and
keeps typed ones. The sweep page: its table caption says what its cells hold, and choosing
another outcome above retitles it (it said 'Makespan (ms)' over a table of hours: the label the
page was rendered with before any run had finished, never updated); its cells say durations as
the rest of the app does ('4 min 10 s', not '0.0694' under '(h)')."""

import re

import pytest

from migrationsim import humanize
from playground.accounts.access import Visitor
from playground.fleets import services as fleet_services
from playground.fleets import sweeps
from playground.fleets.sweep_forms import EXAMPLES
from playground.runs import pipeline
from playground.runs.pipeline import execute_run

from .browser_support import page_after_live_server  # noqa: F401  (Chromium against live_server)
from .fleet_support import tiny
from .support import RecordingPublisher

USERNAME, PASSWORD = "sweeper", "sweeper-password-1"


@pytest.fixture
def sweeper(live_server, django_user_model) -> Visitor:
    """A signed-up user (made before Chromium starts: the ORM is not called from Playwright's
    event loop)."""
    user = django_user_model.objects.create_user(USERNAME, password=PASSWORD)
    return Visitor(user.pk, "", False, user.username)


@pytest.fixture
def fleet(sweeper):
    return fleet_services.create_fleet(scenario=tiny(), visitor=sweeper)


@pytest.fixture
def sweep(sweeper, fleet, monkeypatch):
    """A finished two-run sweep of that user's fleet."""
    return _finished_sweep(sweeper, fleet, monkeypatch)


def _finished_sweep(sweeper, fleet, monkeypatch, **axes):
    """A sweep of ``fleet`` over 1 and 2 migrations per source host (and ``axes``), each of its
    runs executed here."""
    monkeypatch.setattr(pipeline, "enqueue", lambda run: None)  # run below, here
    made = sweeps.create_sweep(
        fleet=fleet,
        scenario=fleet.to_scenario(),
        x_param="caps.per_source_host",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=sweeper,
        **axes,
    )
    for run in made.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    return made


def _sign_in(page, live_server) -> None:  # noqa: F811  (the page fixture, passed in)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()


def test_choosing_a_parameter_fills_in_its_own_example_values(live_server, fleet, page):  # noqa: F811
    _sign_in(page, live_server)
    page.goto(f"{live_server.url}/fleets/{fleet.pk}/sweep/")
    assert page.input_value("#id_y_values") == EXAMPLES["caps.per_source_host"]
    page.select_option("#id_y_param", "policy.downtime_limit")
    assert page.input_value("#id_y_values") == EXAMPLES["policy.downtime_limit"]
    assert page.get_attribute("#id_y_values", "placeholder") == EXAMPLES["policy.downtime_limit"]
    page.fill("#id_x_values", "32MiB/s, 96MiB/s")  # typed by hand: kept
    page.select_option("#id_x_param", "fleet.host.nic")
    assert page.input_value("#id_x_values") == "32MiB/s, 96MiB/s"
    page.select_option("#id_y_param", "")
    assert page.input_value("#id_y_values") == ""
    assert page.errors == []


def _cells_and_seconds(page, metric: str) -> tuple[list[str], list[float]]:  # noqa: F811
    """The table's cells as shown, and the figures in seconds the server has for them."""
    return page.evaluate(
        """async (metric) => {
            const config = JSON.parse(document.getElementById('sweep-config').textContent);
            const data = await (await fetch(`${config.results_url}?metric=${metric}`)).json();
            const cells = [...document.querySelectorAll('#sweep-table td[data-cell]')];
            return [cells.map((td) => td.textContent), data.z[0]];
        }""",
        metric,
    )


def test_the_table_caption_follows_the_outcome_chosen(live_server, sweep, page):  # noqa: F811
    _sign_in(page, live_server)
    page.goto(f"{live_server.url}/fleets/sweeps/{sweep.pk}/")
    # each cell a duration in words, as the rest of the app says one ("4 min 10 s", not "0.0694"
    # under "(h)"); the unit only on the chart's axis, where the numbers are
    assert page.inner_text("#sweep-table caption") == "Makespan"
    cells, seconds = _cells_and_seconds(page, "makespan_s")
    assert cells == [humanize.duration(s) for s in seconds] and len(cells) == 2
    colorbar = page.evaluate("document.getElementById('sweep-heatmap').data[0].colorbar.title.text")
    assert re.fullmatch(r"Makespan \((ms|s|min|h)\)", colorbar), colorbar
    page.select_option("#metric", "peak_concurrent_migrations")
    page.wait_for_function(
        "document.querySelector('#sweep-table caption').textContent"
        " === 'Peak concurrent migrations'",
        timeout=10_000,
    )
    page.select_option("#metric", "blackout_p99_s")
    page.wait_for_function(
        "document.querySelector('#sweep-table caption').textContent === 'Blackout p99'",
        timeout=10_000,
    )
    cells, seconds = _cells_and_seconds(page, "blackout_p99_s")
    assert cells == [humanize.duration(s) for s in seconds]
    assert page.errors == []


@pytest.fixture
def grid_sweep(sweeper, fleet, monkeypatch):
    """A finished 2 x 3 sweep whose lines coincide: the tiny fleet never waits on a target cap."""
    return _finished_sweep(
        sweeper, fleet, monkeypatch, y_param="caps.per_target_host", y_values=[2, 3, 4]
    )


def test_lines_that_coincide_are_still_told_apart(live_server, grid_sweep, page):  # noqa: F811
    """A 3 x 3 sweep's line for 2 per host lay exactly under the line for 4: drawn alike, in
    width and marker, one line hid the other, as if that row were missing."""
    _sign_in(page, live_server)
    page.goto(f"{live_server.url}/fleets/sweeps/{grid_sweep.pk}/")
    page.wait_for_function("(document.getElementById('sweep-lines').data || []).length === 3")
    looks = page.evaluate(
        "document.getElementById('sweep-lines').data.map((t) => JSON.stringify("
        "[t.line && t.line.dash || 'solid', t.marker && t.marker.symbol || 'circle']))"
    )
    assert len(set(looks)) == 3, looks
    assert page.errors == []
