"""A VM still waiting for a target when the run ends says why in words, with the figures the
engine found: the event log said "no host can take it: of 2 candidates, 2 hold its
anti-affinity group", but the VM's record, the plan and the VM table said only "no_target"
("no host could take it"), so the anti-affinity rule that blocked the whole rollout was named
nowhere but in the event log."""

from migrationsim.fleet import FleetRun, parse_scenario
from migrationsim.fleet.plan import plan

# one anti-affinity group holding every VM: no host may take a VM of another
ONE_GROUP = {
    "name": "one-group",
    "seed": 3,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 1, "hosts": 3}],
        "vms": {
            "per_host": 6,
            "memory": ["2GiB", "4GiB"],
            "vcpus": [1, 2],
            "mix": {"web": 1},
            "anti_affinity_groups": 1,
            "anti_affinity_share": 1.0,
        },
    },
    "policy": {"name": "qemu"},
    "events": [
        {
            "name": "k",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": 1,
            "host_downtime": "5min",
        }
    ],
}
SAID = "no host can take it: of 2 candidates, 2 hold its anti-affinity group"


def test_the_vm_at_the_head_of_a_blocked_queue_keeps_the_engines_words():
    run = FleetRun(parse_scenario(ONE_GROUP)).run()
    head = [r for r in run.records if r.wait_reason == "no_target"]
    assert len(head) == 1 and head[0].outcome == "stuck"
    assert head[0].reason == SAID


def test_the_plan_names_the_rule_that_blocks():
    gone = plan(ONE_GROUP)["not_handled"]
    row = next(v for v in gone["vms"] if v["code"] == "no_target")
    assert row["reason"] == SAID
    assert gone["hosts"][0]["reason"].endswith(f"(head_of_line: {SAID})")
