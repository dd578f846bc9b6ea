"""A region's results: racks grouped by zone, each zone with its sums; a one-zone fleet keeps
its one table of racks."""

import copy
import re

import pytest

from migrationsim.fleet import load_scenario
from playground.fleets import services as fleet_services
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def _small_region() -> dict:
    data = copy.deepcopy(load_scenario("region").raw)
    for group in data["fleet"]["racks"]:
        group["count"] = 2
    data["fleet"]["vms"]["per_host"] = 4
    return data


def _results(client, alice, scenario) -> tuple[str, dict]:
    run = fleet_services.start_run(scenario=scenario, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return client.get(f"/fleets/runs/{run.pk}/results/").content.decode(), run.summary


def test_a_regions_racks_are_grouped_by_zone_with_the_zones_sums(client, alice):
    html, summary = _results(client, alice, _small_region())
    zones = re.findall(r'<details class="racks" data-zone="([^"]+)">\s*<summary>([^<]+)', html)
    assert [z for z, _ in zones] == ["region-1-a", "region-1-b", "region-1-c", "region-1-d"]
    for zone, text in zones:  # zone region-1-a holds racks a-r1 and a-r2 (the preset's groups)
        mine = [r for r in summary["racks"] if r["rack"].startswith(f"{zone[-1]}-r")]
        vms, out = sum(r["vms_now"] for r in mine), sum(r["migrated_out"] for r in mine)
        assert len(mine) == 2 and out > 100
        assert text == f"{zone}: 2 racks, 32 hosts, {vms} VMs now, {out} migrated off their hosts"
    assert 'id="racks-table"' not in html


def test_a_fleet_of_one_zone_keeps_its_one_table_of_racks(client, alice):
    html, _ = _results(client, alice, tiny())
    assert 'id="racks-table"' in html and "data-zone=" not in html


def test_the_racks_table_says_its_count_is_of_vms_moved_off_the_racks_hosts(client, alice):
    """A VM counted for a rack left one of its hosts; it may have landed in the same rack, so
    the column does not say "out" of the rack."""
    html, _ = _results(client, alice, tiny())
    head = html[html.index('id="racks-table"') :]
    head = head[: head.index("</thead>")]
    assert ">Migrated off its hosts</th>" in head and "Migrated out" not in head
    assert "one of this rack included" in head
