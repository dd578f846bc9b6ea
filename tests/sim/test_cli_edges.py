"""`python -m migrationsim`: the edges of its input and output, said truly."""

import json

import pytest

from migrationsim.cli import main
from migrationsim.units import format_duration as span

from .test_cli import cli


@pytest.mark.parametrize(
    "flag, value, said",
    [
        ("--memory", "-5GiB", "--memory: cannot read '-5GiB' as a quantity"),
        ("--dirty-rate", "-1.5MB/s", "--dirty-rate: cannot read '-1.5MB/s' as a quantity"),
        ("--bandwidth", "-10Gbit/s", "--bandwidth: cannot read '-10Gbit/s' as a quantity"),
        ("--downtime-limit", "-3s", "--downtime-limit: cannot read '-3s' as a duration"),
        ("--zero-fraction", "-10%", "--zero-fraction: "),
    ],
)
def test_a_negative_quantity_after_its_flag_is_refused_as_the_flag_joined_to_it_is(
    flag, value, said
):
    """`--memory -5GiB` is the value -5GiB, refused by the field's own check exactly as
    `--memory=-5GiB` is, not argparse's untrue "argument --memory: expected one argument"."""
    apart = cli("migrate", flag, value)
    joined = cli("migrate", f"{flag}={value}")
    assert (apart.returncode, joined.returncode) == (2, 2)
    assert said in apart.stderr and "expected one argument" not in apart.stderr
    assert apart.stderr == joined.stderr and apart.stdout == ""


def test_a_negative_seed_after_the_fleet_flag_is_refused_by_the_seed_check():
    done = cli("fleet", "--preset", "demo", "--plan", "--seed", "-1e3")
    assert done.returncode == 2
    assert done.stderr == (
        "python -m migrationsim fleet: error: --seed: must be a whole number from 0 to 4294967295\n"
    )


BIG_HOSTS = (  # hosts at the vCPU limit: the placement capacity's figures are the widest cells
    "fleet:\n  host: {vcpus: 4096, memory: 16TiB}\n  racks: [{hosts: 2}]\n"
    "  vms: {per_host: 2, mix: {idle: 1}}\n"
    "events: [{kind: kernel_upgrade, scope: {hosts: [rack1-h1]}}]\n"
)


def test_the_plan_sensitivity_table_keeps_its_columns_whatever_the_width_of_a_value(
    capsys, tmp_path
):
    """Each column is as wide as its widest cell, the header's too: the names start under
    'constraint', every figure ends under the end of its header, two spaces at least between
    columns; "16384 vCPUs, 64.0 TiB per host (x4)" overflowed its 26 columns and pushed the
    row's makespan and change out from under their headers."""
    path = tmp_path / "big-hosts.yaml"
    path.write_text(BIG_HOSTS)
    assert main(["fleet", str(path), "--plan", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["binding_limit"]["table"]
    assert main(["fleet", str(path), "--plan"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(next(x for x in lines if x.startswith("  sensitivity"))) + 1
    header, body = lines[at], lines[at + 1 : at + 1 + len(rows)]
    headers = ("now", "relaxed to", "makespan", "change")
    ends = [header.index(name) + len(name) for name in headers]
    assert header.startswith("  constraint ") and header.endswith("change")
    widest = max(len(r["relaxed_to"]) for r in rows)
    assert widest > 26  # a value wider than the table's old column
    for row, line in zip(rows, body, strict=True):
        assert line.startswith(f"  {row['label']}  ")
        cells = (row["current"], row["relaxed_to"], span(row["makespan_s"]))
        for cell, end in zip((*cells, f"{row['change_pct']:+.1f}%"), ends, strict=True):
            assert line[end - len(cell) - 2 : end] == "  " + cell, line
        assert line[ends[-1] :] in ("", f"  ({row['note']})")


@pytest.mark.parametrize(
    "racks, per_host, said",
    [
        ("[{count: 200, hosts: 1000}, {hosts: 1}]", 1, "fleet.racks: at most 200,000 hosts in all"),
        ("[{count: 200, hosts: 1000}]", 11, "fleet.vms.per_host: at most 2,000,000 VMs in all"),
    ],
)
def test_a_fleet_over_the_cap_is_refused_naming_the_cap_as_counts_are_written(
    capsys, tmp_path, racks, per_host, said
):
    """The caps in the refusal read as every other count the CLI prints ('2,000,000'), not
    '2000000', before anything is drawn or run."""
    path = tmp_path / "too-big.yaml"
    path.write_text(
        f"fleet:\n  racks: {racks}\n  vms: {{per_host: {per_host}, mix: {{idle: 1}}}}\n"
        "events: [{kind: kernel_upgrade, scope: {zone: true}}]\n"
    )
    assert main(["fleet", str(path), "--plan"]) == 2
    assert capsys.readouterr().err == f"python -m migrationsim fleet: error: {said}\n"


def test_a_share_may_be_written_as_a_percentage():
    as_share = json.loads(cli("migrate", "--zero-fraction", "0.25", "--json").stdout)
    as_percent = json.loads(cli("migrate", "--zero-fraction", "25%", "--json").stdout)
    assert as_percent["total_time_s"] == as_share["total_time_s"]
    assert as_percent["bytes_sent"] == as_share["bytes_sent"]


@pytest.mark.parametrize(
    "value, said",
    [
        (
            "abc",
            "--zero-fraction: must be a share from 0 to 1, or a percentage such as 25% (got 'abc')",
        ),
        ("-10%", "--zero-fraction: must be a share from 0 to 1 (got '-10%')"),
        ("150%", "--zero-fraction: must be a share from 0 to 1 (got '150%')"),
    ],
)
def test_a_share_out_of_range_or_unreadable_is_refused_in_words(value, said):
    done = cli("migrate", f"--zero-fraction={value}")
    assert done.returncode == 2
    assert said in done.stderr
    assert "could not convert" not in done.stderr


def test_the_summary_names_the_downtime_limit_so_a_bare_number_shows_as_seconds():
    """QEMU's downtime-limit is in milliseconds; here a bare number is seconds (documented).
    '--downtime-limit 300' is five minutes, and the first line says so, next to the default's
    300 ms (xen, which stops by rounds and volume, does not read it and says nothing)."""
    base = ["migrate", "--memory", "8GiB", "--workload", "oltp"]
    bare = cli(*base, "--downtime-limit", "300")
    assert bare.returncode == 0, bare.stderr
    assert ", downtime limit 5 min 0 s" in bare.stdout.splitlines()[0]
    assert ", downtime limit 300 ms" in cli(*base).stdout.splitlines()[0]
    assert "downtime limit" not in cli(*base, "--policy", "xen").stdout.splitlines()[0]


def test_a_run_where_no_vm_ever_queued_says_no_queue_wait_rather_than_0_ms(capsys):
    """Every VM a spot VM: each is preempted, none queues to migrate. The percentiles of no
    waits are none (null in JSON), said "-" as the blackouts' are, not "0 ms" (a wait that
    some VM would have had)."""
    args = ["fleet", "--preset", "demo", "--set", "fleet.vms.spot_share=1"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["queue_wait_p50_s"] is None and summary["queue_wait_p99_s"] is None
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "queue wait p50 -, p99 -" in lines
    assert "blackout p50 -, p99 -, max -; 0 over 300 ms" in lines


def test_a_fleet_of_no_vms_says_so_without_an_empty_list_of_outcomes(capsys):
    assert main(["fleet", "--preset", "demo", "--set", "fleet.vms.per_host=0"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "demo: 0 VMs on 8 hosts"  # not "demo: 0 VMs on 8 hosts; "
