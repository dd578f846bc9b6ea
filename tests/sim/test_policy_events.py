"""The events that show a convergence aid doing its job: auto-converge's throttle on every round,
post-copy's phase and its progress (remote page faults, pages fetched on demand)."""

import pytest

from migrationsim import build_spec, simulate, stream

# A 4 GiB cache dirtying 150 MB/s against QEMU's 128 MiB/s cap: the anatomy page's showcase.
CACHE = {"memory": "4GiB", "workload": "cache", "bandwidth": "10Gbit/s", "policy": "qemu"}
MUNCHER = {"memory": "2GiB", "workload": "muncher", "bandwidth": "10Gbit/s", "policy": "qemu"}


def events_of(**params):
    return list(stream(build_spec(**params), memory_map_cells=16))


def test_every_round_carries_the_throttle_auto_converge_set_and_it_climbs_by_qemus_steps():
    events = events_of(**CACHE, auto_converge=True)
    live = [e for e in events if e["kind"] == "round" and e["phase"] == "live"]
    steps = sorted({round(e["throttle"], 6) for e in live})
    assert steps[0] == 0.0  # nothing is throttled before two qualifying periods
    assert steps[1:] == [pytest.approx(0.2 + 0.1 * i) for i in range(len(steps) - 1)]
    throttles = [e["throttle"] for e in live]
    assert throttles == sorted(throttles)  # auto-converge only ever raises it
    assert max(throttles) == events[-1]["result"]["throttle_max"]


def test_without_auto_converge_no_round_is_throttled():
    events = events_of(**CACHE)
    assert {e["throttle"] for e in events if e["kind"] == "round"} == {0.0}


def post_copy_run(**params):
    events = events_of(**params, post_copy=True)
    result = events[-1]["result"]
    samples = [e for e in events if e["kind"] == "postcopy"]
    band = {e["kind"]: e["t_s"] for e in events if e.get("phase") == "post_copy"}
    brownout = next(p for p in result["phases"] if p["name"] == "post_migration_brownout")
    return result, samples, band, brownout


def test_post_copy_has_its_phase_from_the_resume_on_the_target_until_the_last_page():
    result, samples, band, brownout = post_copy_run(**MUNCHER)
    assert band["phase_start"] == brownout["start_s"]
    assert band["phase_end"] == pytest.approx(
        brownout["start_s"] + result["postcopy"]["duration_s"]
    )
    assert band["phase_end"] <= brownout["end_s"]
    assert samples[0]["t_s"] == band["phase_start"] and samples[-1]["t_s"] == band["phase_end"]


def test_pages_fetched_on_demand_add_up_to_the_runs_remote_faults():
    result, samples, _, _ = post_copy_run(**MUNCHER)
    fetched = [s["fetched_on_demand_pages"] for s in samples]
    pushed = [s["pushed_pages"] for s in samples]
    assert fetched == sorted(fetched) and pushed == sorted(pushed)
    assert fetched[0] == 0.0 and pushed[0] == 0.0
    assert fetched[-1] == pytest.approx(result["postcopy"]["faults"], rel=1e-9)
    assert pushed[-1] == pytest.approx(result["postcopy"]["pages"], rel=1e-9)


def test_the_fault_rate_is_the_slope_of_the_pages_fetched_on_demand():
    _, samples, _, _ = post_copy_run(**MUNCHER)
    area = sum(
        (b["t_s"] - a["t_s"]) * (a["faults_per_s"] + b["faults_per_s"]) / 2
        for a, b in zip(samples, samples[1:], strict=False)
    )
    assert area == pytest.approx(samples[-1]["fetched_on_demand_pages"], rel=0.02)
    assert samples[0]["faults_per_s"] > samples[len(samples) // 2]["faults_per_s"] > 0
    assert samples[-1]["faults_per_s"] == 0.0  # the last page has arrived


def test_a_migration_that_converges_before_post_copy_has_no_post_copy_events():
    events = events_of(memory="2GiB", workload="idle", post_copy=True)
    assert events[-1]["result"]["postcopy"] is None
    assert not [e for e in events if e["kind"] == "postcopy" or e.get("phase") == "post_copy"]


def test_the_post_copy_events_tell_the_same_story_as_simulate():
    params = {**MUNCHER, "post_copy": True}
    assert events_of(**params)[-1]["result"] == simulate(build_spec(**params)).to_dict()


def test_post_copy_maps_the_pages_still_on_the_source_until_none_is_left():
    """The memory grid during post-copy: the pending pages at the switch, cell by cell, times
    the share still only on the source; empty once the last page has arrived."""
    events = events_of(**MUNCHER, post_copy=True)
    result = events[-1]["result"]
    live = [e for e in events if e["kind"] == "round" and e["phase"] == "live"]
    samples = [e for e in events if e["kind"] == "postcopy"]
    mapped = [s for s in samples if "memory_map" in s]
    assert mapped[0] is samples[0] and mapped[-1] is samples[-1] and len(mapped) >= 5
    on_source = [s["on_source_pages"] for s in samples]
    assert on_source[0] == pytest.approx(result["postcopy"]["pages"])
    assert on_source == sorted(on_source, reverse=True) and on_source[-1] == 0.0
    # what pre-copy left dirty: the map of its last round, when that round carried one
    if "memory_map" in live[-1]:
        assert mapped[0]["memory_map"] == pytest.approx(live[-1]["memory_map"])
    totals = [sum(s["memory_map"]) for s in mapped]
    assert totals == sorted(totals, reverse=True) and totals[0] > 0 and totals[-1] == 0.0
    for s in mapped:
        share = s["on_source_pages"] / on_source[0]
        assert s["memory_map"] == pytest.approx([v * share for v in mapped[0]["memory_map"]])


def test_pages_still_on_the_source_are_those_neither_pushed_nor_fetched():
    _, samples, _, _ = post_copy_run(**MUNCHER)
    pages = samples[0]["on_source_pages"]
    for s in samples:
        arrived = pages - s["on_source_pages"]
        assert arrived >= s["pushed_pages"] - 1e-6 * pages  # every pushed page has arrived
        assert arrived <= s["pushed_pages"] + s["fetched_on_demand_pages"] + 1e-6 * pages
