"""Every page and export reads the one outcome table (``migrationsim/outcomes.py``): the run
page, its badge and summary, the past runs, the fleet results, the comparison, the CSV and the
summary JSON say the table's words: an outcome by its label or sentence alone, a reason in words
alone, never with the code printed beside them ("aborted", not "aborted aborted"); the code stays
in a ``data-outcome``, ``data-reason`` or ``data-code`` attribute. Numbers are humanised."""

import csv
import io
import json

import pytest
from django.utils.html import escape

from migrationsim import build_spec, humanize, outcomes, simulate
from playground.anatomy.models import Run, RunEvent
from playground.fleets import services as fleet_services
from playground.fleets.sweeps import _shown
from playground.runs.models import RunStatus
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db

ABORTING = {"workload": "muncher", "completion_timeout": "30s", "timeout_action": "abort"}


def _stored_run(result: dict, owner, params) -> Run:
    run = Run.objects.create(params=params, seed=1, status=RunStatus.DONE, owner=owner)
    RunEvent.objects.create(
        run=run, seq=1, kind="summary", payload={"kind": "summary", "t_s": 1.0, "result": result}
    )
    return run


@pytest.fixture
def aborted_run(user, valid_params):
    return _stored_run(simulate(build_spec(**ABORTING)).to_dict(), user, valid_params)


def test_the_run_page_of_an_aborted_run_says_aborted_why_and_where_the_vm_is(client, aborted_run):
    html = client.get(f"/runs/{aborted_run.pk}/").content.decode()
    said = aborted_run.summary()["outcome_words"]
    assert escape(said["sentence"]) in html
    assert "keeps running on the source" in said["sentence"]
    assert "Done: the VM runs on the target host" not in html
    badge = html[html.index('<span id="run-outcome"') :]
    badge = badge[: badge.index("</span>")]
    assert 'data-outcome="aborted"' in badge and badge.endswith(">: aborted")
    assert "<code" not in badge


def test_the_summary_shows_bytes_and_durations_humanised(client, aborted_run):
    html = client.get(f"/runs/{aborted_run.pk}/summary/").content.decode()
    sent = aborted_run.summary()["bytes_sent"]
    assert "GiB" in html and "e+" not in html and f"{sent:.4g}" not in html
    stop = f'<td data-code="timeout_abort">{escape(outcomes.label("timeout_abort"))}</td>'
    assert f'<th scope="row">why pre-copy stopped</th>{stop}' in html
    assert '<td data-code="aborted">aborted</td>' in html
    assert "<code" not in html


def test_the_summary_fragment_is_a_404_until_the_run_has_one(client, user, valid_params):
    run = Run.objects.create(params=valid_params, seed=1, owner=user)
    assert client.get(f"/runs/{run.pk}/summary/").status_code == 404


def test_the_run_page_config_carries_the_words_of_a_summary_stored_without_them(
    client, user, valid_params
):
    old = {"outcome": "aborted", "stop_reason": "timeout_abort", "converged": False}
    run = _stored_run(old, user, valid_params)
    response = client.get(f"/runs/{run.pk}/")
    said = response.context["config"]["outcome"]
    assert said["code"] == "aborted" and "keeps running on the source" in said["sentence"]


def test_the_past_runs_show_each_runs_outcome(client, aborted_run, user, valid_params):
    completed = _stored_run(simulate(build_spec(memory="1GiB")).to_dict(), user, valid_params)
    html = client.get("/runs/").content.decode()
    assert "Outcome" in html
    assert 'data-outcome="aborted"' in html and '<code class="code">aborted</code>' not in html
    assert completed.summary()["outcome_words"]["label"] in html


