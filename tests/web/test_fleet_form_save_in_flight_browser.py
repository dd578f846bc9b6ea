"""Headless Chromium, the fleet form while its save is on its way: the answer to a save replaces
the whole form (htmx, outerHTML), so anything typed into it meanwhile would be thrown away when
the answer comes back with errors. The form cannot be typed into while it is being saved, and
is usable again once the answer is in."""

import pytest

from .browser_support import (
    FLEET_FORM_URL,
    click_and_hold_the_answer,
    open_demo_fleet_form,
    page_after_live_server,  # noqa: F401  (the page fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)


def _save_and_hold_the_answer(page) -> list:
    return click_and_hold_the_answer(page, FLEET_FORM_URL, "#save-plan", method="POST")


def test_what_is_typed_while_a_save_is_on_its_way_is_never_silently_thrown_away(live_server, page):
    open_demo_fleet_form(page, live_server.url)
    page.fill("#id_racks", "0")  # the save comes back with an error
    held = _save_and_hold_the_answer(page)
    # the visitor goes on editing another field while the save is on its way
    page.focus("#id_description")
    page.keyboard.press("End")
    page.keyboard.type(" and more")
    page.focus("#id_host_memory")
    page.keyboard.press("Control+A")
    page.keyboard.type("512GiB")
    shown = [page.input_value("#id_description"), page.input_value("#id_host_memory")]
    held[0].continue_()
    page.wait_for_selector("#id_racks_error")
    # what the form showed them while it was being saved is what it shows after: either their
    # typing never got in (the form could not be typed into), or it is still there
    assert [page.input_value("#id_description"), page.input_value("#id_host_memory")] == shown
    assert not page.is_disabled("#id_host_memory")  # usable again once the answer is in
    assert not page.is_disabled("#save-plan")
    assert page.errors == []


def test_the_form_cannot_be_edited_or_saved_twice_while_its_save_is_on_its_way(live_server, page):
    open_demo_fleet_form(page, live_server.url)
    page.fill("#id_racks", "0")
    held = _save_and_hold_the_answer(page)
    assert page.is_disabled("#id_host_memory")
    assert page.is_disabled("#id_events-0-name")
    assert page.is_disabled("#add-event")
    assert page.is_disabled("#save-plan")
    held[0].continue_()
    page.wait_for_selector("#id_racks_error")
    page.fill("#id_racks", "2")  # and once the answer is in, the visitor fixes the field
    assert page.input_value("#id_racks") == "2"
    assert page.errors == []
