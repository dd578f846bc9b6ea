"""Headless Chromium: a single-VM run that aborts is narrated as aborted (issue #14, section 1):
why, and that the VM keeps running on the source; never "Done: the VM runs on the target host".
The words are the server's (``migrationsim/outcomes.py``), not a copy in the page's script."""

import re
import time

from migrationsim import outcomes

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)


def test_an_aborted_run_is_narrated_as_aborted_with_why_and_where_the_vm_is(stack, page):
    page.goto(stack.base_url + "/")
    page.fill("#id_memory", "2GiB")
    page.select_option("#id_workload", "muncher")  # dirties faster than 10 GbE copies: no end
    page.uncheck("#id_guest_watches")
    page.select_option("#id_speed", "max")
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not page.evaluate("window.anatomy.state().finished"):
        time.sleep(0.1)
    assert page.evaluate("window.anatomy.state().finished"), stack.log_tail()

    narration = page.inner_text("#explain-now")
    assert "Done: the VM runs on the target host" not in narration
    assert narration.startswith("Aborted:")
    assert outcomes.REASONS["timeout_abort"].sentence in narration  # why
    assert "keeps running on the source" in narration

    # the badge the page filled in says the label once, the code kept in data-outcome
    badge = page.inner_text("#run-outcome")
    assert badge.strip() == ": aborted" and page.is_visible("#run-outcome")
    assert page.get_attribute("#run-outcome", "data-outcome") == "aborted"

    # the summary the server rendered: the outcome in words, the numbers humanised
    page.wait_for_selector("#summary #run-outcome-sentence", timeout=10_000)
    summary = page.inner_text("#summary")
    assert "keeps running on the source" in summary and "timeout_abort" not in summary
    assert outcomes.label("timeout_abort") in summary
    assert "GiB" in summary and not re.search(r"\de\+\d", summary)
    assert page.errors == []
