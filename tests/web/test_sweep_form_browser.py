"""The sweep form in headless Chromium: choosing a parameter puts that parameter's example
values in its field (never a cap's '1, 2, 4' under a downtime limit), and keeps typed ones."""

import pytest

from playground.accounts.access import Visitor
from playground.fleets import services as fleet_services
from playground.fleets.sweep_forms import EXAMPLES

from .fleet_support import tiny
from .test_lessons_browser import page  # noqa: F401  (Chromium against live_server)


@pytest.fixture
def fleet(live_server, django_user_model):
    """A fleet of a signed-up user (made before Chromium starts: the ORM is not called from
    Playwright's event loop)."""
    user = django_user_model.objects.create_user("sweeper", password="sweeper-password-1")
    visitor = Visitor(user.pk, "", False, user.username)
    return fleet_services.create_fleet(scenario=tiny(), visitor=visitor)


def test_choosing_a_parameter_fills_in_its_own_example_values(live_server, fleet, page):  # noqa: F811
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "sweeper")
    page.fill("#id_password", "sweeper-password-1")
    page.click("#login-submit")
    page.wait_for_load_state()
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
