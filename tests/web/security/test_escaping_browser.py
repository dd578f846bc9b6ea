"""Hostile names through a real browser (headless Chromium against a real stack, embedded and
production mode): an anonymous visitor imports a scenario whose fleet, rack, host, VM and event
names are markup, plans it, runs it and watches it. Nothing runs (no dialog), nothing is parsed
as markup (no element appears), and the charts show the names exactly as typed: Plotly treats
text as pseudo-HTML, so the page escapes it first (``static/js/plot_text.js``); unescaped, Plotly
would draw ``<a href>`` as a link (and ``<b>``, ``<span style>``) and drop the tags it does not
know."""

from __future__ import annotations

import json
import re

from ..test_browser import browser, page  # noqa: F401  (the same Chromium fixtures)
from .test_escaping import IMG, LINK, SCRIPT, SCRIPT_VM, hostile_scenario


def test_hostile_names_are_shown_as_text_in_the_pages_and_charts(stack, page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(stack.base_url + "/fleets/")
    page.fill("#id_text", json.dumps(hostile_scenario()))
    page.click("#import-submit")
    page.wait_for_url(re.compile(r"/fleets/\d+/$"))
    assert page.input_value("#id_name") == SCRIPT  # the form holds it as a value, not markup
    page.click("#save-plan")
    page.wait_for_url(re.compile(r"/fleets/\d+/plan/$"))
    page.wait_for_selector("#approve", timeout=90_000)  # a worker plans it
    assert SCRIPT in page.inner_text("h1")
    page.click("#approve")
    page.wait_for_url(re.compile(r"/fleets/runs/\d+/$"))
    page.select_option("#speed", "max")
    page.wait_for_function("window.fleetRun.state().finished", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('#chart-timeline .ytick text').length > 0")

    ticks = page.locator("#chart-timeline .ytick text").all_text_contents()
    assert {SCRIPT_VM, IMG, LINK} <= set(ticks), ticks  # VM rows, shown as typed
    assert (
        page.evaluate("document.querySelectorAll('.js-plotly-plot svg a').length") == 0
    )  # no link
    page.wait_for_function(
        "document.querySelectorAll('#host-names option').length > 0"
    )  # every 1 s
    hosts = page.evaluate(
        "[...document.querySelectorAll('#host-names option')].map((o) => o.value)"
    )
    assert f"{IMG}1-h1" in hosts
    # the busiest links are lines by rank; each point names its link (named after its host) in
    # its hover, as text: what the chart holds is the name through plotText, never markup
    names = page.evaluate(
        "document.getElementById('chart-links').data.flatMap((trace) => trace.customdata)"
    )
    shown = page.evaluate("(name) => window.plotText(name)", f"{IMG}1-h1/tx")
    assert shown in names and f"{IMG}1-h1/tx" not in names, names
    # nothing the names hold became an element, and nothing ran
    assert page.evaluate("document.querySelectorAll('img, #host-names *:not(option)').length") == 0
    assert page.evaluate(
        "[...document.scripts].every((s) => s.src || s.type === 'application/json')"
    )
    assert dialogs == [] and page.errors == []
