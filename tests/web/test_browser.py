"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real stack,
in the embedded and the production mode."""

import re
import time

from migrationsim import humanize

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)


def test_the_timeline_grows_while_the_run_plays_then_the_summary_appears(stack, page):
    page.goto(stack.base_url + "/")
    page.fill("#id_memory", "2GiB")
    page.select_option("#id_workload", "web")
    page.uncheck("#id_guest_watches")  # no 60 s notice: about 3 s of playback at 10x
    page.select_option("#id_speed", "10")
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)

    points, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        state = page.evaluate("window.anatomy.state()")
        points.append(state["timelinePoints"])
        if state["finished"]:
            break
        time.sleep(0.1)
    assert state["finished"], (points, stack.log_tail())
    growing = sorted(set(points))
    assert len(growing) >= 3, f"the timeline should gain points while playing: {points}"
    assert points == sorted(points), "points are only ever added during playback"
    plotted = page.evaluate(
        "document.getElementById('chart-timeline').data.reduce((n, t) => n + t.x.length, 0)"
    )
    assert plotted >= points[-1] > 0

    summary = page.wait_for_selector("#summary-table", timeout=10_000)
    assert "blackout" in summary.inner_text()
    assert page.inner_text("#run-status") == "Done"
    assert page.errors == []


def test_the_run_page_says_sizes_in_the_units_of_the_server_up_to_eib(stack, page):
    page.goto(stack.base_url + "/?scenario=")
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)
    page.wait_for_function("window.anatomy !== undefined")
    for n in (40265318, 5 * 2**40, 3198.9 * 2**40, 2**50, 3 * 2**60, 5000 * 2**60):
        shown = page.evaluate(f"window.anatomy.bytes({n})")
        assert shown.split()[1] == humanize.size(n).split()[1], (n, shown, humanize.size(n))
    assert page.evaluate(f"window.anatomy.bytes({3198.9 * 2**40})") == "3.12 PiB"
    for bps in (134217728, 2e11, 999.9e9 / 8, 1e15, 125):  # rates as humanize.rate says them
        assert page.evaluate(f"window.anatomy.bitRate({bps})") == humanize.rate(bps), bps


def test_the_controls_pause_step_and_restart(stack, page):
    page.goto(stack.base_url + "/?scenario=")
    page.select_option("#id_speed", "1")  # real time: slow enough to take the controls
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)
    page.wait_for_function(
        "window.anatomy.state().received > 0 && window.anatomy.state().status == 'done'"
    )
    page.keyboard.press("Space")  # pause
    assert page.evaluate("window.anatomy.state().playing") is False
    before = page.evaluate("window.anatomy.state().played")
    page.click("#btn-step")
    page.click("#btn-step")
    after = page.evaluate("window.anatomy.state()")
    assert after["played"] > before and after["playing"] is False
    page.click("#btn-restart")  # back to t = 0, playing again in real time
    restarted = page.evaluate("window.anatomy.state()")
    assert restarted["playing"] is True and restarted["played"] < after["played"]
    assert restarted["clock"] < 1.0
    page.select_option("#speed", "max")
    page.wait_for_selector("#summary-table", timeout=20_000)
    assert page.errors == []


def test_the_form_works_without_javascript(stack, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(stack.base_url + "/")
    page.fill("#id_memory", "lots")
    page.click("#simulate")
    assert page.is_visible("#id_memory_error")
    assert page.input_value("#id_memory") == "lots"
    page.fill("#id_memory", "1GiB")
    page.select_option("#id_speed", "max")
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    # no JavaScript, so the page reloads itself until the run is done, then shows the summary
    page.wait_for_selector("#summary-table", timeout=30_000)
    context.close()
