"""`python -m migrationsim fleet`: the summary contract, the event log, and the plan (--plan)."""

import json
import os

import pytest

from migrationsim.cli import main

from .fleet_support import PLAN_EVENT_KEYS, PLAN_KEYS, munchers

SUMMARY_KEYS = {
    "vms",
    "outcomes",
    "makespan_s",
    "blackout_p50_s",
    "blackout_p99_s",
    "blackout_max_s",
    "pre_brownout_p50_s",
    "pre_brownout_p99_s",
    "post_brownout_p50_s",
    "post_brownout_p99_s",
    "bytes_sent",
    "forwarded_packets",
    "peak_concurrent_migrations",
    "queue_wait_p50_s",
    "queue_wait_p99_s",
    "blackout_slo_breaches",
    "racks",
}
OUTCOME_KEYS = {"migrated", "terminated", "restarted", "crashed", "aborted"}


def test_fleet_preset_json_has_the_keys_scripts_rely_on(capsys, tmp_path):
    events = tmp_path / "events.jsonl"
    vms = tmp_path / "vms.csv"
    assert (
        main(["fleet", "--preset", "demo", "--json", "--events", str(events), "--vms", str(vms)])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) >= SUMMARY_KEYS and set(summary["outcomes"]) >= OUTCOME_KEYS
    assert summary["vms"] == sum(summary["outcomes"].values())
    assert {r["rack"] for r in summary["racks"]} == {"rack1", "rack2"}
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines and [e["t_s"] for e in lines] == sorted(e["t_s"] for e in lines)
    assert sum(1 for e in lines if e["kind"] == "migrated") == summary["migrations"]
    rows = vms.read_text().splitlines()
    assert rows[0].startswith("vm,workload,") and len(rows) == summary["vms"] + 1


def test_the_seed_flag_changes_the_draws(capsys):
    main(["fleet", "--preset", "demo", "--json", "--seed", "1"])
    one = json.loads(capsys.readouterr().out)
    main(["fleet", "--preset", "demo", "--json", "--seed", "2"])
    two = json.loads(capsys.readouterr().out)
    assert one["seed"] == 1 and two["seed"] == 2 and one != two


def test_a_scenario_file_runs(capsys, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, mix: {idle: 1}}\n"
        "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
    )
    assert main(["fleet", str(path)]) == 0
    assert "migrated 2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "nope"], "--preset"),
        ([], "give a scenario file or --preset"),
        (["--preset", "demo", "--seed", "x"], "--seed"),
        (["/nonexistent/file.yaml"], "no such file"),
    ],
)
def test_bad_fleet_input_exits_2_with_a_reason(capsys, args, words):
    assert main(["fleet", *args]) == 2
    assert words in capsys.readouterr().err


