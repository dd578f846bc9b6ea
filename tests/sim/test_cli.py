"""`python -m migrationsim`: the contract scripts rely on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrationsim.cli import main
from migrationsim.humanize import duration

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {
    "policy",
    "converged",
    "stop_reason",
    "live_rounds",
    "total_time_s",
    "precopy_time_s",
    "blackout_s",
    "bytes_sent",
    "final_bytes",
    "rounds",
    "throttle_max",
}
ROUND_KEYS = {"index", "phase", "bytes", "duration_s", "dirty_bytes"}


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "migrationsim", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_json_prints_one_object_with_the_documented_keys():
    done = cli("migrate", "--memory", "8GiB", "--workload", "oltp", "--policy", "qemu", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= REQUIRED_KEYS
    assert all(set(r) >= ROUND_KEYS for r in result["rounds"])
    assert {r["phase"] for r in result["rounds"]} == {"live", "final"}
    assert result["policy"] == "qemu" and result["memory_bytes"] == 8 * 1024**3


def test_flags_take_units_as_written_in_the_model(capsys):
    assert (
        main(
            [
                "migrate",
                "--policy",
                "textbook",
                "--dirty-model",
                "linear",
                "--memory",
                "8GiB",
                "--bandwidth",
                "10Gbit/s",
                "--dirty-rate",
                "200MB/s",
                "--downtime-limit",
                "300ms",
                "--device-state",
                "0",
                "--resume-time",
                "0",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["live_rounds"] == 2
    assert result["total_time_s"] == pytest.approx(8.147, rel=1e-3)


def test_boolean_flags_switch_aids_on(capsys):
    main(
        [
            "migrate",
            "--workload",
            "muncher",
            "--memory",
            "1GiB",
            "--max-bandwidth",
            "none",
            "--auto-converge",
            "--json",
        ]
    )
    assert json.loads(capsys.readouterr().out)["throttle_max"] > 0


def test_without_json_it_prints_a_short_human_summary(capsys):
    assert main(["migrate", "--workload", "web"]) == 0
    out = capsys.readouterr().out
    assert "threshold_reached" in out and "blackout" in out and len(out.splitlines()) <= 8


def test_the_summary_names_the_rate_cap_that_holds_the_live_rounds_below_the_link(capsys):
    """A what-if on the link alone ('what if bandwidth doubles') gives the same figures while
    QEMU's 128 MiB/s default cap holds the live rounds: the first line says so, and says
    nothing of a cap when the link is the limit."""
    outs = []
    for link in ("10Gbit/s", "20Gbit/s"):
        assert main(["migrate", "--bandwidth", link]) == 0
        outs.append(capsys.readouterr().out.splitlines())
    # the same live rounds and pre-copy time (only the final copy, uncapped, is faster)
    live = [next(x for x in lines if x.startswith("live rounds")) for lines in outs]
    assert live[0].split(", blackout")[0] == live[1].split(", blackout")[0]
    for lines in outs:
        assert lines[0].endswith("; live rounds capped at 1.07 Gbit/s (--max-bandwidth)")
    assert main(["migrate", "--bandwidth", "100Mbit/s"]) == 0
    assert "capped" not in capsys.readouterr().out.splitlines()[0]
    assert main(["migrate", "--policy", "gce"]) == 0
    assert "capped" not in capsys.readouterr().out.splitlines()[0]
    assert main(["migrate", "--policy", "xen"]) == 0
    assert "live rounds at xen's adaptive rate" in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--dirty-rate", "fast"], "--dirty-rate"),
        (["--memory", "-4GiB"], "--memory"),
        (["--policy", "vmware"], "--policy"),
        (["--downtime-limit", "0"], "--downtime-limit"),
        (["--timeout-action", "panic"], "--timeout-action"),
    ],
)
def test_bad_flags_exit_2_and_name_the_flag(args, flag):
    done = cli("migrate", *args, "--json")
    assert done.returncode == 2
    assert flag in done.stderr and done.stdout == ""


def test_unknown_flags_exit_2():
    done = cli("migrate", "--bandwith", "10Gbit/s")
    assert done.returncode == 2 and "--bandwith" in done.stderr


def test_presets_lists_every_workload():
    done = cli("presets")
    assert done.returncode == 0
    for name in ("idle", "web", "oltp", "cache", "analytics", "muncher"):
        assert name in done.stdout


def test_the_help_never_says_a_default_is_none(capsys):
    """A flag with no default of its own (the workload's figures, or none) is explained by its
    help, not followed by "(default: None)" (--packet-rate said "(default: from the workload)
    (default: None)")."""
    with pytest.raises(SystemExit):
        main(["migrate", "--help"])
    out = capsys.readouterr().out
    assert "--packet-rate" in out and "(default: None)" not in out


@pytest.mark.parametrize("args", [["migrate"], ["fleet", "--preset", "demo", "--plan"]])
def test_a_reader_that_stops_reading_gets_no_traceback(args):
    """``python -m migrationsim ... | head -1``: the pipe closes before the output is written;
    the CLI stops quietly (status 1, nothing on stderr), as any Unix tool does."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrationsim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # no reader left: the first write fails with EPIPE
    _, err = proc.communicate(timeout=60)
    assert err == ""
    assert proc.returncode == 1


@pytest.mark.parametrize("policy", ["xen", "textbook"])
def test_auto_converge_asked_of_a_policy_without_a_throttle_is_said_not_applied(capsys, policy):
    """'--policy xen --auto-converge' ran without a throttle and said only 'max throttle 0%',
    as if auto-converge had been tried and never needed."""
    assert main(["migrate", "--policy", policy, "--auto-converge", "--workload", "cache"]) == 0
    out = capsys.readouterr().out
    assert "max throttle 0%" in out
    assert (
        f"auto-converge: not applied, the {policy} policy has no vCPU throttle (a qemu/gce feature)"
    ) in out


def test_auto_converge_on_qemu_says_no_such_thing(capsys):
    assert main(["migrate", "--policy", "qemu", "--auto-converge", "--workload", "cache"]) == 0
    assert "not applied" not in capsys.readouterr().out


def test_the_summary_says_the_migrations_total_beside_the_whole_maintenance(capsys):
    """'total 25.3 s' was QEMU's migration time (pre-copy to done) while the guest's 60 s notice,
    the target's setup, the forwarding and the cleanup made the maintenance 1 min 29 s: a
    newcomer read 'total' as the whole of it."""
    assert main(["migrate", "--guest-watches", "--workload", "web", "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    assert main(["migrate", "--guest-watches", "--workload", "web"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("live rounds"))
    assert ran["end_to_end_s"] > ran["total_time_s"] + 60
    assert line.endswith(
        f"total {duration(ran['total_time_s'])} (pre-copy to done); "
        f"end to end {duration(ran['end_to_end_s'])} (notice to cleanup)"
    )


def test_an_aborted_migrations_total_runs_to_the_abort_not_to_done(capsys):
    assert main(["migrate", "--workload", "muncher"]) == 0  # times out and is aborted
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("live rounds"))
    assert "total 10 min 0 s (pre-copy to the abort); " in line and "done" not in line


def test_a_downtime_ramp_is_named_where_the_limit_is(capsys):
    """'--downtime-ramp-steps 5' started at 300 ms / 5 and stepped up every 75 s per GiB, while
    the first line said 'downtime limit 300 ms' alone."""
    assert (
        main(["migrate", "--workload", "cache", "--memory", "8GiB", "--downtime-ramp-steps", "5"])
        == 0
    )
    first = capsys.readouterr().out.splitlines()[0]
    assert (
        ", downtime limit ramping from 60 ms to 300 ms in 5 steps, one every 10 min 0 s;" in first
    )


def test_the_summary_says_what_the_guest_writes(capsys):
    """A bare 'migrate' ran the web workload and '--workload cache --dirty-rate 1MB/s' ran one
    working set of 1 MB/s in place of cache's: the text said neither (only --json did)."""
    assert main(["migrate"]) == 0
    guest = capsys.readouterr().out.splitlines()[1]
    assert guest.startswith(
        "guest: the web workload (the default: no --workload or --dirty-rate given), "
        "writes 25 MB/s across 122.9 MiB (random), 10 MB/s across 819.2 MiB (random); "
        "zero pages 30%; 20,000 packets/s in"
    )
    assert main(["migrate", "--workload", "cache", "--dirty-rate", "1MB/s"]) == 0
    guest = capsys.readouterr().out.splitlines()[1]
    assert guest == (
        "guest: the cache workload, writes 1 MB/s across 3.8 GiB (random); zero pages 5%; "
        "100,000 packets/s in"
    )
    assert main(["migrate", "--dirty-rate", "0"]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[1]
        .startswith("guest: no workload preset, writes nothing;")
    )
