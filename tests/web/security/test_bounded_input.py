"""The bounded readers (``migrationsim.bounded``): JSON and YAML refused on size, nesting
and alias expansion before anything big is built, each refusal naming its limit in words."""

from __future__ import annotations

import time

import pytest

from migrationsim import bounded


def test_sizes_are_said_in_words():
    assert [bounded.size_in_words(n) for n in (1000, 262_144, 1 << 20, 2_621_440, 4 << 20)] == [
        "1,000 bytes",
        "256 KiB",
        "1 MiB",
        "2.5 MiB",
        "4 MiB",
    ]


def test_json_nesting_is_counted_outside_strings():
    assert bounded.json_depth(b'{"a": "[[[[{{{", "b": [[1]], "c": "\\"[["}') == 3
    assert bounded.json_depth(b"[]") == 1 and bounded.json_depth(b'"x"') == 0


def test_json_too_deep_is_refused_before_parsing_and_fast():
    started = time.monotonic()
    with pytest.raises(bounded.TooDeep) as refused:
        bounded.load_json(b"[" * 200_000 + b"]" * 200_000, max_bytes=1 << 20, max_depth=20)
    assert time.monotonic() - started < 0.5 and refused.value.status == 400
    assert refused.value.message == "the JSON nests 200,000 levels deep; at most 20 levels"


def test_json_too_big_is_a_413_in_words():
    with pytest.raises(bounded.TooLarge) as refused:
        bounded.load_json(b" " * 3000, max_bytes=2048, max_depth=20)
    assert refused.value.status == 413
    assert refused.value.message == "the body is 2.9 KiB; at most 2 KiB"


def test_json_within_the_bounds_is_read():
    assert bounded.load_json(b'{"a": [1, {"b": null}]}', max_bytes=100, max_depth=3) == {
        "a": [1, {"b": None}]
    }


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "}" * 3000,
        "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400)),
    ],
)
def test_yaml_too_deep_is_refused_within_100_ms(text):
    started = time.monotonic()
    with pytest.raises(bounded.TooDeep):
        bounded.load_yaml(text, max_depth=20, max_nodes=10_000)
    assert time.monotonic() - started < 0.1


def test_a_yaml_alias_bomb_is_refused_within_100_ms_without_being_built():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    started = time.monotonic()
    with pytest.raises(bounded.TooMany) as refused:
        bounded.load_yaml("\n".join(lines), max_depth=20, max_nodes=200_000)
    assert time.monotonic() - started < 0.1
    assert "expands to more than 200,000 values" in refused.value.message


def test_yaml_that_contains_itself_is_refused():
    with pytest.raises(bounded.TooMany, match="contains itself"):
        bounded.load_yaml("&a [1, *a]", max_depth=20, max_nodes=100)


def test_yaml_with_a_few_aliases_is_read_as_safe_load_reads_it():
    text = "base: &b {memory: 4GiB}\nvms: [*b, *b]\n"
    assert bounded.load_yaml(text, max_depth=5, max_nodes=20) == {
        "base": {"memory": "4GiB"},
        "vms": [{"memory": "4GiB"}, {"memory": "4GiB"}],
    }


def test_yaml_python_tags_are_still_refused():
    import yaml

    with pytest.raises(yaml.YAMLError):
        bounded.load_yaml("!!python/object/apply:os.system ['true']", max_depth=5, max_nodes=20)


def test_a_key_given_twice_is_named_with_its_path_when_asked():
    with pytest.raises(bounded.DuplicateKey) as twice:
        bounded.load_yaml("a: [{b: 1, c: 2, b: 3}]", max_depth=5, max_nodes=20, unique_keys=True)
    assert (twice.value.key, twice.value.path, twice.value.line) == ("b", "a[0].b", 1)
    with pytest.raises(bounded.DuplicateKey, match=r"^a\[0\]\.b: the key \"b\" is given twice"):
        bounded.load_json(
            b'{"a": [{"b": 1, "b": 3}]}', max_bytes=100, max_depth=5, unique_keys=True
        )
    assert bounded.load_json(b'{"b": 1, "b": 3}', max_bytes=100, max_depth=5) == {"b": 3}


def test_a_mapping_aliases_reach_many_times_is_checked_for_keys_given_twice_once():
    """A thousand keys reached through a thousand aliases: a million checks if each alias were
    checked again."""
    keys = ", ".join(f"k{i}: {i}" for i in range(1000))
    text = f"base: &b {{{keys}}}\nall: [" + ", ".join(["*b"] * 1000) + "]\n"
    started = time.monotonic()
    data = bounded.load_yaml(text, max_depth=5, max_nodes=3_000_000, unique_keys=True)
    assert time.monotonic() - started < 0.5 and len(data["all"]) == 1000


@pytest.mark.django_db
def test_an_upload_whose_aliases_stand_for_megabytes_of_json_is_refused_before_it_is_stored(
    client,
):
    """1.3 MB of YAML (under the 2,000,000-character text limit, the 4 MiB body limit and the
    2,000,000-value alias limit) repeating one listed VM with 200-character fields was stored
    as an 82 MB scenario, read again by every page of that fleet. What the text stands for is
    held to what a JSON text may be."""
    from playground.fleets.models import Fleet

    text = (
        "name: amp\nfleet:\n  zone: z\n  host: {vcpus: 4096, memory: 16TiB}\n"
        "  racks: [{name: r, count: 16, hosts: 1000}]\n  vm_list:\n"
        f"  - &v {{host: r1-h1, customer: {'c' * 200}, anti_affinity: {'a' * 200}}}\n"
        + "  - *v\n" * 179_999
        + "policy: {name: qemu}\nevents: [{kind: kernel_upgrade, scope: {hosts: [r1-h1]}}]\n"
    )
    assert len(text) < 2_000_000
    started = time.monotonic()
    response = client.post("/fleets/import/", {"text": text})
    assert response.status_code == 422 and not Fleet.objects.exists()
    said = response.content.decode()
    assert "aliases expand it to 81,000," in said and "at most 8,000,000" in said
    assert time.monotonic() - started < 5
