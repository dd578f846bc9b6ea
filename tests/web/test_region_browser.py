"""Headless Chromium, a region streamed live (tests/web/test_fleet_browser.py has the small
fleets): the zones-and-racks map fills while the run streams, a rack opens its hosts and a host
its VMs, and the page never blocks the main thread for more than 200 ms at a time (the 'longtask'
entries of a PerformanceObserver, installed before the page's own scripts)."""

import copy
import json
import re

from migrationsim.fleet import load_scenario

from .test_browser import browser, page  # noqa: F401  (the same Chromium fixtures)

LONG_TASK_MAX_MS = 200
RACKS_PER_ZONE = 20  # 4 zones x 20 racks x 16 hosts x 16 VMs: 20,480 VMs, 80 racks


def _region_variant() -> dict:
    """The region preset, its zones 20 racks wide instead of 250 (a run of seconds, not minutes)."""
    data = copy.deepcopy(load_scenario("region").raw)
    for group in data["fleet"]["racks"]:
        group["count"] = RACKS_PER_ZONE
    data["name"] = "region-small"
    return data


OBSERVE_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, ms: e.duration});
}).observe({type: "longtask", buffered: true});
"""


def _start_region_run(stack, page) -> None:
    page.goto(stack.base_url + "/fleets/")
    page.fill("#id_text", json.dumps(_region_variant()))
    page.click("#import-submit")
    page.wait_for_url(re.compile(r"/fleets/\d+/$"))
    page.click("#save-plan")
    page.wait_for_url(re.compile(r"/fleets/\d+/plan/$"))
    page.wait_for_selector("#approve", timeout=120_000)  # a worker plans it
    page.click("#approve")
    page.wait_for_url(re.compile(r"/fleets/runs/\d+/$"))


def test_a_region_streams_into_a_map_of_zones_and_racks_without_long_tasks(stack, page):
    page.add_init_script(OBSERVE_LONG_TASKS)
    _start_region_run(stack, page)
    page.select_option("#speed", "max")  # every frame drawn as it arrives: the heaviest case
    page.wait_for_function(
        "document.querySelectorAll('#zone-map button[data-rack]').length === 80", timeout=120_000
    )
    state = page.evaluate("window.fleetRun.state()")
    assert state["zones"] == ["region-1-a", "region-1-b", "region-1-c", "region-1-d"]
    assert page.locator("#zone-map .zone-row").count() == 4
    assert page.locator("#zone-map button[data-rack]").count() == 80
    page.wait_for_function("window.fleetRun.state().finished", timeout=180_000)
    state = page.evaluate("window.fleetRun.state()")
    assert state["status"] == "done", state
    # from the first frame received on (loading Plotly itself is not the stream's)
    streamed = [
        t for t in page.evaluate("window.__longTasks") if t["start"] >= state["firstMessageMs"]
    ]
    # every zone through: each rack's cell says so, each zone's line too
    assert all(c["done"] == c["scope"] == 320 for c in state["zoneCounts"].values())
    assert page.locator("#zone-map button.rack-done").count() == 80
    assert "320 / 320 hosts done" in page.inner_text("#zone-map .zone-row[data-zone=region-1-c]")
    # counts as the server's pages write them: with thousands separators
    scope = sum(c["scope"] for c in state["zoneCounts"].values())
    assert scope >= 1000 and page.inner_text("#progress-text") == f"{scope:,} / {scope:,} hosts"
    # the timeline of a region: one row per rack (its hosts' spans), not per host
    assert state["mode"] == "rack" and state["timelineRows"] == 80
    # a rack opens its 16 hosts, a host its 16 VMs (from the stored rows, the run is done)
    page.click("#zone-map button[data-rack=b-r3]")
    page.wait_for_function("window.fleetRun.state().timelineRows === 16")
    assert page.evaluate("window.fleetRun.state()")["zoomRack"] == "b-r3"
    page.evaluate("window.fleetRun.setZoom('b-r3-h2')")
    page.wait_for_function(
        "window.fleetRun.state().timelineRows === 16 && window.fleetRun.state().mode === 'host'"
    )
    page.wait_for_function(
        "document.getElementById('chart-timeline').data.some((t) => (t.y || []).some((y) => String(y).startsWith('vm-')))"
    )
    longest = max((t["ms"] for t in streamed), default=0)
    print(f"long tasks while streaming: {len(streamed)}, longest {longest:.0f} ms", streamed)
    assert longest < LONG_TASK_MAX_MS, streamed
    assert not page.errors, page.errors
