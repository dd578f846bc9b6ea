"""A sweep's cell whose run left VMs where they were (stuck or aborted) says so beside its figure:
the heat map and the table showed such a run's short makespan as a plain, better value (a zone
where no VM can leave its host "finishes" in 0 ms)."""

import re

import pytest

from migrationsim import humanize
from playground.fleets.sweeps import create_sweep
from playground.runs.pipeline import execute_run
from tests.sim.fleet_support import FULL_ZONE

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


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
    makespans = [r.summary["makespan_s"] for r in sweep.runs.order_by("id")]
    assert data["text"][0] == [humanize.duration(m) for m in makespans]
    assert None not in data["z_shown"][0]
