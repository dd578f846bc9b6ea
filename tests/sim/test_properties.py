"""Properties that hold for every valid input (hypothesis)."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from migrationsim import InvalidParameter, build_spec, simulate
from migrationsim.layout import layout_regions

GIB = 1024**3

policies = st.sampled_from(["textbook", "qemu", "xen", "gce"])


@st.composite
def migrations(draw):
    policy = draw(policies)
    memory = draw(st.integers(min_value=16 * 1024**2, max_value=16 * GIB))
    zero = draw(st.floats(min_value=0.0, max_value=0.9))
    params = dict(
        policy=policy,
        memory=memory,
        zero_fraction=zero,
        dirty_rate=draw(st.floats(min_value=0.0, max_value=20e9)),
        working_set=draw(st.floats(min_value=0.001, max_value=1.0)) * memory * (1 - zero),
        write_pattern=draw(st.sampled_from(["random", "sequential"])),
        dirty_model=draw(st.sampled_from(["saturating", "linear"])),
        bandwidth=draw(st.floats(min_value=10e6 / 8, max_value=100e9 / 8)),
        downtime_limit=draw(st.floats(min_value=0.001, max_value=5.0)),
        completion_timeout=draw(st.floats(min_value=1.0, max_value=300.0)),
        timeout_action=draw(st.sampled_from(["abort", "force-complete"])),
        device_state=draw(st.integers(min_value=0, max_value=64 * 1024**2)),
        resume_time=draw(st.floats(min_value=0.0, max_value=0.1)),
        layout=draw(st.sampled_from(["hot,cold,zero", "zero,hot,cold", "cold,zero,hot"])),
    )
    if policy in ("qemu", "gce"):
        params["auto_converge"] = draw(st.booleans())
        if draw(st.booleans()):
            params["timeout_action"] = "post-copy"
    assume(params["working_set"] >= 4096)
    return params


def one_pass_wire_bytes(spec):
    return sum(r.pages * r.wire_cost_bytes for r in layout_regions(spec))


def all_numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from all_numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from all_numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(migrations())
def test_every_output_number_is_finite_and_non_negative(params):
    result = simulate(build_spec(**params)).to_dict()
    assert all(math.isfinite(x) and x >= 0 for x in all_numbers(result))


@SETTINGS
@given(migrations())
def test_a_completed_migration_sends_all_memory_at_least_once(params):
    spec = build_spec(**params)
    result = simulate(spec).to_dict()
    assume(result["outcome"] == "migrated")
    assert result["bytes_sent"] >= one_pass_wire_bytes(spec) * (1 - 1e-9)


@SETTINGS
@given(migrations())
def test_blackout_is_never_shorter_than_the_resume_time(params):
    spec = build_spec(**params)
    result = simulate(spec).to_dict()
    assume(result["outcome"] == "migrated")
    assert result["blackout_s"] >= spec.resume_time_s


@SETTINGS
@given(migrations(), st.floats(min_value=1.0, max_value=10.0))
def test_more_bandwidth_never_makes_a_textbook_migration_longer(params, factor):
    params = {
        **params,
        "policy": "textbook",
        "timeout_action": "abort",
        "auto_converge": False,
        "completion_timeout": 1e6,
    }
    slow = simulate(build_spec(**params)).to_dict()
    fast = simulate(build_spec(**{**params, "bandwidth": params["bandwidth"] * factor})).to_dict()
    assert fast["total_time_s"] <= slow["total_time_s"] * (1 + 1e-9)


@pytest.mark.parametrize(
    "field, value",
    [
        ("memory", "-1GiB"),
        ("memory", "lots"),
        ("memory", "0"),
        ("memory", "1Gbit/s"),
        ("dirty_rate", "fast"),
        ("dirty_rate", "-5MB/s"),
        ("bandwidth", "0"),
        ("bandwidth", "10GiB"),
        ("downtime_limit", "0ms"),
        ("downtime_limit", "soon"),
        ("policy", "vmware"),
        ("zero_fraction", "1.5"),
        ("zero_fraction", "nan"),
        ("working_set", "64GiB"),
        ("completion_timeout", "0s"),
        ("timeout_action", "panic"),
        ("resolution", "atoms"),
        ("seed", "1.5x"),
        ("workload", "bitcoin"),
        ("max_bandwidth", "0"),
        ("layout", "hot,hot,cold"),
        ("write_pattern", "zigzag"),
        ("auto_converge", "maybe"),
        ("max_rounds", "0"),
    ],
)
def test_invalid_inputs_raise_an_error_that_names_the_field(field, value):
    with pytest.raises(InvalidParameter) as error:
        build_spec(**{field: value})
    assert error.value.field == field
    assert error.value.message


def test_unknown_parameters_are_named():
    with pytest.raises(InvalidParameter) as error:
        build_spec(bandwith="10Gbit/s")
    assert error.value.field == "bandwith"


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "memory",
                "dirty_rate",
                "bandwidth",
                "downtime_limit",
                "zero_fraction",
                "seed",
                "policy",
            ]
        ),
        st.one_of(
            st.text(max_size=12),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(10**12), max_value=10**12),
        ),
        max_size=4,
    )
)
def test_arbitrary_input_is_either_accepted_or_rejected_with_invalid_parameter(params):
    try:
        spec = build_spec(**params)
    except InvalidParameter as error:
        assert error.field in params
    else:
        assert spec.memory_bytes >= 4096 and spec.bandwidth_bps > 0
