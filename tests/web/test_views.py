import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

import playground
from playground.anatomy import services
from playground.anatomy.models import Run, RunEvent, Scenario
from playground.anatomy.views import ERROR_BAD_AFTER, ERROR_UNKNOWN_RUN
from playground.ops.ids import whole_number
from playground.runs.models import RunStatus

pytestmark = pytest.mark.django_db
PLAYGROUND = Path(playground.__file__).parent


@pytest.fixture
def queued(monkeypatch):
    """Capture the task's delay calls instead of talking to a broker."""
    calls = []
    from playground.runs import tasks

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: calls.append(run_id))
    return calls


def _run_with_events(params, events=(), status=RunStatus.DONE, *, owner):
    run = Run.objects.create(params=params, seed=params["seed"], status=status, owner=owner)
    for seq, event in enumerate(events, start=1):
        RunEvent.objects.create(run=run, seq=seq, kind=event["kind"], payload=event)
    return run


# --- the form page ---------------------------------------------------------------------------------


def test_the_form_page_shows_fields_with_units_and_defaults(client):
    html = client.get("/").content.decode()
    assert "Anatomy of a live migration" in html
    assert 'value="4GiB"' in html and 'value="10Gbit/s"' in html and 'value="300ms"' in html
    for name in (
        "memory",
        "workload",
        "dirty_rate",
        "working_set",
        "bandwidth",
        "policy",
        "downtime_limit",
        "auto_converge",
        "post_copy",
        "resolution",
        "speed",
        "seed",
    ):
        assert f'name="{name}"' in html


def test_the_form_posts_without_javascript_and_is_enhanced_by_htmx(client):
    html = client.get("/").content.decode()
    assert 'method="post" action="/runs/"' in html
    assert 'hx-post="/runs/"' in html


def test_pages_load_scripts_only_from_this_server(client, user, valid_params):
    run = _run_with_events(valid_params, owner=user)
    for url in ("/", f"/runs/{run.pk}/", "/runs/"):
        html = client.get(url).content.decode()
        sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert sources, url
        assert all(s.startswith(("/", "data:")) for s in sources), sources


def test_plotly_and_htmx_are_served_from_the_installed_packages():
    plotly_js = finders.find("plotly/plotly.min.js")
    htmx_js = finders.find("django_htmx/htmx-2.min.js")
    assert plotly_js and "site-packages/plotly/package_data" in plotly_js
    assert htmx_js and "django_htmx" in htmx_js
    assert finders.find("plotly/widgetbundle.js") is None  # only the one file is exposed


def test_a_scenario_prefills_the_form(client):
    Scenario.objects.create(
        slug="busy", title="Busy", description="d", params={"memory": "16GiB", "workload": "cache"}
    )
    html = client.get("/?scenario=busy").content.decode()
    assert 'value="16GiB"' in html
    assert '<option value="cache" selected>' in html


# --- creating runs ---------------------------------------------------------------------------------


