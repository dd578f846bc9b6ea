"""Frames of a region: zones, each with its racks summarised, and only the racks that changed."""

import copy

from migrationsim.fleet.frame_zones import RACK_FIELDS
from migrationsim.fleet.frames import FleetStream

from .fleet_support import TINY, small_region


def _frames(data: dict, bucket_s: float = 300) -> list[dict]:
    return list(FleetStream(data, bucket_s=bucket_s).frames())


def _racks_as_last_seen(frames: list[dict]) -> dict[str, list[int]]:
    state: dict[str, list[int]] = {}
    for frame in frames:
        state.update(frame["racks"])
    return state


def test_the_first_frame_lays_out_the_zones_and_their_racks_and_no_other_does():
    frames = _frames(small_region(3, 4))
    layout = frames[0]["layout"]
    assert [z["zone"] for z in layout] == ["region-1-a", "region-1-b", "region-1-c", "region-1-d"]
    assert [name for name, _ in layout[0]["racks"]] == ["a-r1", "a-r2", "a-r3"]
    assert all(hosts == 16 for z in layout for _, hosts in z["racks"])
    assert all("layout" not in f for f in frames[1:])
    assert set(frames[0]["racks"]) == {name for z in layout for name, _ in z["racks"]}


def test_a_frame_sends_only_the_racks_whose_state_changed():
    frames = _frames(small_region(3, 4))
    later = [len(f["racks"]) for f in frames[1:]]
    assert max(later) < 12 and min(later) == 0  # 12 racks; quiet frames send none


def test_zones_are_their_racks_summed_and_end_with_every_host_done():
    frames = _frames(small_region(3, 4))
    racks = {}
    for frame in frames:
        racks.update(frame["racks"])
        layout = frames[0]["layout"]
        for zone in layout:
            summed = [sum(racks[name][i] for name, _ in zone["racks"]) for i in range(5)]
            assert summed == [frame["zones"][zone["zone"]][f] for f in RACK_FIELDS]
    last = frames[-1]["zones"]
    assert all(z["scope"] == z["done"] == 48 for z in last.values())
    assert all(z["draining"] == z["maintenance"] == z["migrating"] == 0 for z in last.values())
    assert sum(z["done"] for z in last.values()) == frames[-1]["hosts"]["done"]


def test_one_zone_upgraded_at_a_time_shows_in_the_zones():
    frames = _frames(small_region(3, 4))
    busy = [
        {z for z, c in f["zones"].items() if c["draining"] or c["maintenance"] or c["migrating"]}
        for f in frames
    ]
    assert all(len(zones) <= 1 for zones in busy)
    assert [z for zones in busy for z in zones][0] == "region-1-a"


def test_a_fleet_of_one_zone_keeps_migrations_in_flight_per_rack():
    frames = _frames(copy.deepcopy(TINY), bucket_s=5)
    assert len(frames[0]["layout"]) == 1
    assert any(f["in_flight"] for f in frames)
    assert all(not f["in_flight"] for f in _frames(small_region(3, 4)))


def test_racks_by_zone_reads_the_racks_not_every_listed_vm(monkeypatch):
    """A results page grouped its racks by zone by parsing the whole scenario: 0.8 s of one
    request's CPU on every view of a run of 130,000 listed VMs (share links too). The racks
    and zones are read with the list cut to its first VM: the same rows."""
    from migrationsim.fleet import frame_zones, scenario

    data = small_region(2, 1)
    data["fleet"]["vm_list"] = [
        {"name": f"v{i}", "host": f"a-r{i % 2 + 1}-h1", "memory": "1GiB"} for i in range(5000)
    ]
    rows = [{"rack": "a-r1", "hosts": 16, "vms_now": 3}, {"rack": "b-r1", "hosts": 16}]
    expected = [
        {"zone": "region-1-a", "hosts": 16, "vms_now": 3, "migrated_out": 0, "racks": [rows[0]]},
        {"zone": "region-1-b", "hosts": 16, "vms_now": 0, "migrated_out": 0, "racks": [rows[1]]},
    ]
    listed = len(data["fleet"]["vm_list"])
    assert frame_zones.racks_by_zone(data, rows) == expected
    assert len(data["fleet"]["vm_list"]) == listed  # the stored scenario is left as it was
    seen = []
    real = scenario.parse_scenario
    monkeypatch.setattr(frame_zones, "parse_scenario", lambda d: seen.append(d) or real(d))
    frame_zones.racks_by_zone(data, rows)
    assert len(seen[0]["fleet"]["vm_list"]) == 1


def test_every_zone_an_event_names_is_in_scope_from_the_first_frame():
    """region: the page said "408 / 4,000 hosts" and "region-1-b 0 / 0 hosts done" beside a
    plan of 16,000 hosts in scope: hosts of events to come are in scope, waiting their turn."""
    frames = _frames(small_region(3, 4))
    first = frames[0]
    assert first["hosts"]["scope"] == 4 * 48 == frames[-1]["hosts"]["scope"]
    assert all(z["scope"] == 48 for z in first["zones"].values())
    assert all(state[0] == 16 for state in first["racks"].values())
