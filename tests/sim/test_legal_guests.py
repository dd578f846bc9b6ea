"""Every guest a real hypervisor can hold is accepted and simulated (issue 15, section 2):
no writes, every page zero, no device state, instant resume; the impossible is refused with
the parameter named."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrationsim import InvalidParameter, build_spec, simulate
from migrationsim.cli import main
from migrationsim.layout import layout_regions

GIB = 1024**3


def one_pass_wire_bytes(spec):
    return sum(r.pages * r.wire_cost_bytes for r in layout_regions(spec))


@pytest.mark.parametrize(
    "params",
    [
        {"dirty_rate": "0B/s", "working_set": "0B"},
        {"zero_fraction": 1},
        {"zero_fraction": "1", "dirty_rate": 0},
        {"dirty_rate": 0, "device_state": 0, "resume_time": 0},
        {"memory": 4096, "dirty_rate": 0},
        {"memory": 4096, "workload": "muncher"},
    ],
)
@pytest.mark.parametrize("policy", ["qemu", "textbook", "xen", "gce"])
@pytest.mark.parametrize("resolution", ["fluid", "pages"])
def test_edge_guests_are_accepted_and_migrate(params, policy, resolution):
    spec = build_spec(**{"memory": "64MiB", **params}, policy=policy, resolution=resolution)
    r = simulate(spec).to_dict()
    assert r["outcome"] == "migrated"
    assert r["bytes_sent"] >= one_pass_wire_bytes(spec) * (1 - 1e-9)
    assert r["blackout_s"] >= spec.resume_time_s


def test_an_all_zero_guest_sends_nine_bytes_a_page_and_nothing_in_the_blackout():
    r = simulate(build_spec(memory="1GiB", zero_fraction=1)).to_dict()
    assert r["converged"] and r["final_bytes"] == 0
    assert r["bytes_sent"] == pytest.approx(GIB // 4096 * 9 + 2 * 1024**2)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"dirty_rate": "10MB/s", "working_set": "0B"}, "working_set"),
        ({"zero_fraction": 1, "dirty_rate": "1MB/s"}, "dirty_rate"),
        ({"zero_fraction": 1, "workload": "web"}, "zero_fraction"),
        ({"zero_fraction": 1.01}, "zero_fraction"),
        ({"working_set": "-1B"}, "working_set"),
        ({"device_state": "-1MiB"}, "device_state"),
        ({"resume_time": "-1ms"}, "resume_time"),
    ],
)
def test_impossible_guests_are_refused_naming_the_parameter(params, field):
    with pytest.raises(InvalidParameter) as error:
        build_spec(**params)
    assert error.value.field == field


@pytest.mark.parametrize(
    "args",
    [
        ["--dirty-rate", "0B/s", "--working-set", "0B"],
        ["--zero-fraction", "1"],
        ["--dirty-rate", "0", "--device-state", "0", "--resume-time", "0"],
    ],
)
def test_the_cli_answers_for_the_edge_guests(args, capsys):
    assert main(["migrate", *args, "--json"]) == 0
    assert '"outcome": "migrated"' in capsys.readouterr().out


@st.composite
def legal_guests(draw):
    resolution = draw(st.sampled_from(["fluid", "pages"]))
    policy = draw(st.sampled_from(["textbook", "qemu", "xen", "gce"]))
    pages_cap = 16 * 1024**2 // 4096 if resolution == "pages" else 64 * GIB // 4096
    memory = draw(st.integers(min_value=1, max_value=pages_cap)) * 4096
    zero = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(min_value=0.0, max_value=1.0)))
    writable = memory * (1.0 - zero)  # as build_spec counts it
    rate = draw(st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=40e9)))
    working_set = draw(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1.0))) * writable
    if rate > 0 and working_set < 4096:
        working_set = writable if writable >= 4096 else 0.0
        if working_set == 0.0:
            rate = 0.0
    bandwidth = draw(st.floats(min_value=1e6 / 8, max_value=100e9 / 8))
    params = dict(
        resolution=resolution,
        policy=policy,
        memory=memory,
        zero_fraction=zero,
        dirty_rate=rate,
        working_set=working_set,
        write_pattern=draw(st.sampled_from(["random", "sequential"])),
        dirty_model=draw(st.sampled_from(["saturating", "linear"])),
        bandwidth=bandwidth,
        # the thread's time per page: none, or up to a written page's time on the link
        page_time=draw(st.sampled_from([0.0, 0.0, 0.01, 0.3, 1.0])) * 4096 / bandwidth,
        max_bandwidth=draw(st.sampled_from(["policy", "none", "32MiB/s", "10Gbit/s"])),
        downtime_limit=draw(st.floats(min_value=1e-3, max_value=5.0)),
        completion_timeout=draw(st.floats(min_value=1.0, max_value=300.0)),
        timeout_action=draw(st.sampled_from(["abort", "force-complete"])),
        device_state=draw(st.sampled_from([0, 4096, 2 * 1024**2, 64 * 1024**2])),
        resume_time=draw(st.sampled_from([0.0, 0.001, 0.02])),
        layout=draw(st.sampled_from(["hot,cold,zero", "zero,hot,cold", "cold,zero,hot"])),
        seed=draw(st.integers(min_value=0, max_value=3)),
    )
    if policy in ("qemu", "gce"):
        params["auto_converge"] = draw(st.booleans())
        params["post_copy"] = draw(st.booleans())
        if draw(st.booleans()):
            params["timeout_action"] = "post-copy"
    return params


def numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legal_guests())
def test_every_legal_guest_ends_with_finite_consistent_figures(params):
    spec = build_spec(**params)
    r = simulate(spec).to_dict()
    assert all(math.isfinite(x) and x >= 0 for x in numbers(r))
    live = [x for x in r["rounds"] if x["phase"] == "live"]
    final = [x for x in r["rounds"] if x["phase"] == "final"]
    assert len(live) == r["live_rounds"] or r.get("rounds_summarised")
    live_bytes = sum(x["bytes"] * x.get("repeat", 1) for x in live)
    live_s = sum(x["duration_s"] * x.get("repeat", 1) for x in live)
    assert live_s == pytest.approx(r["precopy_time_s"], rel=1e-9, abs=1e-9)
    if r["outcome"] == "aborted":
        assert r["blackout_s"] == 0 and r["final_bytes"] == 0
        assert r["bytes_sent"] == pytest.approx(live_bytes, rel=1e-9, abs=1e-6)
        return
    postcopy = r["postcopy"]["bytes"] if r["postcopy"] else 0.0
    assert r["bytes_sent"] == pytest.approx(
        live_bytes + r["final_bytes"] + postcopy + spec.device_state_bytes, rel=1e-9, abs=1e-6
    )
    assert sum(x["bytes"] for x in final) == pytest.approx(r["final_bytes"])
    assert r["bytes_sent"] >= one_pass_wire_bytes(spec) * (1 - 1e-9)
    assert r["blackout_s"] >= spec.resume_time_s
