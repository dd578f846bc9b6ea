"""A relaxation that 'shortens' the makespan only by trying nothing is not a gain: with every
host out at once no VM has anywhere to go, all of them are stuck and the run ends at 0 ms. The
plan tried every migration (each timed out and was aborted), so as many VMs did not move, but
more of them were never even tried. The plan said the hosts-out-at-once limit binds: "the
makespan falls from 1 h 58 min to 0 ms (-100 %)"."""

from migrationsim.fleet.plan import plan

from .fleet_support import MUNCHERS, munchers


def test_a_relaxation_that_leaves_every_vm_stuck_is_never_the_binding_limit():
    binding = plan(MUNCHERS)["binding_limit"]
    rows = {r["constraint"]: r for r in binding["table"]}
    at_once = rows["hosts_at_once"]
    assert at_once["makespan_s"] == 0 and at_once["vms_stuck"] == 32
    assert at_once["vms_not_moved"] == rows["max_bandwidth"]["vms_not_moved"] + 12 == 32
    assert "less work done, so not a gain" in at_once["note"]
    assert "VMs stuck: 0 -> 32" in at_once["note"]
    assert binding["name"] != "hosts_at_once"
    assert not binding["sentence"].startswith("The hosts-out-at-once limit")
    assert "0 ms only by doing less: 32 VMs stuck (never tried) instead of 0" in binding["sentence"]


def test_a_plan_that_leaves_hosts_undone_names_what_keeps_them_undone_even_if_slower():
    """With a 300 s downtime limit the munchers migrate in long blackouts and the rollout blocks:
    all 4 hosts are left not handled. Bigger NICs shortened that (incomplete) run, and the plan
    named them; only more capacity lets every host be handled, and it takes longer to do so."""
    result = plan(munchers(downtime_limit="300s"))
    binding = result["binding_limit"]
    rows = {r["constraint"]: r for r in binding["table"]}
    assert rows["capacity"]["unfinished_hosts"] == 0 < rows["nic"]["unfinished_hosts"]
    assert rows["nic"]["change_pct"] < rows["capacity"]["change_pct"]  # NICs: the shorter run
    assert binding["name"] == "capacity"
    assert binding["sentence"].startswith("The placement capacity")
    assert "the makespan grows from" in binding["sentence"]
    assert "0 hosts left not handled instead of 4" in binding["sentence"]