TINY_YAML = (
    "fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, mix: {idle: 1}}\n"
    "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("latin1.yaml", "name: caf\xe9\n".encode("latin-1"), "latin1.yaml is not UTF-8 text"),
        ("deep.json", b"[" * 50, "deep.json: the JSON nests 50 levels deep"),
        ("a-directory", None, "a-directory is a directory, not a scenario file"),
    ],
)
def test_a_scenario_file_that_cannot_be_read_exits_2_naming_it(
    capsys, tmp_path, name, content, words
):
    """Not a traceback (a file in Latin-1 raised UnicodeDecodeError), and a directory or a name
    without .yaml is read as a file, not as scenario text ('must be a mapping')."""
    path = tmp_path / name
    path.mkdir() if content is None else path.write_bytes(content)
    assert main(["fleet", str(path)]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_an_endless_scenario_file_is_refused_once_past_the_file_limit(capsys, monkeypatch):
    """``fleet /dev/zero`` was read whole: a MemoryError traceback once memory ran out."""
    from migrationsim.fleet import text

    monkeypatch.setattr(text, "MAX_FILE_BYTES", 4096)
    assert main(["fleet", "/dev/zero"]) == 2
    assert "zero is over 4 KiB: not a scenario file" in capsys.readouterr().err


def test_a_scenario_file_runs_whatever_its_name_ends_with(capsys, tmp_path):
    path = tmp_path / "zone.scenario"
    path.write_text(TINY_YAML)
    assert main(["fleet", str(path)]) == 0
    assert "migrated 2" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--events", "--vms"])
def test_an_output_file_that_cannot_be_written_exits_2_naming_its_flag_before_the_run(
    capsys, tmp_path, flag
):
    """It was a traceback (FileNotFoundError, IsADirectoryError), for --vms after the whole run."""
    for target in (tmp_path / "missing-dir" / "out", tmp_path):
        assert main(["fleet", "--preset", "demo", flag, str(target)]) == 2
        err = capsys.readouterr().err
        assert f"{flag}: cannot write {target}" in err and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--events", "--vms"])
@pytest.mark.parametrize("plan", [[], ["--plan"]])
def test_an_empty_output_file_name_exits_2_naming_its_flag(capsys, flag, plan):
    """``--events ''`` (an unset shell variable) ran, wrote no file and exited 0."""
    assert main(["fleet", "--preset", "demo", *plan, flag, ""]) == 2
    assert f"{flag}: needs a file name" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("flag", ["--events", "--vms"])
def test_an_output_whose_writes_fail_exits_2_naming_its_flag(capsys, flag):
    """/dev/full opens, then every write fails (a full disk): it was a traceback."""
    assert main(["fleet", "--preset", "demo", flag, "/dev/full"]) == 2
    err = capsys.readouterr().err
    assert f"{flag}: cannot write /dev/full" in err and "Traceback" not in err


def test_a_refused_vms_file_leaves_the_events_file_as_it_was(capsys, tmp_path):
    """--events opened first: it was emptied (or created) before --vms was refused."""
    kept, fresh = tmp_path / "last-run.jsonl", tmp_path / "new.jsonl"
    kept.write_text('{"kind": "from the last run"}\n')
    for events in (kept, fresh):
        args = ["fleet", "--preset", "demo", "--events", str(events), "--vms", str(tmp_path)]
        assert main(args) == 2
    assert kept.read_text() == '{"kind": "from the last run"}\n'
    assert not fresh.exists()
    assert "--vms: cannot write" in capsys.readouterr().err


def test_an_existing_output_file_is_replaced_not_appended_to(capsys, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("old line\n" * 1000)
    assert main(["fleet", "--preset", "demo", "--events", str(events)]) == 0
    lines = events.read_text().splitlines()
    assert "old line" not in lines and json.loads(lines[0])["kind"]


def test_a_bad_scenario_field_is_named(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "fleet": {"racks": [{"hosts": 2}, {"hosts": 2}, {"hosts": 2}, {"hosts": 0}]},
                "events": [{"kind": "kernel_upgrade", "scope": {"zone": True}}],
            }
        )
    )
    assert main(["fleet", str(path)]) == 2
    assert "fleet.racks[3].hosts: must be > 0" in capsys.readouterr().err


def test_a_run_is_the_same_in_every_process_whatever_the_hash_seed():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for hash_seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-m", "migrationsim", "fleet", "--preset", "gce-calibrated", "--json"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- --plan: the web's dry run from the command line -------------------------------------------


def test_the_plan_of_a_preset_reads_like_the_plan_page(capsys):
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo: 48 VMs on the 4 hosts in scope (of 8 hosts, 96 VMs, 2 racks)")
    assert "will live-migrate 44; will be terminated 4, 2 of them restart on another host" in out
    assert "  wave 2: 2 hosts, 24 VMs: rack1-h3, rack1-h4" in out


