"""Headless Chromium: what a run's live page says while it replays agrees with what it shows.
The run is computed by the pipeline beforehand (a fleet run: a small region, four zones; a
single VM's run); the page is served by the live server and its socket played by the test
(``route_web_socket``) with the run's stored events, so the replay's pace is the page's own."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client

from playground.anatomy.models import Run
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetRun
from playground.runs.pipeline import execute_run
from tests.sim.fleet_support import small_region

from .browser_support import chromium, open_page
from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db(transaction=True)

FLEET_SOCKET = re.compile(r"/ws/fleet-runs/\d+/")
RUN_SOCKET = re.compile(r"/ws/runs/\d+/")
STATE = "window.fleetRun.state()"
REPLAYING = "Computed — replaying"


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
def failed_region_run(region_run) -> tuple[FleetRun, list[dict]]:
    """The same run as its worker failed after storing every frame: told as failed."""
    run, frames = region_run
    FleetRun.objects.filter(pk=run.pk).update(status="failed", error="The worker was lost.")
    return run, frames


@pytest.fixture
def single_vm_run(user, valid_params) -> tuple[Run, list[dict]]:
    """A single VM's run, done (the 60 s guest notice first: a replay of seconds at 10x)."""
    run = Run.objects.create(params=valid_params, seed=1, owner=user)
    assert execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert run.status == "done"
    return run, run.events_after(0, limit=1_000_000)


@pytest.fixture
def aborted_vm_run(user, valid_params) -> tuple[Run, list[dict]]:
    """A single VM's run that aborts: it dirties faster than 10 GbE copies (test_outcome_browser)."""
    params = {**valid_params, "memory": "2GiB", "workload": "muncher", "guest_watches": False}
    run = Run.objects.create(params=params, seed=1, owner=user)
    assert execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    events = run.events_after(0, limit=1_000_000)
    assert run.status == "done" and events[-1]["result"]["outcome_words"]["code"] == "aborted"
    return run, events


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


def serve(page, frames: list[dict], status="done", error="", socket=FLEET_SOCKET) -> None:
    """The run's socket: every frame (in pages, as the consumer replays them), then its status."""

    def handle(ws):
        for i in range(0, len(frames), 100):
            ws.send(json.dumps({"type": "events", "events": frames[i : i + 100]}))
        ws.send(json.dumps({"type": "status", "status": status, "error": error}))

    page.route_web_socket(socket, handle)


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
    zones = page.evaluate(STATE)["zoneCounts"]
    assert len(zones) == 4
    done = sum(z["done"] for z in zones.values())
    page.wait_for_function(  # the last redraw: every host done with
        f"document.getElementById('progress-text').textContent === '{done:,} / {done:,} hosts'"
    )
    assert page.evaluate("window.__compared") > 20  # the page was watched while it played
    assert page.evaluate("window.__disagreements") == []
    assert page.errors == []


# Every change of the status badge, with how far the replay was when it changed.
WATCH_BADGE = """
window.__badges = [];
document.addEventListener("DOMContentLoaded", () => {
  const badge = document.getElementById("run-status");
  const record = () => {
    const page = window.fleetRun || window.anatomy;
    const s = page ? page.state() : {played: 0, received: 0};
    window.__badges.push({text: badge.textContent, played: s.played, received: s.received});
  };
  record();
  new MutationObserver(record).observe(badge, {childList: true, subtree: true, characterData: true});
});
"""


def _said_done_too_early(page) -> list[dict]:
    return [
        b
        for b in page.evaluate("window.__badges")
        if b["text"] == "Done" and (b["received"] == 0 or b["played"] < b["received"])
    ]


def test_a_computed_run_reads_replaying_until_its_last_frame_is_played_then_done(
    live_server, region_run, page
):
    run, frames = region_run
    page.add_init_script(WATCH_BADGE)
    serve(page, frames)
    page.goto(f"{live_server.url}/fleets/runs/{run.pk}/")
    page.select_option("#speed", "10")  # a region's hours at 10x: mid-run for a long while
    page.wait_for_function(f"{STATE}.received === {len(frames)} && {STATE}.played > 0")
    mid = page.evaluate(STATE)
    assert mid["status"] == "done" and mid["played"] < mid["received"], mid
    assert page.inner_text("#run-status") == REPLAYING
    page.select_option("#speed", "max")
    page.wait_for_function(f"{STATE}.finished")
    page.wait_for_function("document.getElementById('run-status').textContent === 'Done'")
    assert _said_done_too_early(page) == []
    assert page.evaluate("window.__badges")[-1]["text"] == "Done"
    page.select_option("#speed", "10")
    page.click("#btn-restart")  # played again from the start: not done with it
    page.wait_for_function(f"document.getElementById('run-status').textContent === '{REPLAYING}'")
    assert page.errors == []


def test_a_failed_run_reads_failed_never_done_even_replayed_to_its_last_frame(
    live_server, failed_region_run, page
):
    run, frames = failed_region_run
    page.add_init_script(WATCH_BADGE)
    serve(page, frames, status="failed", error="The worker was lost.")
    page.goto(f"{live_server.url}/fleets/runs/{run.pk}/")
    page.select_option("#speed", "max")
    page.wait_for_function(f"{STATE}.played === {len(frames)}")
    page.wait_for_timeout(300)  # a few animation frames more
    assert page.inner_text("#run-status") == "Failed"
    assert "Done" not in {b["text"] for b in page.evaluate("window.__badges")}
    assert page.inner_text("#run-error") == "The worker was lost."
    assert page.errors == []


