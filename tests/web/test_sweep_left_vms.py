"""A sweep's cell whose run left VMs where they were (stuck or aborted) says so beside its figure:
the heat map and the table showed such a run's short makespan as a plain, better value (a zone
where no VM can leave its host "finishes" in 0 ms)."""

import re

import pytest

from playground.fleets.sweeps import create_sweep
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db

# every host about full: no VM of the first host fits anywhere else, the rollout blocks
FULL_ZONE = {
    "name": "full",
    "seed": 1,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 64, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 1, "hosts": 4}],
        "vms": {"per_host": 8, "memory": ["7GiB", "8GiB"], "vcpus": [1, 2], "mix": {"idle": 1}},
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "events": [
        {
            "name": "patch",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": 1,
            "host_downtime": "5min",
        }
    ],
}


def _swept(scenario, visitor):
    sweep = create_sweep(
        fleet=None,
        scenario=scenario,
        x_param="caps.per_source_host",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=visitor,
    )
    for run in sweep.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    return sweep


def test_a_cell_whose_run_left_vms_stuck_says_how_many(client, alice):
    sweep = _swept(FULL_ZONE, alice)
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert [c["left"] for c in data["grid"][0]] == [32, 32]
    assert all(t.endswith(" (32 VMs stuck or aborted)") for t in data["text"][0]), data["text"]
    html = client.get(f"/fleets/sweeps/{sweep.pk}/").content.decode()
    cells = re.findall(r"<td data-cell><a [^>]*>([^<]*)</a>", html)
    assert cells == data["text"][0]
    # the heat map colours no such cell: a shorter makespan by leaving VMs is not better
    assert data["z_shown"][0] == [None, None] and None not in data["z"][0]


def test_a_cell_whose_run_moved_every_vm_is_the_figure_alone(client, alice):
    sweep = _swept(tiny(), alice)
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert [c["left"] for c in data["grid"][0]] == [0, 0]
    assert all(re.fullmatch(r"[0-9.]+", t) for t in data["text"][0]), data["text"]
    assert None not in data["z_shown"][0]