def test_the_plan_says_how_many_vms_the_engine_predicts_will_live_migrate(capsys):
    """hw-failure: 20 VMs in scope can live-migrate, the engine predicts 10 do (the others
    crash with their host); the plan said "will live-migrate 20" above "10 migrations"."""
    assert main(["fleet", "--preset", "hw-failure", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "will live-migrate 10 (the engine's prediction; 20 in scope can)" in out
    assert "predicted: 10 migrations" in out


def test_the_plan_of_a_scenario_file_as_json_has_the_plan_keys(capsys, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, mix: {idle: 1}}\n"
        "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
    )
    assert main(["fleet", str(path), "--plan", "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert set(preview) == PLAN_KEYS and all(set(e) == PLAN_EVENT_KEYS for e in preview["events"])
    assert (preview["vms_in_scope"], preview["migrate"], preview["eta_method"]) == (
        2,
        2,
        "engine, seeds 1-3",
    )


def test_the_seed_flag_reaches_the_plan(capsys):
    main(["fleet", "--preset", "demo", "--plan", "--json", "--seed", "5"])
    assert json.loads(capsys.readouterr().out)["eta_method"] == "engine, seeds 5-7"


def test_the_cli_plan_is_the_plan_the_web_shows():
    """The web's plan page calls ``plan(preset_scenario(name))``; the CLI must print that dict."""
    import subprocess
    import sys
    from pathlib import Path

    from migrationsim.fleet.plan import plan
    from migrationsim.fleet.text import preset_scenario

    command = [
        sys.executable,
        "-m",
        "migrationsim",
        "fleet",
        "--preset",
        "demo",
        "--plan",
        "--json",
    ]
    done = subprocess.run(
        command,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(plan(preset_scenario("demo"))))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "demo", "--plan", "--events", "e.jsonl"], "--plan: a plan runs nothing"),
        (["--preset", "demo", "--plan", "--vms", "v.csv"], "--plan: a plan runs nothing"),
        (["--preset", "demo", "--plan", "--seed", "-1"], "--seed: must be a whole number from 0"),
        (["--preset", "demo", "--plan", "--seed", str(2**32)], "from 0 to 4294967295"),
        (["--preset", "nope", "--plan"], "--preset"),
        (["--plan"], "give a scenario file or --preset"),
    ],
)
def test_bad_plan_input_exits_2_naming_the_flag(capsys, args, words):
    assert main(["fleet", *args]) == 2
    assert words in capsys.readouterr().err


def test_a_bad_scenario_field_is_named_by_the_plan_too(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "fleet: {racks: [{hosts: 2}], vms: {per_host: -1}}\n"
        "events: [{kind: kernel_upgrade, scope: {zone: true}}]\n"
    )
    assert main(["fleet", str(path), "--plan"]) == 2
    assert "fleet.vms.per_host: must be >= 0" in capsys.readouterr().err