def test_a_valid_post_creates_a_queued_run_and_redirects_to_it(
    client, form_data, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/runs/", form_data)
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.status == RunStatus.QUEUED
    assert run.params["memory"] == "4GiB" and run.seed == 1
    assert queued == [run.pk]


def test_the_task_is_queued_only_after_the_run_is_committed(
    client, form_data, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/runs/", form_data)
    assert queued == []
    assert len(callbacks) == 1


def test_bad_input_is_a_422_with_the_reason_next_to_the_field(client, form_data, queued):
    response = client.post("/runs/", {**form_data, "bandwidth": "fast"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_bandwidth_error"' in html
    assert "Please fix the fields marked below" in html
    assert 'value="fast"' in html  # what was typed stays
    assert Run.objects.count() == 0 and queued == []


def test_htmx_bad_input_returns_only_the_form(client, form_data):
    response = client.post(
        "/runs/", {**form_data, "memory": "lots"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="anatomy-form"')
    assert 'id="id_memory_error"' in html


def test_htmx_success_redirects_the_browser_to_the_run(client, form_data, queued):
    response = client.post("/runs/", form_data, headers={"HX-Request": "true"})
    run = Run.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/runs/{run.pk}/"


def test_only_get_and_post_are_allowed_on_runs(client):
    assert client.put("/runs/").status_code == 405


# --- the run page, the list, re-runs ---------------------------------------------------------------


def test_the_run_page_says_where_to_listen_and_how_fast_to_play(client, user, valid_params):
    run = _run_with_events({**valid_params, "speed": "100"}, owner=user)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert f'"ws_path": "/ws/runs/{run.pk}/"' in html
    assert '"speed": "100"' in html
    assert 'id="chart-timeline"' in html and 'id="chart-memory"' in html


def test_a_finished_run_shows_its_summary_without_javascript(client, user, valid_params):
    events = [
        {"kind": "phase_start", "phase": "guest_notice", "t_s": 0.0, "explain": "x"},
        {"kind": "summary", "t_s": 1.0, "result": {"blackout_s": 0.0515, "outcome": "migrated"}},
    ]
    run = _run_with_events(valid_params, events, owner=user)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    # the outcome in the words of migrationsim/outcomes.py alone, its code in data-outcome
    assert "51.5 ms" in html and "Done: the VM runs on the target host." in html
    assert 'data-outcome="completed"' in html and '<code class="code">completed</code>' not in html
    assert ">: completed</span>" in html and "completed completed" not in html


def test_an_unknown_run_is_a_404(client):
    assert client.get("/runs/999/").status_code == 404


def test_the_run_list_shows_runs_with_their_blackout_and_a_rerun_link(client, user, valid_params):
    run = _run_with_events(
        valid_params,
        [{"kind": "summary", "t_s": 1.0, "result": {"blackout_s": 0.2, "total_time_s": 25.0}}],
        owner=user,
    )
    html = client.get("/runs/").content.decode()
    assert f'href="/runs/{run.pk}/"' in html
    assert f'href="/?from={run.pk}"' in html
    assert "200 ms" in html and "25 s" in html


def test_rerun_prefills_the_form_with_the_same_seed_and_parameters(client, user, valid_params):
    run = _run_with_events(
        {**valid_params, "seed": 4242, "memory": "12GiB", "policy": "xen"}, owner=user
    )
    html = client.get(f"/?from={run.pk}").content.decode()
    assert 'value="4242"' in html and 'value="12GiB"' in html
    assert '<option value="xen" selected>' in html
    assert f'Re-running <a href="/runs/{run.pk}/">run {run.pk}</a>' in html


# --- events as JSON ---------------------------------------------------------------------------------


def test_events_json_pages_by_sequence_number(client, user, valid_params):
    run = _run_with_events(
        valid_params,
        [{"kind": "notice", "t_s": float(i), "value": "x"} for i in range(5)],
        owner=user,
    )
    data = client.get(f"/runs/{run.pk}/events.json?after=2").json()
    assert [e["seq"] for e in data["events"]] == [3, 4, 5]
    assert data["status"] == "done" and data["complete"] is True


def test_events_json_rejects_a_bad_after_with_a_reason(client, user, valid_params):
    run = _run_with_events(valid_params, owner=user)
    response = client.get(f"/runs/{run.pk}/events.json?after=-1")
    assert response.status_code == 400
    assert response.json() == {"error": ERROR_BAD_AFTER}


@pytest.mark.parametrize(
    "text, number",
    [("0", 0), ("42", 42), ("9" * 12, 999_999_999_999), ("9" * 13, None), ("-1", None)]
    + [("1e3", None), (" 1", None), ("+1", None), ("\u0663", None), ("", None)],
)
def test_every_number_in_a_request_is_read_by_one_rule(text, number):
    """A run's id (?from=, ?from_run=, ?runs=), the fleet form's event count, ?after=, a
    metadata timeout: 12 digits 0-9 at most, no sign, no other script's digits. One rule
    (``ops.ids``), where each view had its own copy of the pattern."""
    assert whole_number(text) == number
    copies = [
        str(path.relative_to(PLAYGROUND))
        for path in PLAYGROUND.rglob("*.py")
        if "{1,12}" in path.read_text() and path != PLAYGROUND / "ops" / "ids.py"
    ]
    assert copies == []


def test_events_json_for_an_unknown_run_is_a_404_with_a_reason(client):
    response = client.get("/runs/999/events.json")
    assert response.status_code == 404
    assert response.json() == {"error": ERROR_UNKNOWN_RUN}


def test_create_run_stores_the_seed(valid_params, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.create_run(params={**valid_params, "seed": 7})
    assert run.seed == 7 and queued == [run.pk]


def test_an_after_too_long_to_be_a_sequence_number_is_refused_saying_the_range(
    client, user, valid_params
):
    """13 digits is a whole number >= 0, which the message asked for: it says the range now,
    the same words on every endpoint that takes ``after`` (runs.after)."""
    run = _run_with_events(valid_params, owner=user)
    response = client.get(f"/runs/{run.pk}/events.json?after=1234567890123")
    assert response.status_code == 400
    assert response.json() == {"error": "after must be a whole number from 0 to 999,999,999,999"}
    assert client.get(f"/runs/{run.pk}/events.json?after=999999999999").status_code == 200
