"""Headless Chromium for the browser tests: Debian's chromium with the flags this machine needs,
one browser per test module, a fresh page per test that keeps the page's JavaScript errors in
``page.errors``. A test module takes them with ``from .browser_support import browser, page``;
one that needs another window size makes its ``page`` with ``open_page``. With pytest-django's
``live_server``, start Chromium after it (``with chromium()`` in a function fixture): the
database set-up must not run inside Playwright's event loop."""

import re
from contextlib import contextmanager

import pytest

from .support import CHROMIUM, CHROMIUM_ARGS, chromium_available, service_skip


@contextmanager
def chromium():
    """Headless Chromium (skips, or fails in CI, where there is none)."""
    if not chromium_available():
        service_skip(f"Chromium ({CHROMIUM}; apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def open_page(browser, width: int = 1400, height: int = 1000):
    """A page in a new context of ``width`` x ``height``; close it with ``page.context.close()``."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


@pytest.fixture(name="page")
def page_after_live_server(live_server):
    """A page of its own browser, started after the live server (see above): a module takes it
    with ``from .browser_support import page_after_live_server``."""
    with chromium() as browser:
        yield open_page(browser)


@pytest.fixture
def page(browser):
    page = open_page(browser)
    yield page
    page.context.close()


FLEET_FORM_URL = re.compile(r"/fleets/\d+/$")


def open_demo_fleet_form(page, base_url: str) -> None:
    """The fleet list's demo button: a new demo fleet, its form open."""
    page.goto(base_url + "/fleets/")
    page.click("button[data-preset=demo]")
    page.wait_for_url(FLEET_FORM_URL)


def click_and_hold_the_answer(page, url, selector: str, method: str | None = None) -> list:
    """Click ``selector`` and hold the request it sends to ``url`` (of ``method``, any if None;
    other requests go on): the held routes, to ``continue_()`` when the test is ready."""
    held = []

    def hold(route):
        if method is None or route.request.method == method:
            held.append(route)
        else:
            route.continue_()

    page.route(url, hold)
    page.click(selector)
    while not held:
        page.wait_for_timeout(20)
    return held