def test_the_plan_json_carries_the_prediction_and_the_binding_limit(capsys):
    assert main(["fleet", "--preset", "demo", "--plan", "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    for key in (
        "makespan_s",
        "blackout_p50_s",
        "blackout_p99_s",
        "binding_limit",
        "eta_s",
        "eta_low_s",
        "eta_high_s",
        "eta_method",
        "not_placed",
        "capacity",
        "events",
        "terminate",
    ):
        assert key in preview, key
    assert preview["eta_s"] == preview["makespan_s"] > 0 and preview["blackout_p99_s"] > 0
    binding = preview["binding_limit"]
    assert {"name", "sentence", "table"} <= set(binding) and binding["table"]
    assert {"constraint", "relaxed_to", "makespan_s", "change_pct"} <= set(binding["table"][0])


def test_the_human_plan_prints_the_binding_sentence_and_its_table(capsys):
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "predicted: 47 migrations" in out and "blackout p50" in out
    assert "binding limit: The hosts-out-at-once limit (2) binds" in out
    assert "  sensitivity (the whole plan, re-run once per relaxation):" in out
    assert "per-migration bandwidth cap" in out
    assert "1.07 Gbit/s" in out and "4.29 Gbit/s (x4)" in out  # 128 MiB/s, as pages say rates


def test_the_top_seed_plans_from_the_command_line(capsys):
    assert main(["fleet", "--preset", "demo", "--plan", "--json", "--seed", str(2**32 - 1)]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview["eta_method"] == "engine, seeds 4294967295, 0, 1"
    assert main(["fleet", "--preset", "demo", "--json", "--seed", str(2**32 - 1)]) == 0
    assert json.loads(capsys.readouterr().out)["makespan_s"] == preview["makespan_s"]


@pytest.mark.parametrize("name", ["twice.yaml", "twice.json"])
def test_a_scenario_file_giving_a_key_twice_exits_2_naming_the_key_and_its_path(
    capsys, tmp_path, name
):
    """It ran, with the second value: a `seed:` further down silently won."""
    path = tmp_path / name
    if name.endswith(".json"):
        data = {"fleet": {"racks": [{"hosts": 2}]}, "events": []}
        path.write_text(json.dumps(data).replace('"hosts": 2', '"hosts": 2, "hosts": 3'))
    else:
        path.write_text(TINY_YAML.replace("{hosts: 2}", "{hosts: 2, hosts: 3}"))
    assert main(["fleet", str(path)]) == 2
    err = capsys.readouterr().err
    assert 'fleet.racks[0].hosts: the key "hosts" is given twice' in err
    assert name in err and "Traceback" not in err


FORCED = (  # a one-second-per-GiB timeout that forces the blackout: every migration unconverged
    "fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, memory: [4GiB, 4GiB], mix: {oltp: 1}}\n"
    "policy: {name: qemu, completion_timeout: 1s, timeout_action: force-complete}\n"
    "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
)


def test_the_plan_says_what_was_not_handled_in_words_as_the_plan_page_does(capsys, tmp_path):
    """VMs moved without converging are 'migrated without converging' (the web's words for the
    fleet term), never the bare code 'not_converged'."""
    path = tmp_path / "forced.yaml"
    path.write_text(FORCED)
    assert main(["fleet", str(path), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "  2 VMs migrated without converging [timeout_force_complete]: " in out
    assert "not_converged" not in out


def test_the_plan_says_its_blackouts_in_the_units_its_run_says_them(capsys, tmp_path):
    """The same figure reads the same in the plan and in the run's summary: '7.28 s', never
    '7278 ms' above a run that says '7.28 s'."""
    path = tmp_path / "forced.yaml"
    path.write_text(FORCED)
    assert main(["fleet", str(path), "--plan"]) == 0
    plan_line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("predicted"))
    assert main(["fleet", str(path)]) == 0
    run_line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("blackout"))
    p50, p99 = run_line.split(", max")[0].removeprefix("blackout ").split(", ")
    assert f"blackout {p50}, {p99};" in plan_line
    assert p50.endswith(" s")  # forced blackouts last seconds: said in s, not thousands of ms


THOUSAND_VMS = (  # 100 hosts of 12 one-GiB idle VMs (1,191 placed), the whole zone patched
    "fleet:\n  racks: [{count: 10, hosts: 10}]\n"
    "  vms: {per_host: 12, memory: [1GiB, 1GiB], mix: {idle: 1}}\n"
    "events: [{kind: kernel_upgrade, scope: {zone: true}}]\n"
)


def test_counts_in_the_thousands_have_separators_in_the_summary_and_the_plan(capsys, tmp_path):
    """Every count as the web's pages write it ('1,191 VMs', 'migrated 1,191'), not '1191'
    beside '1,323 migrations' in the same line."""
    path = tmp_path / "thousand.yaml"
    path.write_text(THOUSAND_VMS)
    assert main(["fleet", str(path)]) == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[0] == "scenario: 1,191 VMs on 100 hosts; migrated 1,191"
    assert main(["fleet", str(path), "--plan"]) == 0
    plan = capsys.readouterr().out.splitlines()
    assert plan[1] == "will live-migrate 1,191; will be terminated 0"
    assert plan[3].startswith("predicted: 1,323 migrations, 0 terminations, ")


def test_a_plan_on_one_seed_prints_no_range(capsys, monkeypatch):
    """Above ENGINE_ETA_MAX_VMS the plan runs one seed: the CLI said 'range 5 h 32 min to
    5 h 32 min; engine, seed 7; one seed only at 25,600 VMs, so no range'."""
    from migrationsim.fleet import plan as plan_module

    monkeypatch.setattr(plan_module, "ENGINE_ETA_MAX_VMS", 10)  # demo has 96 VMs
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("how long:"))
    assert "range" not in line.replace("so no range", "")
    assert "engine, seed 1; one seed only at 96 VMs, so no range" in line
    monkeypatch.setattr(plan_module, "ENGINE_ETA_MAX_VMS", 3000)
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("how long:"))
    assert "(range " in line and "seeds 1-3" in line