def test_a_single_vm_run_says_its_outcome_once_never_aborted_aborted(client, aborted_run):
    """The run's badge, its summary sentence and table, the past runs and the form page's recent
    runs show the label (or the sentence) alone; the code is kept in a data- attribute."""
    pk = aborted_run.pk
    pages = {
        "run": client.get(f"/runs/{pk}/").content.decode(),
        "summary": client.get(f"/runs/{pk}/summary/").content.decode(),
        "runs": client.get("/runs/").content.decode(),
        "form": client.get("/").content.decode(),
    }
    said = aborted_run.summary()["outcome_words"]
    sentence, definition = escape(said["sentence"]), f'title="{escape(said["sentence"])}"'
    assert f'data-outcome="aborted" {definition}>: aborted</span>' in pages["run"]
    assert f'id="run-outcome-sentence" data-outcome="aborted">{sentence}</p>' in pages["summary"]
    assert (
        f'<span class="outcome-aborted" data-outcome="aborted" {definition}>aborted</span>'
        in (pages["runs"])
    )
    assert (
        f': <span class="outcome-aborted" data-outcome="aborted" {definition}>aborted</span>'
        in (pages["form"])
    )
    for html in pages.values():
        assert '<code class="code">' not in html and "aborted aborted" not in html


# --- fleets ----------------------------------------------------------------------------------


def _fleet_run(visitor, **changes):
    run = fleet_services.start_run(scenario=tiny(**changes), queue=False, visitor=visitor)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


@pytest.fixture
def aborting_fleet_run(alice):
    """Every target fails: each VM gives up after its attempts (aborted, target back-out)."""
    run = _fleet_run(alice, failures={"target_failure": 1.0})
    assert run.summary["outcomes"]["aborted"] > 0
    return run


def test_the_fleet_results_word_every_outcome_and_define_the_terms(client, aborting_fleet_run):
    html = client.get(f"/fleets/runs/{aborting_fleet_run.pk}/results/").content.decode()
    for code in aborting_fleet_run.summary["outcomes"]:
        said = outcomes.fleet_outcome(code)
        assert escape(said.label) in html and escape(said.sentence) in html
        assert f'data-outcome="{code}"' in html and f'<code class="code">{code}</code>' not in html
    for term in outcomes.TERMS.values():
        assert escape(term.label) in html and escape(term.sentence) in html
    assert "Did not converge" not in html
    # the problem VMs: the reason code in words (the code in data-reason)
    assert escape(outcomes.describe("target_failed")) in html
    assert 'data-reason="target_failed"' in html and '<code class="code">target_failed<' not in html


def test_the_vm_csv_has_the_words_of_each_code(client, aborting_fleet_run):
    response = client.get(f"/fleets/runs/{aborting_fleet_run.pk}/vms.csv")
    text = b"".join(response).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    aborted = [r for r in rows if r["outcome"] == "aborted"]
    assert aborted and all(r["outcome_words"] == "aborted" for r in aborted)
    assert all(r["reason_words"] == outcomes.describe(r["reason"]) for r in aborted)


def test_the_summary_json_carries_the_words(client, aborting_fleet_run):
    response = client.get(f"/fleets/runs/{aborting_fleet_run.pk}/summary.json")
    words = json.loads(response.content)["words"]
    assert words["outcomes"]["aborted"]["sentence"] == outcomes.TERMS["aborted"].sentence
    assert set(words["terms"]) == set(outcomes.TERMS)


def test_compare_words_the_outcomes(client, alice, aborting_fleet_run):
    other = _fleet_run(alice)
    response = client.get(f"/fleets/runs/compare/?runs={aborting_fleet_run.pk},{other.pk}")
    html = response.content.decode()
    for row in response.context["outcome_rows"]:
        assert row["label"] == outcomes.fleet_outcome(row["code"]).label
        assert f'<tr data-outcome="{row["code"]}">' in html
        assert f'<code class="code">{row["code"]}</code>' not in html
    assert escape(outcomes.TERMS["not_converged"].label.capitalize()) in html


