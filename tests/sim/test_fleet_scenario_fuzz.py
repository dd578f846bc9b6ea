"""Hostile scenario files: anything that is not a valid scenario is a ScenarioError, never a crash."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrationsim.fleet import ScenarioError, load_scenario, parse_scenario

from .fleet_support import scenario

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@SETTINGS
@given(json_values)
def test_any_json_value_is_accepted_or_refused_with_a_path(data):
    try:
        parse_scenario(data)
    except ScenarioError as error:
        assert error.path and error.message


FIELDS = [
    ("fleet", "racks", 0, "hosts"),
    ("fleet", "racks", 0, "uplink"),
    ("fleet", "host", "memory"),
    ("fleet", "vms", "per_host"),
    ("fleet", "vms", "memory"),
    ("caps", "per_source_host"),
    ("caps", "headroom"),
    ("policy", "downtime_limit"),
    ("policy", "max_bandwidth"),
    ("events", 0, "deadline"),
    ("events", 0, "start"),
    ("events", 0, "max_hosts_in_maintenance"),
    ("network", "migration_share"),
    ("seed",),
]


def put(data, path, value):
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value


@SETTINGS
@given(st.sampled_from(FIELDS), json_values)
def test_a_wrong_value_in_any_field_is_refused_with_that_fields_path_or_accepted(path, value):
    data = scenario(mix={"per_host": 2, "mix": {"idle": 1}})
    put(data, path, value)
    try:
        parse_scenario(data)
    except ScenarioError as error:
        assert error.path and error.message


HOSTILE = {
    "deep-json-list": "[" * 100_000 + "]" * 100_000,
    "deep-json-object": "{" + '"a":{' * 50_000 + "}" * 50_001,
    "deep-yaml": "a: " + "[" * 50_000 + "]" * 50_000,
    "yaml-alias-loop": "&a [*a, *a]",
    "yaml-code-tag": "!!python/object/apply:os.system ['true']",
    "yaml-binary": "fleet: !!binary aGVsbG8=",
    "huge-number": '{"fleet": {"racks": [{"hosts": 1e400}]}}',
    "nul-bytes": "\x00\x01\x02",
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_text_is_refused_cleanly(text):
    with pytest.raises(ScenarioError):
        load_scenario(text)


def test_a_billion_vms_is_refused_before_anything_is_built():
    data = scenario(mix={"per_host": 1000})
    data["fleet"]["racks"][0].update(count=1000, hosts=1000)
    with pytest.raises(ScenarioError):
        parse_scenario(data)
    assert json.dumps(data)  # the input itself was fine JSON
