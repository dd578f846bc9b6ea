"""Rehearsing maintenance in real time: the live notice rule, ETags, hanging GETs."""

import asyncio

import pytest

from migrationsim.fleet import parse_scenario
from migrationsim.fleet.realtime import MetadataBoard, Rehearsal

from .fleet_support import scenario


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def rehearsal(**kw):
    clock = FakeClock()
    data = scenario(
        hosts=2,
        vms=[("poller", "r1-h1", "2GiB", "idle"), ("silent", "r1-h1", "2GiB", "idle")],
        caps={"per_source_host": 2},
        **kw,
    )
    return Rehearsal(parse_scenario(data), clock=clock, start_events=False), clock


def test_a_guest_that_polled_gets_60_s_of_notice_and_one_that_never_polled_gets_none():
    r, clock = rehearsal()
    assert r.poll("poller") == ("NONE", r.board.get("poller")[1])
    clock.t = 5
    r.simulate_maintenance_event("poller")  # the whole host: both VMs must leave
    r.tick()
    starts = {e["vm"]: e["t_s"] for e in r.playback.events if e["kind"] == "migration_start"}
    assert starts == {"silent": 5.0}  # no warning: it never read the key
    assert r.poll("poller")[0] == "MIGRATE_ON_HOST_MAINTENANCE"
    clock.t = 64.9
    r.tick()
    assert "poller" not in {e["vm"] for e in r.playback.events if e["kind"] == "migration_start"}
    clock.t = 65.0
    r.tick()
    starts = {e["vm"]: e["t_s"] for e in r.playback.events if e["kind"] == "migration_start"}
    assert starts["poller"] == pytest.approx(65.0)  # exactly 60 s after the notice


def test_the_key_returns_to_none_when_the_vm_has_moved():
    r, clock = rehearsal()
    r.poll("silent")
    r.simulate_maintenance_event("silent")
    values = []
    for t in range(0, 400, 5):
        clock.t = t
        values.append(r.poll("silent")[0])
    assert values[0] == "MIGRATE_ON_HOST_MAINTENANCE" and values[-1] == "NONE"


def test_the_etag_changes_exactly_when_the_value_changes():
    board = MetadataBoard(["a"])
    _, first = board.get("a")
    assert board.set("a", "NONE") is False and board.get("a")[1] == first
    assert board.set("a", "MIGRATE_ON_HOST_MAINTENANCE") is True
    _, second = board.get("a")
    assert second != first
    board.set("a", "NONE")
    assert board.get("a")[1] not in (first, second)  # a new event, a new tag


def test_a_hanging_get_returns_on_change_and_on_timeout():
    async def scenario_():
        board = MetadataBoard(["a"])
        _, etag = board.get("a")
        timed_out = await board.wait_for_change("a", etag, timeout_s=0.05)
        assert timed_out == ("NONE", etag)
        waiter = asyncio.ensure_future(board.wait_for_change("a", etag, timeout_s=5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        board.set("a", "MIGRATE_ON_HOST_MAINTENANCE")
        value, new_tag = await asyncio.wait_for(waiter, 1)
        assert value == "MIGRATE_ON_HOST_MAINTENANCE" and new_tag != etag
        # an old ETag answers at once
        assert await board.wait_for_change("a", etag, timeout_s=5) == (value, new_tag)

    asyncio.run(scenario_())


def test_playback_follows_the_clock_at_the_chosen_speed():
    clock = FakeClock()
    data = scenario(vms=[("a", "r1-h1", "2GiB", "idle")])
    r = Rehearsal(parse_scenario(data), speed=10.0, clock=clock)
    r.tick()
    assert [e["kind"] for e in r.playback.events][:3] == [
        "maintenance_start",
        "host_scheduled",
        "notice",
    ]
    assert not any(e["kind"] == "precopy_start" for e in r.playback.events)
    clock.t = 0.25  # 2.5 simulated seconds: target setup (2 s) is over
    r.tick()
    assert any(e["kind"] == "precopy_start" for e in r.playback.events)
    assert r.playback.seconds_to_next() is not None


def test_a_simulated_maintenance_operation_is_done_when_its_host_is_back():
    r, clock = rehearsal()
    r.poll("poller")
    operation = r.simulate_maintenance_event("poller")
    assert operation["status"] == "RUNNING"
    back_at = None
    for t in range(0, 600, 5):
        clock.t = t
        r.tick()
        if back_at is None and any(e["kind"] == "host_back" for e in r.playback.events):
            back_at = t
        if operation["status"] == "DONE":
            break
    assert back_at is not None and operation["status"] == "DONE" and operation["progress"] == 100
    done = [e for e in r.playback.events if e["kind"] == "maintenance_done"]
    assert operation["endTime_s"] == done[-1]["t_s"] >= 60.0  # the host was down 60 s


def test_playing_a_rehearsal_wakes_a_hanging_get_when_the_notice_arrives():
    async def scenario_():
        data = scenario(hosts=2, vms=[("a", "r1-h1", "2GiB", "idle")])
        r = Rehearsal(parse_scenario(data), speed=100.0, start_events=False)
        _, etag = r.poll("a")
        pending = lambda: not r.operations or r.operations[-1]["status"] != "DONE"  # noqa: E731
        player = asyncio.ensure_future(r.play(max_sleep_s=0.01, keep_alive=pending))
        waiter = asyncio.ensure_future(r.wait("a", etag, timeout_s=5))
        await asyncio.sleep(0.02)
        r.simulate_maintenance_event("a")
        value, _ = await asyncio.wait_for(waiter, 2)
        assert value == "MIGRATE_ON_HOST_MAINTENANCE"
        await asyncio.wait_for(player, 10)  # the simulated maintenance is done: play returns
        assert r.board.get("a")[0] == "NONE"

    asyncio.run(scenario_())
