"""Headless Chromium: a request htmx sends that the server refuses with anything but a form's
422 or 429 swaps nothing (base.html's responseHandling), so a refused save looked like a click
that did nothing. ``static/js/request_errors.js`` says it at the top of the page, in the
server's words, until the same element's next request succeeds."""

import re

import pytest

from .browser_support import (
    open_demo_fleet_form,
    page_after_live_server,  # noqa: F401  (the page fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

STALE_CSRF = """() => {
  const stale = "x".repeat(64);
  document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((i) => { i.value = stale; });
  document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": stale}));
}"""


def test_a_save_the_server_refuses_says_so_in_its_words_until_a_save_goes_through(
    live_server, page
):
    open_demo_fleet_form(page, live_server.url)
    assert page.is_hidden("#request-error")
    # a token gone stale (the visitor signed in or out in another tab): Django refuses the save
    page.evaluate(STALE_CSRF)
    page.click("#save-plan")
    page.wait_for_selector("#request-error", state="visible")
    said = page.text_content("#request-error")
    assert said.startswith("Not done (HTTP 403): ")
    assert len(said) > len("Not done (HTTP 403): ") + 20  # the 403 page's own sentence
    assert page.url.endswith("/")  # nothing happened: still the form
    page.reload()  # a fresh page (a fresh token): the save goes through
    page.click("#save-plan")
    page.wait_for_url(re.compile(r"/plan/$"))
    assert page.is_hidden("#request-error")
    assert page.errors == []


POLL_OF_A_GONE_PAGE = """() => {
  const poll = document.createElement("div");
  poll.id = "poll-of-a-gone-page";
  poll.setAttribute("hx-get", "/fleets/999999999/plan/status/");
  poll.setAttribute("hx-trigger", "load");
  document.body.appendChild(poll);
  htmx.process(poll);
}"""


def test_a_request_the_page_made_on_its_own_says_the_page_stopped_updating_not_not_done(
    live_server, page
):
    # a poll (or a load) that fails failed no action of the visitor's: "Not done" would say
    # their last click did not happen
    page.goto(live_server.url + "/fleets/")
    page.evaluate(POLL_OF_A_GONE_PAGE)
    page.wait_for_selector("#request-error", state="visible")
    said = page.text_content("#request-error")
    assert said.startswith("This page stopped updating (HTTP 404): "), said
    assert "Not done" not in said
