"""User-provided names (the fleet's name and description, rack, host, VM and event names of an
uploaded scenario) are shown as text everywhere: escaped in every page and fragment, escaped
inside the JSON the pages embed, served as JSON (never sniffed as HTML) by the endpoints the
charts read, and neutered in the CSV a spreadsheet opens. What the charts draw is escaped in the
browser (``static/js/plot_text.js``): ``test_escaping_browser.py``."""

from __future__ import annotations

import csv
import io
import json

import pytest

from migrationsim.fleet.plan import plan as plan_of
from playground.accounts.access import Visitor
from playground.fleets import services as fleet_services

from ..fleet_support import planned, tiny
from .conftest import finish

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
# VM names: any text but a '/' (a VM's name is a segment of its anatomy's URL): markup still
SCRIPT_VM = "<script>alert(3)"  # unescaped, it would swallow the rest of the page
FORMULA = '=HYPERLINK("http:evil.example","open")'
LINK = '<a href="https:evil.example">here'  # Plotly would draw this one as a link
ESCAPED = [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;",
    "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E",
]


def hostile_scenario() -> dict:
    """A valid scenario whose every name is markup (the engine accepts any text as a name)."""
    data = tiny(name=SCRIPT, description=IMG)
    data["fleet"]["racks"] = [{"name": IMG, "count": 1, "hosts": 3}]
    hosts = [f"{IMG}1-h{j}" for j in (1, 2, 3)]
    data["fleet"]["vm_list"] = [
        {"name": name, "host": hosts[0 if i < 3 else 1], "memory": "2GiB", "workload": "idle"}
        for i, name in enumerate([SCRIPT_VM, IMG, LINK, FORMULA, "plain"])
    ]
    data["events"] = [
        {
            "name": SCRIPT,
            "kind": "kernel_upgrade",
            "scope": {"hosts": hosts[:1]},
            "host_downtime": "2min",
        }
    ]
    return data


@pytest.fixture
def hostile(client):
    """alice imports the hostile scenario through the form, approves the plan, the run ends."""
    from playground.fleets.models import Fleet, FleetRun

    response = client.post("/fleets/import/", {"text": json.dumps(hostile_scenario())})
    assert response.status_code == 302, response.content[:500]
    fleet = Fleet.objects.get()
    planned(client, f"/fleets/{fleet.pk}/plan/")
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 302
    run = finish(FleetRun.objects.get())
    assert run.status == "done", run.error
    return fleet, run


def _pages(fleet, run):
    return [
        "/fleets/",
        f"/fleets/{fleet.pk}/",
        f"/fleets/{fleet.pk}/plan/",
        f"/fleets/{fleet.pk}/sweep/",
        "/fleets/runs/",
        f"/fleets/runs/{run.pk}/",
        f"/fleets/runs/{run.pk}/results/",
        f"/fleets/new/?from_run={run.pk}",
    ]


def test_names_are_escaped_in_every_page(client, hostile):
    fleet, run = hostile
    for url in _pages(fleet, run):
        html = client.get(url).content.decode()
        assert SCRIPT not in html and SCRIPT_VM not in html and IMG not in html, url
        shown = [m for m in ESCAPED if m in html]
        assert shown, f"{url} shows none of the names (escaped), so it tested nothing"


def test_names_reach_the_pages_as_text(client, hostile):
    """Not dropped either: the run page shows the name, escaped."""
    fleet, run = hostile
    html = client.get(f"/fleets/runs/{run.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    plan = client.get(f"/fleets/{fleet.pk}/plan/").content.decode()
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;1-h1" in plan  # a host of a wave


def test_the_json_a_page_embeds_cannot_close_its_script_tag(client, hostile):
    fleet, run = hostile
    other = finish(
        fleet_services.start_run(
            scenario=run.scenario, fleet=fleet, queue=False, visitor=Visitor(run.owner_id)
        )
    )
    html = client.get(f"/fleets/runs/compare/?runs={run.pk},{other.pk}").content.decode()
    config = html.split('<script id="compare-config" type="application/json">', 1)[1].split(
        "</script>", 1
    )[0]
    assert "<" not in config and "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in config
    assert json.loads(config)["runs"][0]["label"] == f"run {run.pk}: {SCRIPT}"


def test_the_json_the_charts_read_is_json_and_never_sniffed_as_html(client, hostile):
    _, run = hostile
    for url in (
        f"/fleets/runs/{run.pk}/messages.json",
        f"/fleets/runs/{run.pk}/summary.json",
        f"/fleets/runs/{run.pk}/timeline.json?host={IMG}1-h1",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("application/json")
        assert response["X-Content-Type-Options"] == "nosniff"
    frames = client.get(f"/fleets/runs/{run.pk}/messages.json").json()["events"]
    assert any(SCRIPT_VM in json.dumps(frame) for frame in frames)  # the name, as typed


def test_a_vm_named_like_a_formula_is_text_in_the_csv(client, hostile):
    _, run = hostile
    body = b"".join(client.get(f"/fleets/runs/{run.pk}/vms.csv")).decode()
    rows = {row["vm"]: row for row in csv.DictReader(io.StringIO(body))}
    assert "'" + FORMULA in rows and FORMULA not in rows  # a leading apostrophe: not a formula
    assert rows[SCRIPT_VM]["host"].startswith(IMG)  # markup is harmless in a CSV: kept as typed


def test_a_vms_anatomy_run_shows_its_name_escaped(client, hostile):
    _, run = hostile
    response = client.post(f"/fleets/runs/{run.pk}/vms/{IMG}/anatomy/")
    assert response.status_code == 302
    html = client.get(response.url).content.decode()
    assert IMG not in html
    runs = client.get("/runs/").content.decode()
    assert IMG not in runs and SCRIPT not in runs


def test_the_plan_of_the_hostile_scenario_is_the_engines(hostile):
    """The names are data all the way through: the engine plans the same fleet as with plain
    names (nothing was cut or rewritten)."""
    fleet, _ = hostile
    plain = hostile_scenario()
    assert plan_of(fleet.to_scenario())["vms"] == plan_of(plain)["vms"] == 5
