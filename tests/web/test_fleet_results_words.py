"""The fleet run's results say what each count counts, in words a new user reads once: the
labels alone (the codes stay in data- attributes for scripts), a crash restarted on another
host told on the crashed row, and "restarted elsewhere" named for the VMs it counts."""

import pytest
from django.utils.html import escape

from migrationsim import outcomes
from migrationsim.fleet.text import preset_scenario
from playground.fleets import services as fleet_services
from playground.runs.pipeline import execute_run

from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def _finished(preset: str, visitor):
    run = fleet_services.start_run(scenario=preset_scenario(preset), queue=False, visitor=visitor)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


@pytest.fixture
def hw_failure_run(alice):
    """hw-failure: 10 VMs crash with their failing host, and all 10 restart on another host."""
    run = _finished("hw-failure", alice)
    assert run.summary["outcomes"]["crashed"] == run.summary["crashed_restarted"] == 10
    return run


def _row(html: str, code: str) -> str:
    row = html[html.index(f'<tr data-outcome="{code}">') :]
    return row[: row.index("</tr>")]


def test_the_crashed_row_says_how_many_of_them_were_restarted_on_another_host(
    client, hw_failure_run
):
    html = client.get(f"/fleets/runs/{hw_failure_run.pk}/results/").content.decode()
    crashed = _row(html, "crashed")
    assert "failed: source crash (10 then restarted on another host)" in crashed
    assert "<td>10</td>" in crashed
    # the outcome that reads 0 says it counts VMs stopped, not VMs that crashed
    restarted = _row(html, "restarted")
    assert "stopped and restarted elsewhere" in restarted and "<td>0</td>" in restarted
    assert escape(outcomes.fleet_outcome("restarted").sentence) in restarted
    assert "counted as crashed" in outcomes.fleet_outcome("restarted").sentence


def test_the_live_counters_say_where_a_crash_restarted_elsewhere_is_counted(client, hw_failure_run):
    page = client.get(f"/fleets/runs/{hw_failure_run.pk}/").content.decode()
    counters = page[page.index('<ul class="counts" id="counts">') :]
    counters = counters[: counters.index("</ul>")]
    stopped = counters[counters.index('data-count="terminated"') :]
    stopped = stopped[: stopped.index("</li>")]
    failed = counters[counters.index('data-count="failed"') :]
    failed = failed[: failed.index("</li>")]
    assert stopped.endswith("stopped (terminated or restarted elsewhere)")
    assert "not counted here but under aborted or crashed" in stopped
    assert "counted here even when it was then restarted on another host" in failed


@pytest.fixture
def demo_run(alice):
    """demo: 44 migrated, 2 terminated, 2 stopped and restarted elsewhere."""
    return _finished("demo", alice)


def test_the_outcomes_say_their_label_once_never_the_code_beside_it(client, demo_run):
    """The outcome table and the VM table read "migrated", not "migrated migrated": the label
    alone, the code kept in ``data-outcome`` for scripts and tests."""
    html = client.get(f"/fleets/runs/{demo_run.pk}/results/").content.decode()
    for code, n in demo_run.summary["outcomes"].items():
        row = _row(html, code)
        said = outcomes.fleet_outcome(code)
        assert f'title="{escape(said.sentence)}">{escape(said.label)}</th>' in row
        assert f"<td>{n}</td>" in row and "<code" not in row
    vms = html[html.index('id="problem-vms"') :]
    vms = vms[: vms.index("</table>")]
    assert '<td data-outcome="terminated"' in vms and '<td data-outcome="restarted"' in vms
    assert '<code class="code">terminated</code>' not in vms
    assert '<code class="code">restarted</code>' not in vms
    assert "terminated terminated" not in vms and "restarted elsewhere restarted" not in vms


def test_the_runs_list_and_the_comparison_say_each_outcome_once(client, alice, demo_run):
    other = _finished("demo", alice)
    listed = client.get("/fleets/runs/").content.decode()
    compared = client.get(f"/fleets/runs/compare/?runs={demo_run.pk},{other.pk}").content.decode()
    assert 'data-outcome="migrated" title="' in listed and ">migrated 44</span>" in listed
    assert '<tr data-outcome="migrated"><th scope="row"' in compared
    assert ">VMs migrated</th>" in compared
    for html in (listed, compared):
        assert '<code class="code">migrated</code>' not in html


def test_a_failure_drawn_beyond_the_ceiling_is_said_not_simulated_and_the_run_not_stopped(
    client, alice
):
    scenario = preset_scenario("hw-failure")
    scenario["events"][0]["failure_after"] = "1e12s"
    run = fleet_services.start_run(scenario=scenario, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    html = client.get(f"/fleets/runs/{run.pk}/results/").content.decode()
    assert 'id="results-stopped"' not in html
    said = html[html.index('id="results-unsimulated-failures"') :]
    said = said[: said.index("</p>")]
    assert "rack1-h3 (dimm-failure) would fail only after" in said
    assert "beyond the 10.0 years this simulator follows" in said
    assert run.summary["makespan_s"] < 86400.0
