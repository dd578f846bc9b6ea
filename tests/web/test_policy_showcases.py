"""The anatomy page's showcases of the convergence aids do what they say, and a run's page shows
what its aid did: the throttle chart for auto-converge, post-copy's row, chart and summary."""

import io
import json
import re

import pytest
from django.core.management import call_command

from migrationsim import simulate, stream
from playground.anatomy import runner
from playground.anatomy.forms import DEFAULTS
from playground.anatomy.management.commands.load_presets import RETIRED, SCENARIOS
from playground.anatomy.models import Run, RunEvent, Scenario
from playground.ops.templatetags.playground_tags import summary_rows
from playground.runs.models import RunStatus


def showcase(slug):
    return next(params for s, _title, _text, params in SCENARIOS if s == slug)


def result_of(values):
    """What a run of these form values (over the form's defaults) ends with."""
    return simulate(runner.validate({**DEFAULTS, **values})).to_dict()


def test_the_auto_converge_showcase_converges_because_of_auto_converge():
    values = showcase("cache-autoconverge")
    assert values["auto_converge"] is True
    with_it = result_of(values)
    without = result_of({**values, "auto_converge": False})
    assert with_it["outcome"] == "migrated" and with_it["converged"]
    assert with_it["stop_reason"] == "threshold_reached"
    assert 0.0 < with_it["throttle_max"] < 0.99  # throttled, and short of QEMU's maximum
    assert without["outcome"] == "aborted" and without["stop_reason"] == "timeout_abort"
    assert without["throttle_max"] == 0.0


def test_the_post_copy_showcase_completes_by_post_copy():
    values = showcase("muncher-postcopy")
    with_it = result_of(values)
    without = result_of({**values, "post_copy": False})
    assert with_it["outcome"] == "migrated" and with_it["stop_reason"] == "post_copy"
    assert with_it["postcopy"]["pages"] > 0
    assert without["outcome"] == "aborted"


@pytest.mark.parametrize("slug", [s for s, *_ in SCENARIOS])
def test_every_showcase_is_a_run_the_form_accepts(slug):
    runner.validate({**DEFAULTS, **showcase(slug)})


@pytest.mark.django_db
def test_loading_the_presets_removes_the_retired_showcases():
    Scenario.objects.create(slug=RETIRED[0], title="old", description="old", params={})
    call_command("load_presets", stdout=io.StringIO())
    assert sorted(Scenario.objects.values_list("slug", flat=True)) == sorted(
        s for s, *_ in SCENARIOS
    )


# --- a run's page --------------------------------------------------------------------------------


def stored_run(values, owner):
    params = {**DEFAULTS, **values}
    run = Run.objects.create(params=params, seed=1, status=RunStatus.DONE, owner=owner)
    events = [runner.event_payload(e) for e in stream(runner.validate(params), memory_map_cells=16)]
    RunEvent.objects.bulk_create(
        RunEvent(run=run, seq=seq, kind=e["kind"], payload=e) for seq, e in enumerate(events, 1)
    )
    return run


def page_config(html):
    found = re.search(r'<script id="run-config" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_a_post_copy_run_shows_its_row_its_chart_and_its_summary_lines(client, user):
    run = stored_run({**showcase("muncher-postcopy"), "memory": "1GiB"}, user)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    names = [p["name"] for p in page_config(html)["phases"]]
    assert names.index("post_copy") == names.index("blackout") + 1
    assert 'id="chart-postcopy"' in html and 'id="chart-throttle"' not in html
    assert "js/anatomy_charts.js" in html
    labels = {label: value for label, value, _code in summary_rows(run.summary())}
    assert {"post-copy pages", "post-copy faults", "post-copy duration"} <= set(labels)
    for label in ("post-copy pages", "post-copy faults", "post-copy duration"):
        assert f'<th scope="row">{label}</th>' in html


@pytest.mark.django_db
def test_an_auto_converge_run_shows_the_throttle_chart_and_no_post_copy_row(client, user):
    run = stored_run({**showcase("cache-autoconverge"), "memory": "1GiB"}, user)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "post_copy" not in [p["name"] for p in page_config(html)["phases"]]
    assert 'id="chart-throttle"' in html and 'id="chart-postcopy"' not in html


def test_a_summary_without_post_copy_says_none_in_one_line():
    result = result_of({"memory": "1GiB", "workload": "web"})
    assert result["postcopy"] is None
    rows = [(label, value) for label, value, _code in summary_rows(result) if "post-copy" in label]
    assert rows == [("post-copy", "none")]
