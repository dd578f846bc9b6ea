"""The binding limit compares like with like (issue #14): a relaxation that shortens the makespan
by leaving more hosts not handled or more VMs not moved did less work, not faster work; it is
never named as the binding limit. One that does more work says so."""

from collections import Counter
from types import SimpleNamespace

from migrationsim.fleet import parse_scenario
from migrationsim.fleet.binding import CONSTRAINTS, binding_limit

from .fleet_support import scenario

SUBJECT = parse_scenario(
    scenario(
        racks=2,
        hosts=2,
        vms=[(f"v{i}", "r1-h1", "2GiB", "idle") for i in range(4)],
        policy={"name": "qemu"},
        events=[{"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}}],
    )
)
BASE_NIC = SUBJECT.racks[0].nic_bps


class Outcome:
    """What ``binding_limit`` reads from one engine run."""

    def __init__(self, makespan_s, hosts_left=0, vms_left=0):
        self.makespan_s = makespan_s
        self._hosts, self._vms = hosts_left, vms_left
        every_code = Counter({code: 1 for _, code in CONSTRAINTS.values() if code})
        self.observer = SimpleNamespace(queued=every_code, deadlines=[])

    def unfinished_hosts(self):
        return self._hosts

    def deadline_reboots(self):
        return 0

    def vms_not_moved(self):
        return self._vms

    def vms_stuck(self):
        return 0

    def vms_moved(self):
        return 100 - self._vms  # of a hundred VMs asked to leave


def runner_for(*, cap, nic, other):
    """A stand-in engine: the outcome of each relaxation, told apart by what it changed."""

    def runner(s, capacity_factor=1.0):
        cap_relaxed = s.policy.get("max_bandwidth") is not None
        nic_relaxed = s.racks[0].nic_bps > BASE_NIC
        if cap_relaxed and nic_relaxed:
            return Outcome(50.0, *nic[1:])  # all together: no less work than the NIC alone
        if cap_relaxed:
            return Outcome(*cap)
        if nic_relaxed:
            return Outcome(*nic)
        return Outcome(*other)

    return runner


def test_a_relaxation_that_is_faster_only_because_it_leaves_hosts_unhandled_does_not_bind():
    runner = runner_for(cap=(100.0, 5, 20), nic=(800.0, 0, 0), other=(1000.0, 0, 0))
    binding = binding_limit(SUBJECT, Outcome(1000.0), 4, 2.0, runner=runner)
    assert binding["name"] == "nic", binding["sentence"]
    assert binding["sentence"].startswith("The host NIC bandwidth")
    assert "only by doing less: 5 hosts left not handled instead of 0" in binding["sentence"]
    row = next(r for r in binding["table"] if r["constraint"] == "max_bandwidth")
    assert row["change_pct"] == -90.0 and "less work done, so not a gain" in row["note"]


def test_when_no_comparable_relaxation_is_faster_no_limit_is_named():
    runner = runner_for(cap=(100.0, 1, 0), nic=(1000.0, 0, 0), other=(1000.0, 0, 0))
    binding = binding_limit(SUBJECT, Outcome(1000.0), 4, 2.0, runner=runner)
    assert binding["name"] == "none"
    assert "only by doing less" in binding["sentence"]


def test_a_relaxation_that_is_faster_and_does_more_work_says_so():
    runner = runner_for(cap=(1000.0, 3, 12), nic=(600.0, 1, 4), other=(1000.0, 3, 12))
    binding = binding_limit(SUBJECT, Outcome(1000.0, 3, 12), 4, 2.0, runner=runner)
    assert binding["name"] == "nic"
    assert (
        "and it does more work: 1 host left not handled instead of 3, "
        "4 VMs not moved instead of 12" in binding["sentence"]
    )