def test_a_single_vms_run_reads_replaying_and_keeps_its_outcome_until_the_summary_is_played(
    live_server, single_vm_run, page
):
    run, events = single_vm_run
    page.add_init_script(WATCH_BADGE)
    serve(page, events, socket=RUN_SOCKET)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.select_option("#speed", "1")  # real time: the 60 s notice holds it mid-run
    page.wait_for_function(
        f"window.anatomy.state().received === {len(events)} && window.anatomy.state().played > 0"
    )
    assert page.inner_text("#run-status") == REPLAYING
    assert page.is_hidden("#run-outcome")  # the outcome is told when the replay gets there
    page.select_option("#speed", "max")
    page.wait_for_function("window.anatomy.state().finished")
    page.wait_for_function("document.getElementById('run-status').textContent === 'Done'")
    assert page.is_visible("#run-outcome")
    assert _said_done_too_early(page) == []
    assert page.errors == []


def test_a_done_run_played_up_to_what_has_arrived_waits_for_the_rest_not_ends(
    live_server, region_run, page
):
    """A finished run's frames come in pages; played as fast as possible, the first page is
    played before the next arrives. That is not the end: no "Replay", no "Done", still playing."""
    run, frames = region_run
    sockets = []
    page.route_web_socket(FLEET_SOCKET, lambda ws: sockets.append(ws))
    page.goto(f"{live_server.url}/fleets/runs/{run.pk}/")
    page.select_option("#speed", "max")
    page.wait_for_function("window.fleetRun !== undefined")
    while not sockets:
        page.wait_for_timeout(20)
    sockets[0].send(json.dumps({"type": "events", "events": frames[:100]}))
    page.wait_for_function(f"{STATE}.played === 100")
    page.wait_for_timeout(300)  # a few animation frames more
    assert page.inner_text("#btn-play") == "Pause"
    assert page.inner_text("#run-status") == REPLAYING
    assert page.evaluate(STATE)["finished"] is False
    sockets[0].send(json.dumps({"type": "events", "events": frames[100:]}))
    sockets[0].send(json.dumps({"type": "status", "status": "done", "error": ""}))
    page.wait_for_function(f"{STATE}.finished && {STATE}.played === {len(frames)}")
    assert page.inner_text("#btn-play") == "Replay"
    page.wait_for_function("document.getElementById('run-status').textContent === 'Done'")
    assert page.errors == []


def test_a_migration_that_aborted_is_finished_never_done(live_server, aborted_vm_run, page):
    """The run is computed, its replay played to the end, but the migration was given up: the
    header reads "Finished: aborted", not "Done: aborted"."""
    run, events = aborted_vm_run
    page.add_init_script(WATCH_BADGE)
    serve(page, events, socket=RUN_SOCKET)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.select_option("#speed", "max")
    page.wait_for_function("window.anatomy.state().finished")
    page.wait_for_function(
        "document.getElementById('run-status').textContent !== 'Computed — replaying'"
    )
    assert page.inner_text("#run-status") == "Finished"
    assert page.inner_text("#run-outcome").strip() == ": aborted"
    assert "Done" not in {b["text"] for b in page.evaluate("window.__badges")}
    assert page.errors == []


@pytest.fixture
def zone_run(alice) -> tuple[FleetRun, list[dict]]:
    """A one-zone fleet's run, done (a region's frames carry no per-migration waits)."""
    run = fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert run.status == "done"
    return run, run.events_after(0, limit=1_000_000)


def test_the_queue_wait_chart_says_what_its_count_beside_the_bars_is(live_server, zone_run, page):
    """The chart's axis said "8 started at once" of the migrations that never waited (left out
    of the bars): read beside "at most 4 under way at once", a count of concurrency."""
    run, frames = zone_run
    serve(page, frames)
    page.goto(f"{live_server.url}/fleets/runs/{run.pk}/")
    page.select_option("#speed", "max")
    page.wait_for_function(f"{STATE}.finished")
    migrations = run.summary["migrations"]
    page.wait_for_function(  # the charts are drawn a step an animation frame: its last step
        "(n) => { const c = document.getElementById('chart-waits');"
        " const t = c.layout.xaxis.title.text.match(/; ([\\d,]+) /);"
        " return t && Number(t[1].replace(/,/g, '')) + c.data[0].y.reduce((a, b) => a + b, 0)"
        " === n; }",
        arg=migrations,
    )
    title = page.evaluate("document.getElementById('chart-waits').layout.xaxis.title.text")
    said = re.fullmatch(
        r"queue wait \(s\); ([\d,]+) started without waiting \(not in the bars\)", title
    )
    assert said, title
    bars = page.evaluate(
        "document.getElementById('chart-waits').data[0].y.reduce((a, b) => a + b, 0)"
    )
    assert int(said[1].replace(",", "")) + bars == run.summary["migrations"] > 0
    assert page.errors == []
