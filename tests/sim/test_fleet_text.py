"""The one scenario text reader: files, presets, uploads and rehearsals all read text here."""

import pytest

from migrationsim.fleet import ScenarioError
from migrationsim.fleet.text import (
    MAX_SCENARIO_CHARS,
    PRESET_NAMES,
    dumps_yaml,
    load_scenario,
    parse_text,
    preset_scenario,
    read_text,
    scenario_size,
)

TINY_YAML = (
    "fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, mix: {idle: 1}}\n"
    "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
)


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as error:
        call(*args, **kwargs)
    assert error.value.path == "scenario"
    return error.value.message


def test_it_reads_json_and_yaml_to_the_same_data():
    expected = {"seed": 3, "name": "x"}
    assert read_text('{"seed": 3, "name": "x"}') == read_text("seed: 3\nname: x\n") == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"fleet": [1, 2', "not valid JSON"),
        ("fleet: [1, 2", "not valid YAML"),
        ("fleet: {}\x00", "not text (it holds NUL bytes)"),
        ("[" * 100_000 + "]" * 100_000, "the JSON nests 100,000 levels deep; at most 20"),
        ('{"seed": ' + "9" * 5000 + "}", "not valid JSON: Exceeds the limit"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ],
)
def test_text_it_cannot_read_is_a_scenario_error_on_the_path_scenario(text, words):
    assert refusal(read_text, text).startswith(words)


def test_a_file_is_named_in_the_message(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"fleet": [1, 2')
    assert refusal(load_scenario, str(path)).startswith("bad.json is not valid JSON")


def test_an_upload_is_capped_then_validated_and_comes_back_without_nulls():
    assert (
        refusal(parse_text, "#" * (MAX_SCENARIO_CHARS + 1))
        == f"at most {MAX_SCENARIO_CHARS:,} characters"
    )
    data = parse_text(TINY_YAML.replace("fleet:", "seed: null\nfleet:"))
    assert "seed" not in data and scenario_size(data) == (2, 4)
    with pytest.raises(ScenarioError) as error:
        parse_text(TINY_YAML, max_list=0)
    assert error.value.path == "fleet.racks"


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_a_preset_written_as_yaml_reads_back_the_same(name):
    data = preset_scenario(name)
    assert read_text(dumps_yaml(data)) == data
    assert load_scenario(name).raw == data
