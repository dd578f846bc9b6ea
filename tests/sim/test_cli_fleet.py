"""`python -m migrationsim fleet`: the summary contract and the event log."""

import json

import pytest

from migrationsim.cli import main

SUMMARY_KEYS = {"vms", "outcomes", "makespan_s", "blackout_p50_s", "blackout_p99_s", "blackout_max_s",
                "pre_brownout_p50_s", "pre_brownout_p99_s", "post_brownout_p50_s",
                "post_brownout_p99_s", "bytes_sent", "forwarded_packets",
                "peak_concurrent_migrations", "queue_wait_p50_s", "queue_wait_p99_s",
                "blackout_slo_breaches", "racks"}
OUTCOME_KEYS = {"migrated", "terminated", "restarted", "crashed", "aborted"}


def test_fleet_preset_json_has_the_keys_scripts_rely_on(capsys, tmp_path):
    events = tmp_path / "events.jsonl"
    vms = tmp_path / "vms.csv"
    assert main(["fleet", "--preset", "demo", "--json", "--events", str(events), "--vms", str(vms)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert SUMMARY_KEYS <= set(summary) and OUTCOME_KEYS <= set(summary["outcomes"])
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
    path.write_text("fleet:\n  racks: [{hosts: 2}]\n  vms: {per_host: 2, mix: {idle: 1}}\n"
                    "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n")
    assert main(["fleet", str(path)]) == 0
    assert "migrated 2" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--preset", "nope"], "--preset"),
    ([], "give a scenario file or --preset"),
    (["--preset", "demo", "--seed", "x"], "--seed"),
    (["/nonexistent/file.yaml"], "no such file"),
])
def test_bad_fleet_input_exits_2_with_a_reason(capsys, args, words):
    assert main(["fleet", *args]) == 2
    assert words in capsys.readouterr().err


def test_a_bad_scenario_field_is_named(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"fleet": {"racks": [{"hosts": 2}, {"hosts": 2}, {"hosts": 2}, {"hosts": 0}]},
                                "events": [{"kind": "kernel_upgrade", "scope": {"zone": True}}]}))
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
        done = subprocess.run([sys.executable, "-m", "migrationsim", "fleet", "--preset", "gce-calibrated",
                               "--json"], cwd=root, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
