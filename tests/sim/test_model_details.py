"""Xen and GCE policies, the changing link, forwarding, units."""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.policies import XEN_MAX_RATE_BPS, XEN_START_RATE_BPS
from migrationsim.units import parse_bytes, parse_duration, parse_rate


def run(link_rate_changes=(), **params):
    return simulate(build_spec(**params), link_rate_changes=link_rate_changes).to_dict()


def test_xen_starts_at_100_mbit_and_adapts_to_the_dirty_rate_up_to_500_mbit():
    r = run(policy="xen", workload="web", memory="1GiB")
    live = [x for x in r["rounds"] if x["phase"] == "live"]
    assert live[0]["rate_bps"] == pytest.approx(XEN_START_RATE_BPS)
    assert all(x["rate_bps"] <= XEN_MAX_RATE_BPS * (1 + 1e-9) for x in live)
    expected = min(live[0]["dirty_bytes"] / live[0]["duration_s"] + 50e6 / 8, XEN_MAX_RATE_BPS)
    assert live[1]["rate_bps"] == pytest.approx(expected, rel=1e-6)
    assert r["rounds"][-1]["rate_bps"] == pytest.approx(1.25e9)  # stop-and-copy at link speed


def test_xen_stops_after_29_iterations_when_rounds_stop_shrinking():
    r = run(
        policy="xen",
        adaptive_rate=False,
        memory="1GiB",
        working_set="64MiB",
        dirty_rate="1GB/s",
        bandwidth="1Gbit/s",
    )
    assert r["stop_reason"] == "max_rounds" and r["live_rounds"] == 29


def test_xen_converges_when_fewer_than_50_pages_remain():
    r = run(policy="xen", workload="idle", memory="512MiB", dirty_rate=0)
    assert r["converged"] and r["stop_reason"] == "few_pages"


def test_gce_stops_at_diminishing_returns_instead_of_waiting_for_a_timeout():
    r = run(policy="gce", workload="cache", memory="4GiB", bandwidth="1Gbit/s")
    assert r["stop_reason"] == "diminishing_returns" and r["outcome"] == "migrated"
    assert r["precopy_time_s"] < 150  # far from the 600 s completion timeout
    pending = [x["pending_after_bytes"] for x in r["rounds"] if x["phase"] == "live"]
    assert pending[-1] > 0.9 * pending[-2]


def test_a_link_that_slows_down_mid_migration_takes_longer_and_rounds_follow_the_new_rate():
    steady = run(workload="web", policy="gce", memory="4GiB")
    slowed = run(workload="web", policy="gce", memory="4GiB", link_rate_changes=[(1.0, 0.3125e9)])
    assert slowed["precopy_time_s"] > 2.5 * steady["precopy_time_s"]
    first = slowed["rounds"][0]
    assert 0.3125e9 < first["rate_bps"] < 1.25e9  # one second fast, then slow
    assert slowed["rounds"][-1]["rate_bps"] == pytest.approx(0.3125e9)


def test_a_link_change_to_the_same_rate_changes_nothing():
    plain = run(workload="oltp", memory="2GiB")
    cut = run(workload="oltp", memory="2GiB", link_rate_changes=[(7.3, 1.25e9)])
    assert cut["total_time_s"] == pytest.approx(plain["total_time_s"], rel=1e-6)
    assert cut["bytes_sent"] == pytest.approx(plain["bytes_sent"], rel=1e-6)


def test_the_source_forwards_packets_until_the_fabric_converges():
    r = run(
        workload="web", packet_rate=20_000, fabric_convergence="1.5s", forwarding_latency="80us"
    )
    assert r["forwarded_packets"] == pytest.approx(30_000) and r["lost_packets"] == 0
    assert r["forwarding_latency_s"] == pytest.approx(80e-6)
    assert r["post_brownout_s"] == pytest.approx(1.5)


def test_without_forwarding_those_packets_are_lost():
    r = run(workload="web", packet_rate=20_000, fabric_convergence="1s", forwarding=False)
    assert r["forwarded_packets"] == 0 and r["lost_packets"] == pytest.approx(20_000)


def test_phases_are_consecutive_and_add_up_to_end_to_end():
    r = run(workload="web", guest_watches=True)
    phases = r["phases"]
    assert all(
        a["end_s"] == pytest.approx(b["start_s"]) for a, b in zip(phases, phases[1:], strict=False)
    )
    assert r["end_to_end_s"] == pytest.approx(sum(p["duration_s"] for p in phases))
    by_name = {p["name"]: p["duration_s"] for p in phases}
    assert by_name["pre_migration_brownout"] == pytest.approx(r["precopy_time_s"])
    assert by_name["blackout"] == pytest.approx(r["blackout_s"])


@pytest.mark.parametrize(
    "text, value",
    [
        ("4GiB", 4 * 1024**3),
        ("800MB", 800e6),
        ("512KiB", 512 * 1024),
        ("4096", 4096.0),
        ("1.5 GB", 1.5e9),
    ],
)
def test_sizes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize(
    "text, value",
    [
        ("10Gbit/s", 1.25e9),
        ("1.25GB/s", 1.25e9),
        ("128MiB/s", 128 * 1024**2),
        ("100Mbps", 12.5e6),
        ("200MB/s", 200e6),
        ("5e6", 5e6),
    ],
)
def test_rates(text, value):
    assert parse_rate(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text, value", [("300ms", 0.3), ("2s", 2.0), ("1.5min", 90.0), ("50us", 5e-5), ("7", 7.0)]
)
def test_durations(text, value):
    assert parse_duration(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "parse, text",
    [
        (parse_bytes, "4Gbit/s"),
        (parse_rate, "4GiB"),
        (parse_duration, "4GB"),
        (parse_bytes, "four"),
        (parse_rate, "-1MB/s"),
    ],
)
def test_units_that_do_not_fit_are_refused(parse, text):
    with pytest.raises(ValueError):
        parse(text)
