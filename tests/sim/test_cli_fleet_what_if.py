"""`python -m migrationsim fleet --set PATH=VALUE`: a what-if on a scenario without editing it.

The override is applied to a copy of the scenario's data, which is then checked as a whole:
the run is exactly the run of a file that said so, and a refused value names the --set."""

import json

import pytest

from migrationsim.cli import main
from migrationsim.fleet import FleetRun, load_scenario, parse_scenario, summarize
from migrationsim.fleet.overrides import (
    OverrideError,
    apply_overrides,
    bare_byte_numbers,
    parse_path,
)


def _json(capsys, *args: str) -> dict:
    assert main(["fleet", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_set_runs_exactly_the_scenario_a_file_with_that_value_would_run(capsys):
    raw = load_scenario("demo").raw
    edited = {**raw, "caps": {**raw.get("caps", {}), "per_source_host": 4}}
    expected = summarize(FleetRun(parse_scenario(edited), round_events=False).run())
    summary = _json(capsys, "--preset", "demo", "--set", "caps.per_source_host=4")
    assert summary["overrides"] == ["caps.per_source_host=4"]
    for key in ("makespan_s", "migrations", "blackout_p50_s", "peak_concurrent_migrations"):
        assert summary[key] == expected[key]
    plain = _json(capsys, "--preset", "demo")
    assert "overrides" not in plain  # the contract without --set is unchanged
    # doubling the per-host cap lets more migrations run at once in the demo
    assert summary["peak_concurrent_migrations"] > plain["peak_concurrent_migrations"]


def test_the_text_summary_and_the_plan_say_the_what_if_near_the_top(capsys):
    assert main(["fleet", "--preset", "demo", "--set", "caps.per_source_host=4"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "what if: caps.per_source_host=4"
    args = ["--preset", "demo", "--plan", "--set", "fleet.host.nic=50Gbit/s"]
    assert main(["fleet", *args]) == 0
    assert "what if: fleet.host.nic=50Gbit/s" in capsys.readouterr().out.splitlines()[:3]
    assert _json(capsys, *args)["overrides"] == ["fleet.host.nic=50Gbit/s"]


def test_values_are_read_as_yaml_and_paths_as_the_scenario_names_them():
    data = {"events": [{"kind": "urgent_patch", "scope": {"zone": True}}], "caps": {}}
    out = apply_overrides(
        data,
        [
            "events[0].max_hosts_in_maintenance=30%",
            "events.0.scope={racks: [r1, r2]}",
            "caps.per_source_host=4",
            "caps.per_rack=null",
            "policy.downtime_limit=500ms",  # a missing mapping is made
        ],
    )
    assert out["events"][0] == {
        "kind": "urgent_patch",
        "scope": {"racks": ["r1", "r2"]},
        "max_hosts_in_maintenance": "30%",
    }
    assert out["caps"] == {"per_source_host": 4, "per_rack": None}
    assert out["policy"] == {"downtime_limit": "500ms"}
    assert data == {"events": [{"kind": "urgent_patch", "scope": {"zone": True}}], "caps": {}}
    assert parse_path("fleet.racks[0].hosts") == ["fleet", "racks", 0, "hosts"]


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        ("caps", "give PATH=VALUE"),
        ("caps.per_source_host=", "needs a value"),
        ("=4", "give PATH=VALUE"),
        ("events[9].kind=x", "events has 1 item: no item [9]"),
        ("fleet.racks.name=r", "fleet.racks is not a mapping"),
        ("caps..per_rack=1", "cannot read the path"),
        ("fleet.host.nic=[1, 2", "not a YAML value"),
        ("fleet.host.nic=" + "[" * 50 + "]" * 50, "nests more than 20 levels"),
    ],
)
def test_a_set_that_cannot_apply_exits_2_naming_it(capsys, assignment, words):
    assert main(["fleet", "--preset", "demo", "--set", assignment]) == 2
    err = capsys.readouterr().err
    assert f"--set {assignment[:30]}" in err and words in err


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        ("caps.per_source_host=-1", "caps.per_source_host: must be > 0"),
        ("events[0].kind=lunch", "events[0].kind: must be one of"),
        ("fleet.host.nic=fast", "fleet.host.nic"),
    ],
)
def test_a_value_the_scenario_refuses_names_the_set_and_the_path(capsys, assignment, words):
    assert main(["fleet", "--preset", "demo", "--plan", "--set", assignment]) == 2
    err = capsys.readouterr().err
    assert f"--set {assignment}: " in err and words in err


def test_a_nul_character_is_refused_before_anything_is_read():
    with pytest.raises(OverrideError, match="NUL"):
        apply_overrides({}, ["caps.per_rack=a\x00b"])


