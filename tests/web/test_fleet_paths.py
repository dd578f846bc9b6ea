"""Paths into a scenario dict: reading with the engine's defaults, writing into copies."""

from playground.fleets.paths import ABSENT, lookup, put, steps

DEFAULTS = {
    "fleet.vms.mix": {"web": 1.0},
    "fleet.vms.memory": ["1GiB", "16GiB"],
    "network.migration_share": 0.5,
}


def test_a_path_reads_like_the_engines_errors_write_it():
    assert steps("fleet.racks[0].count") == ("fleet", "racks", 0, "count")


def test_it_reads_the_engines_default_where_a_key_or_its_mapping_is_absent():
    scenario = {"fleet": {"vms": {}}}
    assert lookup(scenario, "network.migration_share", DEFAULTS) == 0.5
    assert lookup(scenario, "fleet.vms.mix.web", DEFAULTS) == 1.0
    assert lookup(scenario, "fleet.vms.mix.idle", DEFAULTS) is ABSENT
    assert lookup({"fleet": {"vms": {"mix": {"idle": 1}}}}, "fleet.vms.mix.web", DEFAULTS) is ABSENT


def test_a_single_value_stands_for_both_ends_of_a_pair():
    scenario = {"fleet": {"vms": {"memory": "4GiB"}}}
    assert lookup(scenario, "fleet.vms.memory[1]", DEFAULTS) == "4GiB"
    put(scenario, "fleet.vms.memory[1]", "8GiB", DEFAULTS)
    assert scenario["fleet"]["vms"]["memory"] == ["4GiB", "8GiB"]


def test_writing_into_a_defaulted_mapping_starts_from_the_default():
    scenario = {"fleet": {}}
    put(scenario, "fleet.vms.mix.idle", 0.5, DEFAULTS)
    assert scenario == {"fleet": {"vms": {"mix": {"web": 1.0, "idle": 0.5}}}}


def test_removing_a_key_removes_the_mappings_it_leaves_empty():
    scenario = {
        "name": "z",
        "events": [{"window": {"start": "1h"}}],
        "policy": {"name": "qemu", "post_copy": True},
    }
    put(scenario["events"][0], "window.start", ABSENT, DEFAULTS)
    put(scenario, "policy.post_copy", ABSENT, DEFAULTS)
    put(scenario, "caps.per_rack", ABSENT, DEFAULTS)
    assert scenario == {"name": "z", "events": [{}], "policy": {"name": "qemu"}}
