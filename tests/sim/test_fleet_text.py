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
        ('{"seed": ' + "9" * 5000 + "}", "not valid JSON: a number of 5,000 digits; at most 4,300"),
        ("seed: " + "9" * 5000 + "\n", "not readable: a number of 5,000 digits; at most 4,300"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ],
)
def test_text_it_cannot_read_is_a_scenario_error_on_the_path_scenario(text, words):
    assert refusal(read_text, text).startswith(words)


def test_a_number_too_long_to_read_says_how_long_not_what_python_would_need():
    """Python refuses an integer of over 4,300 digits with advice for programmers
    (``use sys.set_int_max_str_digits()``): the reader says the length and the limit."""
    for text in ('{"seed": ' + "9" * 5000 + "}", "seed: " + "9" * 5000 + "\n"):
        message = refusal(read_text, text)
        assert "5,000 digits; at most 4,300" in message
        assert "sys." not in message and "Exceeds" not in message


@pytest.mark.parametrize(
    "text, path",
    [
        ('{"name": "\\ud800"}', "name"),
        ('{"fleet": {"racks": [{"name": "r\\udc00"}]}}', "fleet.racks[0].name"),
        ('{"fleet": {"\\ud800x": 1}}', "fleet.\\ud800x"),  # a key, shown escaped
        ('{"\\ud800": 1, "\\ud800": 2}', "\\ud800"),  # not "the key ... is given twice"
        ('name: "\\ud800"\n', "scenario"),  # libyaml refuses the escape itself
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_path(text, path):
    """Python reads "\\ud800" (half a UTF-16 pair) but cannot write it as UTF-8: accepted, it
    made the CLI die with a traceback printing the summary and every page showing it a 500."""
    with pytest.raises(ScenarioError) as error:
        read_text(text)
    assert error.value.path == path
    assert "surrogate" in error.value.message or "invalid Unicode" in error.value.message


def test_a_character_written_as_a_surrogate_pair_is_read():
    assert read_text('{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_a_lone_surrogate_from_the_command_line_exits_2(tmp_path, capsys):
    from migrationsim.cli import main

    path = tmp_path / "s.json"
    path.write_text(
        '{"name": "\\ud800", "fleet": {"racks": [{"hosts": 2}]}, '
        '"events": [{"kind": "kernel_upgrade", "scope": {"zone": true}}]}'
    )
    assert main(["fleet", str(path)]) == 2
    assert "name: holds a lone surrogate" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    "text, path, words",
    [
        (
            "seed: 1\nname: x\nseed: 2\n",
            "seed",
            '"seed" is given twice (again on line 3, column 1)',
        ),
        (
            "fleet:\n  racks:\n    - {hosts: 2, vcpus: 8, hosts: 3}\n",
            "fleet.racks[0].hosts",
            '"hosts" is given twice (again on line 3, column 28)',
        ),
        ('{"seed": 1, "seed": 2}', "seed", '"seed" is given twice;'),
        (
            '{"fleet": {"racks": [{"hosts": 2}, {"hosts": 2, "hosts": 3}]}}',
            "fleet.racks[1].hosts",
            '"hosts" is given twice;',
        ),
        ("'seed': 1\nseed: 2\n", "seed", '"seed" is given twice'),  # one key, however quoted
        ("base: &b {a: 1, a: 2}\nx: *b\n", "base.a", '"a" is given twice'),  # where it is written
    ],
)
def test_a_key_given_twice_is_refused_on_its_path_not_the_last_one_kept(text, path, words):
    """YAML and JSON readers keep the last of two equal keys and say nothing: a scenario whose
    `seed: 2` further down silently replaced `seed: 1` ran with a seed nobody chose."""
    with pytest.raises(ScenarioError) as error:
        read_text(text)
    assert error.value.path == path
    assert words in error.value.message and "give each key once" in error.value.message


def test_a_key_given_twice_names_the_file_it_is_in(tmp_path):
    (tmp_path / "twice.yaml").write_text(TINY_YAML + "fleet: {}\n")
    (tmp_path / "twice.json").write_text('{"events": [], "events": []}')
    with pytest.raises(ScenarioError, match=r"again on line 5, column 1 of twice\.yaml"):
        load_scenario(str(tmp_path / "twice.yaml"))
    with pytest.raises(ScenarioError, match=r'^events: the key "events" .* \(in twice\.json\)'):
        load_scenario(str(tmp_path / "twice.json"))


def test_keys_a_yaml_merge_brings_in_may_be_given_again():
    """`<<: *base` then `hosts: 3` is YAML's way to override a merged key, not a key twice."""
    text = "base: &b {hosts: 2, vcpus: 8}\nrack:\n  <<: *b\n  hosts: 3\n"
    assert read_text(text)["rack"] == {"hosts": 3, "vcpus": 8}


def test_a_preset_is_read_once_per_process_and_every_caller_gets_a_copy_of_its_own(monkeypatch):
    """The fleet list shows every preset on every visit: the files are parsed once, not per page,
    and what one caller changes in its dict never reaches the next."""
    from migrationsim.fleet import text

    text._preset_json.cache_clear()
    reads = []
    real = text.load_scenario
    monkeypatch.setattr(text, "load_scenario", lambda name: reads.append(name) or real(name))
    first = preset_scenario("demo")
    first["name"] = "changed by a caller"
    first["fleet"]["racks"].clear()
    second = preset_scenario("demo")
    assert reads == ["demo"]
    assert second == load_scenario("demo").raw
    assert second["name"] != "changed by a caller" and second["fleet"]["racks"]
    text._preset_json.cache_clear()


@pytest.mark.parametrize(
    "text, path",
    [
        ('{"name": "a\\u0000b"}', "name"),
        ('{"fleet": {"vm_list": [{"name": "v\\u0000"}]}}', "fleet.vm_list[0].name"),
        ('{"fleet": {"k\\u0000": 1}}', "fleet.k\\0"),  # a key, shown escaped
        ('name: "x\\0y"\n', "name"),
        ('events: [{name: "x\\x00"}]\n', "events[0].name"),
    ],
)
def test_a_nul_written_as_an_escape_is_refused_naming_its_path(text, path):
    """A NUL written as JSON's \\u0000 or YAML's \\0 was read into the scenario (only a raw NUL
    byte was refused), and PostgreSQL's jsonb refuses \\u0000: storing the import was a 500."""
    with pytest.raises(ScenarioError) as error:
        read_text(text)
    assert error.value.path == path and "NUL character" in error.value.message
    assert "\x00" not in str(error.value)


def test_a_backslash_and_a_zero_that_are_not_a_nul_are_read():
    assert read_text('{"name": "a\\\\0", "b": "\\\\u0000"}') == {"name": "a\\0", "b": "\\u0000"}
