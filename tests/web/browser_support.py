"""Headless Chromium for the browser tests: Debian's chromium with the flags this machine needs,
one browser per test module, a fresh page per test that keeps the page's JavaScript errors in
``page.errors``. A test module takes them with ``from .browser_support import browser, page``;
one that needs another window size makes its ``page`` with ``open_page``. With pytest-django's
``live_server``, start Chromium after it (``with chromium()`` in a function fixture): the
database set-up must not run inside Playwright's event loop."""

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


@pytest.fixture
def page(browser):
    page = open_page(browser)
    yield page
    page.context.close()