def test_a_sweeps_durations_read_as_everywhere_else_and_its_charts_take_one_unit():
    """Each cell a duration as people read one (humanize.duration: "2 h 13 min", not "2.22" under
    "(h)"); the heat map's colours and the lines need numbers: one unit for them, on their axis."""
    statuses = [[RunStatus.DONE, RunStatus.DONE], [RunStatus.RUNNING, RunStatus.DONE]]
    shown = _shown("makespan_s", [[30.0, 8000.0], [None, 120.0]], statuses)
    assert shown["text"] == [["30 s", "2 h 13 min"], ["…", "2 min 0 s"]]
    assert shown["text"][0][1] == humanize.duration(8000.0)
    assert shown["label"] == "Makespan"  # over cells that each say their unit
    assert shown["axis_label"] == "Makespan (h)" and shown["unit"] == "h"
    assert shown["z"] == [[30.0 / 3600, 8000.0 / 3600], [None, 120.0 / 3600]]


def test_the_fleet_runs_list_shows_each_runs_outcomes(client, aborting_fleet_run):
    html = client.get("/fleets/runs/").content.decode()
    n = aborting_fleet_run.summary["outcomes"]["aborted"]
    definition = escape(outcomes.TERMS["aborted"].sentence)
    assert f'data-outcome="aborted" title="{definition}">aborted {n}</span>' in html
    assert '<code class="code">aborted</code>' not in html
    assert escape(outcomes.TERMS["aborted"].sentence) in html


def test_the_fleet_page_gives_the_waiting_chart_the_reasons_in_words(client, aborting_fleet_run):
    config = client.get(f"/fleets/runs/{aborting_fleet_run.pk}/").context["config"]
    assert config["reason_labels"]["head_of_line"] == outcomes.label("head_of_line")


def test_a_sweeps_table_shows_every_cell_as_a_duration_people_read(client, alice):
    import re

    from playground.fleets.sweeps import create_sweep

    sweep = create_sweep(
        fleet=None,
        scenario=tiny(),
        x_param="caps.per_source_host",
        x_values=[1, 2],
        metric="makespan_s",
        visitor=alice,
    )
    for run in sweep.runs.all():
        execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    html = client.get(f"/fleets/sweeps/{sweep.pk}/").content.decode()
    assert re.search(r"<caption[^>]*>Makespan</caption>", html), html
    cells = re.findall(r"<td data-cell><a [^>]*>([^<]*)</a>", html)
    makespans = [r.summary["makespan_s"] for r in sweep.runs.order_by("id")]
    assert cells == [humanize.duration(m) for m in makespans]
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert data["metric_label"] == "Makespan"
    assert data["axis_label"] == f"Makespan ({data['metric_unit']})"
    assert data["text"][0] == cells


def test_the_form_pages_recent_runs_show_their_outcome(client, aborted_run):
    html = client.get("/").content.decode()
    assert 'data-outcome="aborted"' in html and '<code class="code">aborted</code>' not in html


def test_someone_elses_run_summary_is_a_404(anon_client, aborted_run):
    assert anon_client.get(f"/runs/{aborted_run.pk}/summary/").status_code == 404


def test_the_summary_says_the_deepest_throttle_as_a_percent(client, user, valid_params):
    result = simulate(build_spec(memory="8GiB", workload="cache", auto_converge=True)).to_dict()
    assert 0 < result["throttle_max"] < 1
    run = _stored_run(result, user, valid_params)
    html = client.get(f"/runs/{run.pk}/summary/").content.decode()
    row = html[html.index('<th scope="row">throttle max</th>') :][:80]
    assert f"<td>{humanize.percent(result['throttle_max'])}</td>" in row, row
    assert f"<td>{result['throttle_max']}</td>" not in row


def test_the_run_page_says_its_parameters_in_their_units(client, user, valid_params):
    params = {**valid_params, "bandwidth": "1250000000", "memory": "4294967296"}  # as typed
    run = _stored_run(simulate(build_spec(memory="1GiB")).to_dict(), user, params)
    shown = dict(client.get(f"/runs/{run.pk}/").context["params"])
    assert shown["Link bandwidth"] == "10 Gbit/s" and shown["VM memory"] == "4.0 GiB"
    assert shown["Downtime limit"] == humanize.duration(0.3)
