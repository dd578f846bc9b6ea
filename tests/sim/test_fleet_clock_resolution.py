"""A fleet's clock counts seconds since the run began; a migration's pre-copy keeps its own clock
from its start. Twelve hours in, the fleet's clock cannot tell apart instants a few picoseconds
apart (its resolution at 43,272 s is 7e-12 s), while a migration's rate window, seconds into its
own clock, still can. A round whose check was picoseconds away was woken at its own instant,
sent nothing, ended short of the check and was woken at once again: the run spun there until
the ceiling of actions stopped it (a 2,000,000-VM region never finished; this fleet of 4,000
VMs spun 4 million times). Woken again at the instant of its last advance, a migration now
sends the picoseconds left of its round (``SharedPrecopy.finish_round``)."""

from migrationsim.fleet import FleetRun, parse_scenario, summarize

# the region preset's hosts, VMs and policy in one zone of 10 racks, a rolling kernel upgrade
# that starts 12 hours in (seed 6: one of its migrations meets the instant at 43,272 s)
TWELVE_HOURS_IN = {
    "name": "twelve-hours-in",
    "seed": 6,
    "fleet": {
        "zone": "region-1-a",
        "host": {"vcpus": 96, "memory": "384GiB", "nic": "25Gbit/s"},
        "racks": [{"name": "a-r", "count": 10, "hosts": 25, "uplink": "100Gbit/s"}],
        "vms": {
            "per_host": 16,
            "memory": ["1GiB", "16GiB"],
            "vcpus": [1, 4],
            "mix": {"idle": 0.3, "web": 0.35, "oltp": 0.2, "cache": 0.1, "analytics": 0.05},
            "customers": 2000,
            "gpu_share": 0.01,
            "spot_share": 0.03,
            "watching_share": 0.3,
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms", "auto_converge": True},
    "caps": {"per_source_host": 4, "per_target_host": 4},
    "network": {"migration_share": 0.5},
    "events": [
        {
            "name": "kernel",
            "kind": "kernel_upgrade",
            "scope": {"zones": ["region-1-a"]},
            "start": "12h",
            "max_hosts_in_maintenance": "10%",
            "host_downtime": "5min",
        }
    ],
}


def test_a_round_picoseconds_from_its_check_twelve_hours_in_ends_and_the_run_finishes():
    run = FleetRun(parse_scenario(TWELVE_HOURS_IN), round_events=False).run()
    summary = summarize(run)
    assert run.stopped is None, run.stopped
    # about 13 actions a VM, as any run of this fleet (it spun to 1,000 a VM, the ceiling)
    assert run.actions < 20 * summary["vms"]
    assert summary["outcomes"]["stuck"] == 0 and summary["outcomes"]["aborted"] == 0