ABORTING = {
    "name": "aborting",
    "seed": 1,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 32, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 1, "hosts": 4}],
        "vms": {"per_host": 2, "memory": ["4GiB", "4GiB"], "vcpus": [1, 1], "mix": {"muncher": 1}},
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "events": [
        {
            "name": "patch",
            "kind": "kernel_upgrade",
            "scope": {"hosts": ["r1-h1"]},
            "max_hosts_in_maintenance": 1,
            "host_downtime": "5min",
        }
    ],
}


def test_a_plan_says_aborted_vms_as_left_where_they_are_in_words_not_cannot_be_placed(
    capsys, tmp_path
):
    """A muncher's migration times out and is aborted: it found a target. The CLI said
    'cannot be placed: 2' and the bare code '2: timeout_abort'; the plan page says 'Stuck or
    aborted' with the reason in words."""
    path = tmp_path / "aborting.json"
    path.write_text(json.dumps(ABORTING))
    assert main(["fleet", str(path), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "cannot be placed" not in out
    assert "stuck or aborted (left where they are): 2\n" in out
    assert "  2: completion timeout: abort [timeout_abort]\n" in out


def test_one_file_for_both_events_and_vms_is_refused_before_the_run(capsys, tmp_path):
    """'--events out --vms out' wrote the CSV into the middle of the event log and exited 0."""
    out = tmp_path / "out"
    out.write_text("kept\n")
    assert main(["fleet", "--preset", "demo", "--events", str(out), "--vms", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--vms: {out} is the --events file too; give each its own file" in err
    assert out.read_text() == "kept\n"  # not emptied
    other = tmp_path / "sub" / ".." / "out"
    (tmp_path / "sub").mkdir()
    assert main(["fleet", "--preset", "demo", "--events", str(out), "--vms", str(other)]) == 2


def test_a_window_reads_as_a_daily_window_from_the_events_start(capsys, tmp_path):
    """'migrations start only between 0 ms and 5 min 0 s' read as durations, and said neither
    from when nor that the window repeats each day; the binding table said '0 ms-5 min 0 s'."""
    data = json.loads(json.dumps(ABORTING))
    data["fleet"]["vms"]["mix"] = {"idle": 1}
    data["events"][0]["window"] = {"start": "0s", "end": "5min"}
    path = tmp_path / "window.json"
    path.write_text(json.dumps(data))
    assert main(["fleet", str(path), "--plan"]) == 0
    out = capsys.readouterr().out
    assert (
        "; migrations start only between 0 s and 5 min 0 s after the event's start, every day\n"
        in out
    )
    assert "between 0 ms" not in out and " 0 ms-" not in out
    assert main(["fleet", str(path), "--plan", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["binding_limit"]["table"]
    assert next(r for r in rows if r["constraint"] == "window")["current"] == "0 s-5 min 0 s daily"


def test_a_bios_rollout_says_the_rack_it_takes_out_not_its_limit(capsys):
    """A BIOS rollout goes one whole rack at a time whatever max_hosts_in_maintenance says: the
    plan said 'at most 100% hosts out at once' for 8 of 32 hosts out at a time (and 'at most 1
    hosts' for a rack of 4); a share also gets its count."""
    assert main(["fleet", "--preset", "bios-rollout", "--plan"]) == 0
    out = capsys.readouterr().out
    assert (
        "bios-2026-11 (bios_rollout): 32 hosts in 4 waves; at most 8 hosts out at once (a BIOS "
        "rollout takes one whole rack at a time, whatever its max_hosts_in_maintenance, 100%)"
    ) in out
    assert main(["fleet", "--preset", "bios-rollout"]) == 0
    assert "at most 8 under way at once" in capsys.readouterr().out  # the run agrees
    assert main(["fleet", "--preset", "hw-failure", "--plan", "--json"]) == 0
    (event,) = json.loads(capsys.readouterr().out)["events"]
    assert (event["hosts_at_once"], event["whole_rack_at_once"]) == (1, False)
    assert main(["fleet", "--preset", "hw-failure", "--plan"]) == 0
    assert "at most 1 host (100% of them) out at once" in capsys.readouterr().out


def test_the_blackout_figures_say_they_are_each_vms_last_move(capsys):
    """The demo's 47 migrations moved 44 VMs (3 twice): its blackout figures are the 44 VMs'
    last moves, and '0 over 300 ms' read as a count of all 47 blackouts."""
    assert main(["fleet", "--preset", "demo", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["migrations"], s["outcomes"]["migrated"]) == (47, 44)
    assert main(["fleet", "--preset", "demo"]) == 0
    line = capsys.readouterr().out.splitlines()[2]
    assert line.endswith(" over 300 ms (each migrated VM's last move: 44 of the 47 blackouts)")
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("predicted:"))
    assert line.endswith("(each migrated VM's last move: 44 of the 47 blackouts)")
    assert main(["fleet", "--preset", "hw-failure"]) == 0  # every VM moved once: nothing added
    assert capsys.readouterr().out.splitlines()[2].endswith("8 over 300 ms")


def test_a_run_that_leaves_hosts_unpatched_says_which_and_why(capsys, tmp_path):
    """The run said 'makespan 36.4 s' and 'stuck 24' but never that none of the 4 hosts in
    scope was patched; the plan said it. The run says it now, by the plan's own code."""
    path = tmp_path / "blocked.json"
    path.write_text(json.dumps(munchers(downtime_limit="300s")))
    assert main(["fleet", str(path)]) == 0
    text = capsys.readouterr().out
    assert "not handled: 4 hosts, 24 VMs" in text
    assert "rack1-h3 (never_taken): never taken out of service" in text
    assert main(["fleet", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["not_handled"]["hosts_total"] == 4
    assert main(["fleet", "--preset", "demo"]) == 0
    assert "not handled: none" in capsys.readouterr().out


def test_a_runs_not_handled_vms_are_said_with_their_reason_as_the_plan_says_them(capsys):
    """hw-failure's run said 'not handled: 0 hosts, 10 VMs' and no more (the next line was the
    glossary of 'migrated without converging', as if it were their reason); its plan said what
    they were: crashed with their host."""
    assert main(["fleet", "--preset", "hw-failure", "--plan"]) == 0
    planned = capsys.readouterr().out.splitlines()
    assert main(["fleet", "--preset", "hw-failure"]) == 0
    ran = capsys.readouterr().out.splitlines()
    said = "  10 VMs failed: source crash [source_failed]: its host failed before it could leave"
    for lines in (planned, ran):
        at = lines.index("not handled: 0 hosts, 10 VMs")
        assert lines[at + 1].startswith(said), lines[at + 1]


def test_the_run_explains_migrated_without_converging_only_when_it_counts_some(capsys, tmp_path):
    glossary = "  (migrated without converging: "
    assert main(["fleet", "--preset", "demo"]) == 0
    out = capsys.readouterr().out
    assert "migrated without converging: 0" in out and glossary not in out
    path = tmp_path / "forced.yaml"
    path.write_text(FORCED)
    assert main(["fleet", str(path)]) == 0
    out = capsys.readouterr().out
    assert "migrated without converging: 2" in out and glossary in out


def test_not_handled_vms_that_all_moved_without_converging_are_said_to_have_moved(capsys, tmp_path):
    """'not handled: 0 hosts, 2 VMs' above two VMs that did move read as if they had stayed."""
    path = tmp_path / "forced.yaml"
    path.write_text(FORCED)
    assert main(["fleet", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        "not handled: 0 hosts, 2 VMs (the VMs moved, but their pre-copy did not converge)" in lines
    )
