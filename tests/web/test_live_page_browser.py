"""Headless Chromium: what a fleet run's live page says while it replays agrees with what it
shows. The run is computed by the pipeline beforehand (a small region: four zones); the page is
served by the live server and its socket played by the test (``route_web_socket``), with the
run's stored frames, so the replay's pace is the page's own clock."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client

from playground.fleets import services as fleet_services
from playground.fleets.models import FleetRun
from playground.runs.pipeline import execute_run
from tests.sim.fleet_support import small_region

from .browser_support import chromium, open_page
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db(transaction=True)

FLEET_SOCKET = re.compile(r"/ws/fleet-runs/\d+/")
STATE = "window.fleetRun.state()"


@pytest.fixture
def region_run(alice) -> tuple[FleetRun, list[dict]]:
    """A small region's run, done, and its frames as the consumer sends them."""
    run = fleet_services.start_run(scenario=small_region(2, 4), queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    frames = run.events_after(0, limit=1_000_000)
    assert len(frames) > 50 and run.status == "done"
    return run, frames


@pytest.fixture
def session_cookie(user, live_server) -> dict:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": live_server.url}


@pytest.fixture
def page(live_server, region_run, session_cookie):
    # Chromium after the live server and the rows (browser_support.py says why)
    with chromium() as browser:
        page = open_page(browser)
        page.context.add_cookies([session_cookie])
        yield page


def serve(page, frames: list[dict], status: str = "done", error: str = "") -> None:
    """The run's socket: every frame (in pages, as the consumer replays them), then its status."""

    def handle(ws):
        for i in range(0, len(frames), 100):
            ws.send(json.dumps({"type": "events", "events": frames[i : i + 100]}))
        ws.send(json.dumps({"type": "status", "status": status, "error": error}))

    page.route_web_socket(FLEET_SOCKET, handle)


# Every time the header or a zone's line changes, the header's hosts done and in scope beside
# the zones' lines summed: a pair that differs is a moment the page contradicted itself.
WATCH_HEADER_AND_ZONES = """
window.__disagreements = [];
window.__compared = 0;
const number = (text) => Number(text.replace(/,/g, ""));
function compare() {
  const header = document.getElementById("progress-text").textContent.match(/^([\\d,]+) \\/ ([\\d,]+) hosts$/);
  const lines = [...document.querySelectorAll("#zone-map .zone-line")].map((el) => el.textContent);
  if (!header || !lines.length) return;
  let done = 0, scope = 0;
  for (const line of lines) {
    const m = line.match(/^([\\d,]+) \\/ ([\\d,]+) hosts done/);
    done += number(m[1]); scope += number(m[2]);
  }
  window.__compared++;
  if (done !== number(header[1]) || scope !== number(header[2]))
    window.__disagreements.push(`header ${header[0]}, zones ${done} / ${scope}`);
}
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(compare).observe(document.querySelector(".progress-panel"), {childList: true, subtree: true, characterData: true});
  new MutationObserver(compare).observe(document.getElementById("zone-map"), {childList: true, subtree: true, characterData: true});
});
"""


def test_the_headers_hosts_and_the_zones_lines_always_tell_the_same_frame(
    live_server, region_run, page
):
    run, frames = region_run
    page.add_init_script(WATCH_HEADER_AND_ZONES)
    serve(page, frames)
    page.goto(f"{live_server.url}/fleets/runs/{run.pk}/")
    page.select_option("#speed", "3000")  # about a frame per animation frame: many redraws
    page.wait_for_function(f"{STATE}.finished", timeout=120_000)
    page.wait_for_timeout(600)  # the last redraw
    assert page.evaluate("window.__compared") > 20  # the page was watched while it played
    assert page.evaluate("window.__disagreements") == []
    zones = page.evaluate(STATE)["zoneCounts"]
    assert len(zones) == 4
    done = sum(z["done"] for z in zones.values())
    assert page.inner_text("#progress-text") == f"{done:,} / {done:,} hosts"
    assert page.errors == []
