"""What a new visitor sees at a glance, in headless Chromium against daphne (embedded mode): the
sign-in and sign-up inputs as wide as their fields, the favicon, and a rehearsal board that
shows a guest without a notice as a fact, not as an error."""

from __future__ import annotations

import json
import re

import pytest

from .browser_support import browser, open_page  # noqa: F401  (the Chromium fixtures)
from .rehearsal_support import create, request, running_daphne, simulate


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_daphne("embedded", tmp_path_factory.mktemp("page-look")) as running:
        yield running


@pytest.fixture
def page(browser):  # noqa: F811
    page = open_page(browser, 1200, 900)
    yield page
    page.context.close()


def _width(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => e.getBoundingClientRect().width")


@pytest.mark.parametrize(
    "path, inputs",
    [
        ("/accounts/login/", ["#id_username", "#id_password"]),
        ("/accounts/signup/", ["#id_username", "#id_password1", "#id_password2"]),
    ],
)
def test_every_input_of_the_account_forms_is_as_wide_as_its_field(server, page, path, inputs):
    page.goto(server.base_url + path)
    for selector in inputs:
        field = _width(page, f".field:has({selector})")
        assert _width(page, selector) == pytest.approx(field, abs=1), selector
    widths = {selector: _width(page, selector) for selector in inputs}
    assert max(widths.values()) - min(widths.values()) < 1, widths


def test_every_page_has_the_svg_favicon(server, page):
    page.goto(server.base_url + "/rehearsals/")
    href = page.eval_on_selector('link[rel="icon"]', "e => e.href")
    status, headers, body = request(href)
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert body.lstrip().startswith("<svg") and 'viewBox="0 0 32 32"' in body


def test_a_guest_without_a_notice_is_shown_in_the_text_colour_not_the_error_colour(server, page):
    created = create(server, speed=20)
    # the page is the creator's: the browser takes the token through the share link
    page.goto(f"{server.base_url}/rehearsals/{created['id']}/{created['token']}/")
    assert simulate(created, "web-1")[0] == 200  # web-1's guest never read the key: no notice
    none = page.wait_for_selector(".none", timeout=15_000)
    assert none.inner_text() == "none"
    colours = page.evaluate(
        """() => {
          const probe = document.createElement("span");
          probe.className = "error";
          document.body.append(probe);
          const colour = (e) => getComputedStyle(e).color;
          return {none: colour(document.querySelector(".none")), error: colour(probe),
                  text: colour(document.body)};
        }"""
    )
    assert colours["none"] != colours["error"], colours
    assert colours["none"] == colours["text"], colours
    got = json.loads(request(created["events"])[2])["guests"]["web-1"]
    assert got["notice"] and not got["notice_lead_s"]  # the board says what the engine did
    assert re.search(r"none\s+at t=", page.inner_text("#board"))
