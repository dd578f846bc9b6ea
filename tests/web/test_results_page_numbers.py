"""The results page writes its counts with thousands separators, as its own summary table does
('Migrations 273,167'): the outcomes table of the region run read '245735' under it."""

import pytest

from playground.fleets import services as fleet_services
from playground.runs.pipeline import execute_run

from .support import RecordingPublisher
from .test_plan_page_numbers import ZONE

pytestmark = pytest.mark.django_db


def test_the_outcome_counts_have_thousands_separators(alice, client):
    run = fleet_services.start_run(scenario=ZONE, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert run.summary["outcomes"]["unaffected"] == 1080  # the 9 racks not patched
    html = client.get(f"/fleets/runs/{run.pk}/results/").content.decode()
    row = html[html.index('<tr data-outcome="unaffected">') :]
    row = row[: row.index("</tr>")]
    assert "<td>1,080</td>" in row


def test_the_runs_list_outcome_counts_have_thousands_separators(alice, client):
    whole_zone = {**ZONE, "events": [{**ZONE["events"][0], "scope": {"zone": True}}]}
    run = fleet_services.start_run(scenario=whole_zone, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert run.summary["outcomes"]["migrated"] == 1200
    html = client.get("/fleets/runs/").content.decode()
    assert ">migrated 1,200</span>" in html
