"""A region: zones of racks. Live migration stays inside a zone; an event may name zones."""

import pytest

from migrationsim.fleet import FleetRun, load_scenario, parse_scenario, summarize
from migrationsim.fleet.rollout import hosts_in_scope
from migrationsim.fleet.scenario import ScenarioError

from .fleet_support import small_region


def _zone_of_host(run: FleetRun) -> dict[str, str]:
    return {h.name: run.fleet.racks[h.rack].zone for h in run.fleet.hosts}


def test_the_region_preset_is_four_zones_upgraded_one_after_another():
    scenario = load_scenario("region")
    fleet_run = FleetRun(scenario)
    fleet = fleet_run.fleet
    assert fleet.zones == ["region-1-a", "region-1-b", "region-1-c", "region-1-d"]
    assert (len(fleet.hosts), len(fleet.vms)) == (16_000, 256_000)
    starts = [ev.start_s for ev in scenario.events]
    assert starts == sorted(starts) and len(set(starts)) == 4
    for ev, zone in zip(scenario.events, fleet.zones, strict=True):
        scope = hosts_in_scope(fleet, ev)
        assert len(scope) == 4_000
        assert {fleet.racks[h.rack].zone for h in scope} == {zone}


def test_every_migration_stays_in_its_zone():
    events = []
    run = FleetRun(parse_scenario(small_region(2, 8)), events.append).run()
    zone_of = _zone_of_host(run)
    starts = [e for e in events if e["kind"] == "migration_start"]
    assert len(starts) > 100
    assert all(zone_of[e["source"]] == zone_of[e["target"]] for e in starts)
    assert {zone_of[e["source"]] for e in starts} == set(run.fleet.zones)  # every zone's turn
    summary = summarize(run)
    assert summary["outcomes"]["stuck"] == 0 and summary["outcomes"]["aborted"] == 0


def _two_zones(spine=None) -> dict:
    data = {
        "seed": 1,
        "fleet": {
            "zone": "z-a",
            "host": {"vcpus": 8, "memory": "32GiB", "nic": "10Gbit/s"},
            "racks": [
                {"name": "a", "count": 2, "hosts": 1, "zone": "z-a"},
                {"name": "b", "count": 2, "hosts": 4, "zone": "z-b"},
            ],
            "vm_list": [
                {"name": "vm-1", "host": "a1-h1", "memory": "24GiB", "workload": "idle"},
                {"name": "filler", "host": "a2-h1", "memory": "24GiB", "workload": "idle"},
                {"name": "vm-2", "host": "b1-h1", "memory": "4GiB", "workload": "idle"},
            ],
        },
        "events": [
            {
                "kind": "kernel_upgrade",
                "scope": {"hosts": ["a1-h1", "b1-h1"]},
                "max_hosts_in_maintenance": "100%",
            },
        ],
    }
    if spine:
        data["fleet"]["spine"] = spine
    return data


def test_a_full_zone_does_not_spill_into_another_zone_with_room():
    events = []
    run = FleetRun(parse_scenario(_two_zones()), events.append).run()
    moved = {e["vm"]: e for e in events if e["kind"] == "migration_start"}
    assert "vm-1" not in moved  # z-a's other host is full; z-b's eight empty hosts do not count
    assert run.records[0].outcome == "stuck"
    assert moved["vm-2"]["target"].startswith("b")


def test_each_zone_has_its_own_spine():
    data = _two_zones(spine="100Gbit/s")
    data["fleet"]["vm_list"][1]["memory"] = "1GiB"  # room in z-a now
    run = FleetRun(parse_scenario(data)).run()
    assert {"spine", "z-a/spine", "z-b/spine"} & set(run.network.links) == {
        "z-a/spine",
        "z-b/spine",
    }


def test_an_event_naming_an_unknown_zone_is_refused_with_its_path():
    data = _two_zones()
    data["events"][0]["scope"] = {"zones": ["z-c"]}
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data)
    assert error.value.path == "events[0].scope.zones"
    assert "z-a, z-b" in str(error.value)
