"""The sweep page's links to the compare page: each opens a comparison, never the compare
page's "compare at most 6 runs at once" (a 3 x 3 sweep's "Compare all its runs" asked for 9),
and never names a run that is not finished (the compare page refuses those too)."""

import re

import pytest

from playground.fleets.run_views import COMPARE_MAX
from playground.fleets.sweeps import create_sweep
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def _sweep(visitor, xs, ys=None):
    return create_sweep(
        fleet=None,
        scenario=tiny(),
        x_param="caps.per_source_host",
        x_values=xs,
        y_param="caps.per_target_host" if ys else "",
        y_values=ys,
        metric="makespan_s",
        visitor=visitor,
    )


def _compare_links(client, sweep) -> list[str]:
    html = client.get(f"/fleets/sweeps/{sweep.pk}/").content.decode()
    return re.findall(r'href="(/fleets/runs/compare/\?runs=[^"]*)"', html)


def test_every_compare_link_of_a_big_sweep_opens_a_comparison_and_together_they_cover_it(
    client, alice
):
    sweep = _sweep(alice, [1, 2, 3], [1, 2, 3])  # 9 runs, more than the compare page takes
    for run in sweep.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    links = _compare_links(client, sweep)
    assert links
    covered = set()
    for link in links:
        page = client.get(link)
        assert page.status_code == 200, (link, page.content.decode()[:300])
        ids = [int(i) for i in link.split("=", 1)[1].split(",")]
        assert 2 <= len(ids) <= COMPARE_MAX
        covered.update(ids)
    assert covered == set(sweep.runs.values_list("pk", flat=True))


def test_a_small_sweep_still_compares_all_its_runs_in_one_link(client, alice):
    sweep = _sweep(alice, [1, 2, 3])
    for run in sweep.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    ids = ",".join(str(pk) for pk in sweep.runs.order_by("id").values_list("pk", flat=True))
    assert _compare_links(client, sweep) == [f"/fleets/runs/compare/?runs={ids}"]
    assert client.get(f"/fleets/runs/compare/?runs={ids}").status_code == 200


def test_a_sweep_whose_runs_are_not_finished_links_no_comparison_of_them(client, alice):
    sweep = _sweep(alice, [1, 2, 3])
    first = sweep.runs.order_by("id").first()
    assert execute_run(kind="fleet", run_id=first.pk, publisher=RecordingPublisher())
    assert _compare_links(client, sweep) == []  # one finished run: nothing to compare it with


def test_the_results_the_page_polls_carry_its_compare_links(client, alice):
    """The page watched live draws its links from the results it polls; they were only in the
    page's own HTML, so they appeared on a reload."""
    sweep = _sweep(alice, [1, 2, 3])
    polled = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert polled["compare_links"] == []
    for run in sweep.runs.all():
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    polled = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert [
        f"/fleets/runs/compare/?runs={ids}" for _, ids in polled["compare_links"]
    ] == _compare_links(client, sweep)
