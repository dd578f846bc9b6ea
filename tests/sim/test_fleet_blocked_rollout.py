"""A rollout that blocks (its first host never empties: no other host has room for its VMs)
never takes the hosts behind it: their VMs did not get their maintenance. They are stuck ("host
never taken"), not unaffected ("its host was not under maintenance"), in the summary, the plan
and the CLI alike."""

from migrationsim.cli import main
from migrationsim.fleet import FleetRun, parse_scenario, summarize
from migrationsim.fleet.plan import plan

from .fleet_support import FULL_ZONE


def test_the_vms_of_hosts_the_blocked_rollout_never_took_are_stuck_not_unaffected():
    run = FleetRun(parse_scenario(FULL_ZONE)).run()
    summary = summarize(run)
    assert run.stopped is None  # an ordinary end: nothing left that could happen
    assert summary["outcomes"]["migrated"] == 0
    assert summary["outcomes"]["unaffected"] == 0  # every host is in the event's scope
    assert summary["outcomes"]["stuck"] == 32
    assert summary["unfinished_reasons"]["not_reached"] == 24  # the three hosts never taken
    never_taken = [r for r in run.records if r.wait_reason == "not_reached"]
    assert len(never_taken) == 24
    assert all("never took the host" in r.reason for r in never_taken)


def test_the_plan_counts_them_as_not_handled():
    preview = plan(FULL_ZONE)
    assert preview["not_handled"]["hosts_total"] == 4
    assert preview["not_handled"]["vms_total"] == 32
    assert preview["not_placed"] == 32


def test_the_cli_says_why_they_did_not_move(capsys, tmp_path):
    import json

    path = tmp_path / "full.json"
    path.write_text(json.dumps(FULL_ZONE))
    assert main(["fleet", str(path)]) == 0
    out = capsys.readouterr().out
    assert "stuck 32" in out and "unaffected" not in out.splitlines()[0]
    assert "did not move, 24: host never taken [not_reached]" in out


def test_the_plan_cli_says_a_reason_given_as_a_sentence_once(capsys, tmp_path):
    """A stuck VM's reason is a sentence, not a code: the plan's list printed it twice, the
    second time in brackets where a code goes."""
    import json

    path = tmp_path / "full.json"
    path.write_text(json.dumps(FULL_ZONE))
    assert main(["fleet", str(path), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "stuck or aborted (left where they are): 32\n" in out
    assert (
        "\n  24: its host's maintenance never took the host: the rollout was still waiting" in out
    )
    assert "[its host's" not in out and "[it waits" not in out


def test_the_plans_how_long_says_it_is_not_the_whole_maintenance(capsys, tmp_path):
    """'how long: 0 ms' for a rollout that blocks at once read as a maintenance done in no
    time: the line now says that the hosts in scope are not all handled."""
    import json

    path = tmp_path / "full.json"
    path.write_text(json.dumps(FULL_ZONE))
    assert main(["fleet", str(path), "--plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("how long:"))
    assert line.endswith(
        "; not the whole maintenance: 4 of the 4 hosts in scope are not handled (below)"
    )
    assert main(["fleet", "--preset", "demo", "--plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("how long:"))
    assert "not the whole maintenance" not in line
