"""The plan (dry run) of a maintenance: who migrates, who is terminated and why, the waves,
the capacity check per wave and the ETA, as the web's plan page and ``--plan`` show them."""

import copy

from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.plan import plan
from migrationsim.fleet.text import preset_scenario

from .fleet_support import PLAN_EVENT_KEYS, PLAN_KEYS, TINY


def tiny():
    return copy.deepcopy(TINY)


def test_the_plan_has_exactly_the_keys_the_pages_read():
    result = plan(preset_scenario("bios-rollout"))
    assert set(result) == PLAN_KEYS
    assert all(set(event) == PLAN_EVENT_KEYS for event in result["events"])
    assert set(result["events"][0]["waves"][0]) == {
        "wave",
        "hosts",
        "vms",
        "names",
        "more",
        "predicted",
    }
    assert {"name", "sentence", "table"} <= set(result["binding_limit"])


def test_the_plan_counts_who_migrates_and_who_is_terminated_and_why():
    result = plan(preset_scenario("demo"))
    run = FleetStream(preset_scenario("demo"), bucket_s=60)
    list(run.frames())
    in_scope = [r for r in run.run.records if r.outcome != "unaffected"]
    assert result["vms_in_scope"] == len(in_scope) == result["migrate"] + result["terminate_total"]
    assert result["terminate"] == {"gpu": 2, "spot": 2, "terminate_policy": 0}
    assert result["migrate"] == sum(1 for r in in_scope if r.outcome == "migrated")


def test_the_plan_lists_the_waves_the_engine_will_use():
    result = plan(preset_scenario("demo"))
    (event,) = result["events"]
    assert [w["names"] for w in event["waves"]] == [
        ["rack1-h1", "rack1-h2"],
        ["rack1-h3", "rack1-h4"],
    ]


def test_small_fleets_get_an_eta_range_from_the_engine_on_three_seeds():
    result = plan(tiny())
    assert result["eta_method"].startswith("engine")
    assert result["eta_low_s"] <= result["eta_s"] <= result["eta_high_s"]
    real = FleetStream(tiny(), bucket_s=60)
    list(real.frames())
    assert result["eta_low_s"] <= real.run.makespan_s <= result["eta_high_s"]


def test_the_plan_says_in_words_when_a_wave_cannot_be_placed():
    data = tiny()
    data["fleet"]["vms"]["per_host"] = 20  # the hosts are full
    data["fleet"]["vms"]["memory"] = ["6GiB", "6GiB"]
    data["events"][0]["scope"] = {"zone": True}
    data["events"][0]["max_hosts_in_maintenance"] = 3
    result = plan(data)
    assert result["capacity"] and "GiB of memory" in result["capacity"][0]["reasons"][0]
    assert result["not_placed"] > 0 and result["not_placed_reasons"]


def test_the_in_flight_series_counts_migrations_that_start_and_end_between_two_frames():
    """A frame every hour, migrations of seconds: the compare chart's "in flight" line is the
    most in flight during each frame, never the count at its end (which is 0 there)."""
    stream = FleetStream(preset_scenario("demo"), bucket_s=3600.0)
    frames = list(stream.frames())
    peak = stream.run.peak_concurrent
    assert peak > 0
    assert max(stream.series["migrating"]) == peak
    assert max(stream.compare_series(max_points=2)["migrating"]) == peak  # kept when thinned
    assert frames[-1]["counts"]["migrating"] == 0