@pytest.mark.parametrize(
    ("assignment", "default"),
    [
        # heartbleed allows 4 per source host: null read as "the default, 2" would halve it
        ("caps.per_source_host=null", "it takes its default, 2"),
        ("caps.per_target_host=null", "it takes its default, 2"),
        ("fleet.host.nic=null", "it takes its default"),
        ("caps=null", "each of its values takes its default"),
        # the engine ran the policy's 128 MiB/s cap under 'what if: policy.max_bandwidth=null'
        ("policy.max_bandwidth=null", "it takes the policy's default (give none for no cap)"),
    ],
)
def test_null_on_a_value_that_has_a_default_is_refused_rather_than_run_as_that_default(
    capsys, assignment, default
):
    for mode in (["--plan"], []):
        assert main(["fleet", "--preset", "heartbleed", *mode, "--set", assignment]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # no "what if: caps.per_source_host=null" over a cap of 2
        path = assignment.removesuffix("=null")
        assert f"--set {assignment}: null does not remove {path}: left empty, {default}" in (
            captured.err
        )


@pytest.mark.parametrize(
    "assignment",
    [
        "caps.per_rack=null",
        "events[0].deadline=null",
        "events[0].window=null",
        "caps.headroom=null",
    ],
)
def test_null_still_lifts_a_limit_that_is_off_unless_given(capsys, assignment):
    preview = _json(capsys, "--preset", "demo", "--plan", "--set", assignment)
    assert preview["overrides"] == [assignment]


@pytest.mark.parametrize("mode", [["--plan"], []])
def test_a_seed_given_by_both_seed_and_set_is_refused_rather_than_said_one_way_and_run_another(
    capsys, mode
):
    # it ran seed 3 under "what if: seed=5"
    assert main(["fleet", "--preset", "demo", *mode, "--set", "seed=5", "--seed", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--seed: --set seed=5 gives the seed too; give one of them" in captured.err


def _two_rack_groups(tmp_path) -> str:
    data = load_scenario("demo").raw
    data = {
        **data,
        "fleet": {
            **data["fleet"],
            "racks": [
                {"name": "rack", "hosts": 4, "host": {"nic": "10Gbit/s"}},
                {"name": "new", "hosts": 4},
            ],
        },
    }
    path = tmp_path / "zone.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_fleet_wide_host_value_a_rack_group_overrides_is_refused_naming_the_group(
    capsys, tmp_path
):
    # it said "what if: fleet.host.nic=50Gbit/s" and ran rack's hosts at their own 10 Gbit/s
    zone = _two_rack_groups(tmp_path)
    for mode in (["--plan"], []):
        assert main(["fleet", zone, *mode, "--set", "fleet.host.nic=50Gbit/s"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert (
            "--set fleet.host.nic=50Gbit/s: fleet.racks[0].host.nic gives its racks their own "
            "nic (10Gbit/s), which this does not change; set that too "
            "(--set fleet.racks[0].host.nic=...)"
        ) in captured.err


def test_a_fleet_wide_host_value_is_applied_when_the_groups_own_is_set_too(capsys, tmp_path):
    zone = _two_rack_groups(tmp_path)
    both = ["fleet.host.nic=50Gbit/s", "fleet.racks[0].host.nic=50Gbit/s"]
    preview = _json(capsys, zone, "--plan", "--set", both[0], "--set", both[1])
    assert preview["overrides"] == both
    nic = next(r for r in preview["binding_limit"]["table"] if r["constraint"] == "nic")
    assert nic["current"] == "50 Gbit/s"


def test_a_set_that_leaves_the_scenario_as_it_was_is_said_to_change_nothing(capsys):
    # the demo's per-source-host cap is already 2, its NICs 10 Gbit/s (1.25 GB/s said otherwise)
    args = ["--preset", "demo", "--set", "caps.per_source_host=2", "--set", "caps.global=12"]
    assert main(["fleet", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "what if: caps.per_source_host=2, caps.global=12",
        "  (changes nothing: caps.per_source_host=2; the scenario already says so, or it is the "
        "default)",
    ]
    same = ["--set", "fleet.host.nic=1.25GB/s", "--set", "policy.downtime_limit=0.3s"]
    summary = _json(capsys, "--preset", "demo", "--plan", *same)
    assert summary["overrides_unchanged"] == [
        "fleet.host.nic=1.25GB/s",
        "policy.downtime_limit=0.3s",
    ]
    assert main(["fleet", "--preset", "demo", "--plan", *same]) == 0
    assert "  (changes nothing: none of them; " in capsys.readouterr().out


def test_a_set_that_changes_something_is_not_flagged(capsys):
    summary = _json(capsys, "--preset", "demo", "--set", "caps.per_source_host=4")
    assert summary["overrides_unchanged"] == []


def test_a_bare_number_for_a_size_or_a_rate_is_said_to_be_bytes(capsys):
    """`fleet.host.nic=50` is a 50 B/s NIC (every migration aborts): legal, as in a file, but
    the planner surely meant 50Gbit/s, so the what-if line says how it was read."""
    assert bare_byte_numbers(
        [
            "fleet.host.nic=50",
            "fleet.racks[0].uplink=4e9",
            "fleet.vms.memory=[1073741824, 2147483648]",
            "fleet.host.nic=50Gbit/s",
            "caps.per_source_host=4",
            "policy.max_bandwidth=true",
        ]
    ) == [
        "fleet.host.nic=50 is 50 B/s",
        "fleet.racks[0].uplink=4e9 is 4,000,000,000 B/s",
        "fleet.vms.memory=[1073741824, 2147483648] is 1,073,741,824 B, 2,147,483,648 B",
    ]
    assert main(["fleet", "--preset", "demo", "--plan", "--set", "fleet.host.nic=50"]) == 0
    text = capsys.readouterr().out
    assert (
        "  (a bare number is bytes: fleet.host.nic=50 is 50 B/s; write the unit, e.g. "
        "50Gbit/s or 16GiB)" in text
    )
    summary = _json(capsys, "--preset", "demo", "--set", "fleet.host.nic=50Gbit/s")
    assert summary["overrides_in_bytes"] == []
