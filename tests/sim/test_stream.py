"""`stream`: the events a web worker publishes while the model runs."""

import pytest

from migrationsim import build_spec, simulate, stream

PHASES = [
    "guest_notice",
    "target_setup",
    "pre_migration_brownout",
    "blackout",
    "post_migration_brownout",
    "cleanup",
]


def events_of(**params):
    return list(stream(build_spec(**params), memory_map_cells=256))


def test_events_come_in_simulated_time_order_and_end_with_the_summary():
    events = events_of(workload="web", guest_watches=True)
    times = [e["t_s"] for e in events]
    assert times == sorted(times)
    assert events[-1]["kind"] == "summary"


def test_the_summary_is_the_same_result_simulate_returns():
    params = {"workload": "oltp", "memory": "2GiB", "resolution": "pages", "seed": 3}
    assert events_of(**params)[-1]["result"] == simulate(build_spec(**params)).to_dict()


def test_every_phase_starts_and_ends_in_order_with_an_explanation():
    events = events_of(workload="web")
    starts = [e for e in events if e["kind"] == "phase_start"]
    ends = [e["phase"] for e in events if e["kind"] == "phase_end"]
    assert [e["phase"] for e in starts] == PHASES == ends
    assert all(len(e["explain"]) > 40 for e in starts)


def test_rounds_carry_a_square_memory_map_that_empties_as_pages_are_sent():
    events = events_of(workload="web", memory="1GiB", resolution="pages")
    rounds = [e for e in events if e["kind"] == "round"]
    assert all(len(r["memory_map"]) == 256 and r["memory_map_width"] == 16 for r in rounds)
    assert all(0.0 <= x <= 1.0 for r in rounds for x in r["memory_map"])
    assert sum(rounds[0]["memory_map"]) > sum(rounds[-2]["memory_map"]) > 0
    assert sum(rounds[-1]["memory_map"]) == 0  # after the final copy nothing is dirty


def test_the_notice_turns_on_at_the_trigger_and_back_to_none_at_the_end():
    notices = [e for e in events_of(guest_watches=True) if e["kind"] == "notice"]
    assert [(n["value"], n["lead_s"]) for n in notices] == [
        ("MIGRATE_ON_HOST_MAINTENANCE", 60.0),
        ("NONE", 0.0),
    ]


def test_forwarded_packets_grow_during_the_post_migration_brownout():
    events = events_of(workload="web", packet_rate=20_000, fabric_convergence="2s")
    counts = [e["forwarded_packets"] for e in events if e["kind"] == "forwarding"]
    assert counts == sorted(counts) and counts[-1] == pytest.approx(40_000)
    assert len([e for e in events if e["kind"] == "announce"]) == 5


def test_an_aborted_migration_has_no_blackout_and_says_why_in_cleanup():
    events = events_of(workload="muncher", memory="1GiB")
    phases = [e["phase"] for e in events if e["kind"] == "phase_start"]
    assert phases == ["guest_notice", "target_setup", "pre_migration_brownout", "cleanup"]
    assert "source" in [e for e in events if e.get("phase") == "cleanup"][0]["explain"]
    assert events[-1]["result"]["outcome"] == "aborted"


def test_post_copy_runs_show_a_blackout_without_a_final_round():
    events = events_of(workload="cache", post_copy=True)
    starts = [e["phase"] for e in events if e["kind"] == "phase_start"]
    # post-copy runs inside the post-migration brownout, from its start
    assert starts == PHASES[:5] + ["post_copy"] + PHASES[5:]
    assert all(e["phase"] == "live" for e in events if e["kind"] == "round")


def test_a_run_that_syncs_for_minutes_keeps_its_stream_small():
    events = list(stream(build_spec(workload="ingest", memory="4GiB"), memory_map_cells=64))
    rounds = [e for e in events if e["kind"] == "round"]
    with_map = [e for e in rounds if "memory_map" in e]
    # QEMU re-syncs every 100 ms window just above the threshold: thousands of rounds, the
    # steady ones summarised as one event with ``repeat``
    assert sum(e["repeat"] for e in rounds) == events[-1]["result"]["live_rounds"] > 1000
    assert len(with_map) < 50 + 700  # the first 50, then at most one a simulated second
    assert all("memory_map" in e for e in rounds if e["index"] < 50)
    assert events[-1]["result"]["rounds_summarised"]


def test_a_pass_cut_a_hair_before_a_segments_end_still_draws_the_memory_map():
    # found by tests/sim/test_zero_page_accounting.py: the cut left a segment of no pages with
    # 2e-13 pending pages, and the map divided by its size
    params = {
        "memory": 64 * 1024**2,
        "zero_fraction": 0.5,
        "working_set": 16 * 1024**2,
        "dirty_rate": 3665271.0,
        "layout": "zero,hot,cold",
        "policy": "xen",
        "wire_format": "qemu",
        "bandwidth": "100Mbit/s",
    }
    events = list(stream(build_spec(**params), memory_map_cells=4))
    maps = [e["memory_map"] for e in events if "memory_map" in e]
    assert len(maps) > 2 and all(0.0 <= x <= 1.0 for m in maps for x in m)
