"""Limits: how often a visitor may start runs and sweeps (a sliding window per user, or per
anonymous session and per client address; HTTP 429 with a readable message, in the form for
htmx), how big a request body may be (413 before it is read), how big an upload may be, and
what one run may cost a worker (it fails with the reason instead of computing for hours)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.testing import HttpCommunicator
from django.test import Client
from django.utils import timezone

from migrationsim.fleet.text import MAX_SCENARIO_CHARS
from playground.accounts.models import RateLimitHit
from playground.anatomy.models import Run
from playground.asgi import application
from playground.fleets import services as fleet_services
from playground.fleets.forms import MAX_EVENTS
from playground.fleets.models import Fleet, FleetRun, Sweep
from playground.runs import pipeline
from playground.runs.models import RunStatus

from ..fleet_support import fleet_post_data, planned, tiny
from ..support import RecordingPublisher

pytestmark = pytest.mark.django_db


# --- starting runs and sweeps ----------------------------------------------------------------------


def test_the_defaults_are_realistic():
    """On, and enough for a teacher re-running or a demo; the environment may change them
    (README "Accounts and limits")."""
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLAYGROUND_") or k == "PLAYGROUND_VAR_DIR"
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PLAYGROUND_RUNS_PER_MINUTE, s.PLAYGROUND_SWEEPS_PER_HOUR, s.PLAYGROUND_MAX_REQUEST_BYTES)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    runs, sweeps, body = map(int, out.stdout.split())
    assert 10 <= runs <= 60 and 1 <= sweeps <= 60 and body <= 8 * 1024 * 1024
    tuned = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PLAYGROUND_RUNS_PER_MINUTE": "7"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert tuned.stdout.split()[0] == "7"


def test_a_user_who_starts_too_many_runs_gets_429_with_the_reason(client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 2
    assert [client.post("/runs/", form_data).status_code for _ in range(2)] == [302, 302]
    response = client.post("/runs/", form_data)
    assert response.status_code == 429
    assert (
        "You started 2 runs in the last minute (the limit). Try again in"
        in response.content.decode()
    )
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Run.objects.count() == 2


def test_htmx_gets_the_form_back_with_the_reason(client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    client.post("/runs/", form_data)
    response = client.post("/runs/", form_data, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 429 and html.startswith('<form id="anatomy-form"')
    assert "the limit" in html and 'value="4GiB"' in html  # the values stay, the reason on top


def test_the_base_page_lets_htmx_swap_a_429():
    from django.template.loader import render_to_string

    config = render_to_string("base.html").split("htmx-config\" content='", 1)[1].split("'", 1)[0]
    assert {"code": "429", "swap": True} in json.loads(config)["responseHandling"]


def test_each_user_has_their_own_budget(client, bob_client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    assert client.post("/runs/", form_data).status_code == 302
    assert client.post("/runs/", form_data).status_code == 429
    assert bob_client.post("/runs/", form_data).status_code == 302


def test_the_window_slides(client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    assert client.post("/runs/", form_data).status_code == 302
    assert client.post("/runs/", form_data).status_code == 429
    RateLimitHit.objects.update(at=timezone.now() - timedelta(seconds=61))  # a minute later
    RateLimitHit.objects.create(
        bucket="runs", key="visitor:gone", at=timezone.now() - timedelta(hours=2)
    )
    assert client.post("/runs/", form_data).status_code == 302
    assert RateLimitHit.objects.count() == 1  # old hits are cleared out, anyone's


def test_bad_input_does_not_count(client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    assert client.post("/runs/", {**form_data, "memory": "lots"}).status_code == 422
    assert client.post("/runs/", form_data).status_code == 302


def test_anonymous_sessions_from_one_address_share_a_budget(form_data, settings):
    """A script that drops its cookies gets a new session each time, not a new budget."""
    settings.PLAYGROUND_RUNS_PER_MINUTE = 2
    settings.PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR = 2
    codes = [Client().post("/runs/", form_data).status_code for _ in range(5)]
    assert codes == [302, 302, 302, 302, 429]
    refused = Client().post("/runs/", form_data).content.decode()
    assert "Anonymous visitors from your address started 4 runs" in refused
    assert Client(REMOTE_ADDR="10.0.0.9").post("/runs/", form_data).status_code == 302


def test_an_anonymous_session_has_the_same_budget_as_a_user(anon_client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    assert anon_client.post("/runs/", form_data).status_code == 302
    response = anon_client.post("/runs/", form_data)
    assert (
        response.status_code == 429
        and "signed-in users have their own budget" in response.content.decode()
    )


def test_approving_a_plan_counts_as_starting_a_run(client, alice, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 302
    response = client.post(f"/fleets/{fleet.pk}/plan/")
    assert response.status_code == 429 and 'id="plan-refused"' in response.content.decode()
    assert FleetRun.objects.count() == 1


def test_opening_a_vms_anatomy_counts_as_starting_a_run(client, alice, settings):
    from .conftest import finish

    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    run = finish(fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice))
    vm = run.vms.first().name
    assert client.post(f"/fleets/runs/{run.pk}/vms/{vm}/anatomy/").status_code == 302
    response = client.post(f"/fleets/runs/{run.pk}/vms/{vm}/anatomy/")
    assert response.status_code == 429 and 'id="refused"' in response.content.decode()
    assert Run.objects.count() == 1


def test_sweeps_have_their_own_budget(client, alice, settings):
    settings.PLAYGROUND_SWEEPS_PER_HOUR = 1
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sweep = {"x_param": "seed", "x_values": "1, 2", "metric": "makespan_s"}
    assert client.post(f"/fleets/{fleet.pk}/sweep/", sweep).status_code == 302
    response = client.post(f"/fleets/{fleet.pk}/sweep/", sweep)
    assert response.status_code == 429
    assert "You started 1 sweeps in the last hour" in response.content.decode()
    assert 'id="sweep-form"' in response.content.decode()  # the form, to try again later
    assert Sweep.objects.count() == 1 and FleetRun.objects.count() == 2


def test_a_sweep_over_the_budget_is_refused_before_its_grid_is_validated(
    client, alice, settings, monkeypatch
):
    """Over PLAYGROUND_SWEEPS_PER_HOUR, every point of the grid was still validated (seconds
    of CPU for a fleet listing its VMs) before the 429, and the form's checks were counted
    nowhere. Now nothing is validated over the budget, and each form sent counts as a
    scenario to check."""
    from playground.fleets import sweep_forms

    settings.PLAYGROUND_SWEEPS_PER_HOUR = 1
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sweep = {"x_param": "seed", "x_values": "1, 2", "metric": "makespan_s"}
    assert client.post(f"/fleets/{fleet.pk}/sweep/", sweep).status_code == 302
    validated = []
    monkeypatch.setattr(sweep_forms, "validate", lambda s: validated.append(1))
    response = client.post(f"/fleets/{fleet.pk}/sweep/", sweep)
    page = response.content.decode()
    assert response.status_code == 429 and "You started 1 sweeps in the last hour" in page
    assert 'id="sweep-form"' in page and "1, 2" in page and validated == []
    settings.PLAYGROUND_SWEEPS_PER_HOUR = 0
    settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 1
    assert client.post(f"/fleets/{fleet.pk}/sweep/", {**sweep, "x_values": "x"}).status_code == 422
    refused = client.post(f"/fleets/{fleet.pk}/sweep/", sweep)
    assert refused.status_code == 429 and "scenarios to check" in refused.content.decode()
    assert validated == [] and Sweep.objects.count() == 1


def test_fleets_saved_have_their_own_budget(client, alice, settings):
    """Each fleet is a stored scenario (megabytes for an upload listing its VMs): a visitor
    saves at most PLAYGROUND_FLEETS_PER_HOUR of them, from a preset or an upload alike; an
    upload refused for its content does not count."""
    settings.PLAYGROUND_FLEETS_PER_HOUR = 2
    assert client.post("/fleets/import/", {"text": "not: [a scenario"}).status_code == 422
    assert client.post("/fleets/import/", {"text": json.dumps(tiny())}).status_code == 302
    assert client.post("/fleets/from-preset/", {"preset": "demo"}).status_code == 302
    refused = client.post("/fleets/import/", {"text": json.dumps(tiny())})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "You saved 2 fleets in the last hour" in refused.content.decode()
    assert 'name="text"' in refused.content.decode()  # the import form, to try again later
    again = client.post("/fleets/from-preset/", {"preset": "demo"})
    assert again.status_code == 429 and "You saved 2 fleets" in again.content.decode()
    form = client.post("/fleets/new/", {**fleet_post_data(client, "/fleets/new/"), "name": "x"})
    assert form.status_code == 429 and int(form["Retry-After"]) > 0
    assert 'id="fleet-errors"' in form.content.decode()  # the fleet form, with the reason on top
    assert "You saved 2 fleets" in form.content.decode()
    assert Fleet.objects.count() == 2


def test_an_upload_over_the_fleet_budget_is_refused_before_it_is_read(
    client, alice, settings, monkeypatch
):
    """Over the limit, an upload was read and validated (seconds of CPU for one listing
    256,000 VMs) and only then refused: a visitor at the limit could still cost the server
    that much per request. The room is checked first, counting nothing."""
    from playground.fleets import import_forms

    settings.PLAYGROUND_FLEETS_PER_HOUR = 1
    assert client.post("/fleets/import/", {"text": json.dumps(tiny())}).status_code == 302
    read, real = [], import_forms.parse_text
    monkeypatch.setattr(import_forms, "parse_text", lambda *a, **k: read.append(1) or real(*a, **k))
    refused = client.post("/fleets/import/", {"text": json.dumps(tiny())})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "You saved 1 fleets in the last hour" in refused.content.decode()
    assert 'name="text"' in refused.content.decode()
    assert read == [] and Fleet.objects.count() == 1


def test_every_scenario_sent_to_check_counts_refused_or_not(client, alice, settings, monkeypatch):
    """A scenario listing 255,000 VMs costs seconds of CPU to read and validate, whether it is
    then stored or refused for a mistake at its end: refusals were never counted, so a visitor
    could repeat one without limit. Every upload and every fleet form sent counts in
    PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE; over it, nothing is read."""
    from playground.fleets import import_forms

    settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 2
    wrong = {"text": json.dumps(tiny(events=[{"kind": "nope"}]))}
    assert client.post("/fleets/import/", wrong).status_code == 422
    assert client.post("/fleets/import/", wrong).status_code == 422
    read, real = [], import_forms.parse_text
    monkeypatch.setattr(import_forms, "parse_text", lambda *a, **k: read.append(1) or real(*a, **k))
    refused = client.post("/fleets/import/", {"text": json.dumps(tiny())})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "You sent 2 scenarios to check in the last minute" in refused.content.decode()
    assert read == [] and not Fleet.objects.exists()


def test_a_fleet_form_sent_counts_as_a_scenario_to_check(client, alice, settings, monkeypatch):
    from playground.fleets import views

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 1
    posted = fleet_post_data(client, f"/fleets/{fleet.pk}/")
    assert client.post(f"/fleets/{fleet.pk}/", posted).status_code == 302
    checked, real = [], views.validate_fleet
    monkeypatch.setattr(views, "validate_fleet", lambda *a: checked.append(1) or real(*a))
    again = client.post(f"/fleets/{fleet.pk}/", posted)
    assert again.status_code == 429 and int(again["Retry-After"]) > 0
    page = again.content.decode()
    assert 'id="fleet-errors"' in page and "You sent 1 scenarios to check" in page
    assert checked == []


def test_posts_to_a_plan_page_count_as_scenarios_to_check(client, alice, settings, monkeypatch):
    """Every POST to the plan page (approve, with or without a plan done) validated the fleet's
    whole scenario (1.5 s of CPU for 250,000 listed VMs) before any limit was looked at; a
    visitor could repeat it without end. It now counts in PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE
    and, over it, nothing is validated."""
    from playground.fleets import views

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 2
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 409  # not planned yet
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 409
    checked, real = [], views.validate
    monkeypatch.setattr(views, "validate", lambda *a: checked.append(1) or real(*a))
    refused = client.post(f"/fleets/{fleet.pk}/plan/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "scenarios to check" in refused.content.decode() and checked == []


# --- request bodies and uploads --------------------------------------------------------------------


async def _post_asgi(body: bytes, headers: list) -> dict:
    communicator = HttpCommunicator(
        application, "POST", "/fleets/import/", body=body, headers=headers
    )
    return await communicator.get_response(timeout=10)


@pytest.mark.asyncio
async def test_a_body_declared_too_big_is_refused_before_it_is_read(settings):
    settings.PLAYGROUND_MAX_REQUEST_BYTES = 1000
    response = await _post_asgi(
        b"x" * 10, [(b"content-length", b"5000000000"), (b"host", b"127.0.0.1")]
    )
    assert response["status"] == 413 and b"at most 1,000 bytes" in response["body"]


@pytest.mark.asyncio
async def test_a_body_that_grows_too_big_without_a_length_is_refused(settings):
    settings.PLAYGROUND_MAX_REQUEST_BYTES = 1000
    response = await _post_asgi(b"x" * 5000, [(b"host", b"127.0.0.1")])  # chunked: no length
    assert response["status"] == 413


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_body_under_the_limit_reaches_django(settings):
    settings.PLAYGROUND_MAX_REQUEST_BYTES = 1000
    response = await _post_asgi(b"x" * 500, [(b"host", b"127.0.0.1"), (b"content-length", b"500")])
    assert response["status"] == 403  # Django's CSRF check: it got there


def test_the_default_body_cap_fits_the_biggest_upload():
    from django.conf import settings

    assert MAX_SCENARIO_CHARS < settings.PLAYGROUND_MAX_REQUEST_BYTES <= 8 * 1024 * 1024


def test_an_upload_over_the_scenario_size_is_refused_with_a_reason(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("zone.yaml", b"#" * (MAX_SCENARIO_CHARS + 1))
    response = client.post("/fleets/import/", {"file": big})
    assert (
        response.status_code == 422 and "larger than 2,000,000 bytes" in response.content.decode()
    )
    assert not Fleet.objects.exists()


def test_pasted_text_over_djangos_limit_is_a_413_naming_the_limit_not_a_500(client):
    response = client.post("/fleets/import/", {"text": "#" * (3 * 1024 * 1024)})
    assert response.status_code == 413 and not Fleet.objects.exists()
    assert "at most 2.5 MiB" in response.content.decode()


def test_an_upload_with_more_events_than_the_form_edits_is_refused(client):
    data = tiny()
    data["events"] = data["events"] * (MAX_EVENTS + 1)
    response = client.post("/fleets/import/", {"text": json.dumps(data)})
    assert (
        response.status_code == 422
        and f"events: at most {MAX_EVENTS} maintenance events" in response.content.decode()
    )


# --- what one run may cost a worker ------------------------------------------------------------------


def _forever() -> dict:
    """Valid, but maintenance that lasts 11,000 years of simulated time."""
    data = tiny()
    data["events"][0]["host_downtime"] = "100000000h"
    return data


def test_a_plan_beyond_the_playgrounds_span_cannot_be_approved(client, alice):
    fleet = fleet_services.create_fleet(scenario=_forever(), visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert (
        'id="plan-refused"' in page
        and "years of simulated time" in page
        and 'id="approve"' not in page
    )
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 422
    assert not FleetRun.objects.exists()


def test_a_fleet_run_past_its_frame_budget_fails_with_the_reason_at_once(settings):
    """A sweep point (no plan) whose frames pass the budget: stopped there, in seconds. (The
    scenario of maintenance lasting 11,000 years made frames until its budget while the engine
    only sampled; since session 15 frames after the last activity are held, not sent, and that
    run ends at the engine's ceiling instead: the budget is met by a run with more frames than
    it allows.)"""
    import time

    settings.PLAYGROUND_FLEET_MAX_FRAMES = 3
    run = fleet_services.start_run(scenario=tiny(), queue=False)
    started = time.monotonic()
    pipeline.execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and time.monotonic() - started < 30
    assert (
        "stopped after 3 progress frames" in run.error
        and "PLAYGROUND_FLEET_MAX_FRAMES" in run.error
    )
    assert run.events.count() == 3  # what it had, kept


def test_a_fleet_run_that_only_waits_for_its_ceiling_ends_there_within_its_budgets(settings):
    """Maintenance lasting 11,000 years: the engine samples and waits until its ceiling of
    simulated time; the run ends done, with the ceiling said, in seconds and a few frames."""
    import time

    run = fleet_services.start_run(scenario=_forever(), queue=False)
    started = time.monotonic()
    pipeline.execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and time.monotonic() - started < 30
    assert "ceiling" in run.summary["stopped"]
    assert run.events.count() < settings.PLAYGROUND_FLEET_MAX_FRAMES


def test_a_single_vm_run_past_its_event_budget_fails_with_the_reason(settings, valid_params):
    settings.PLAYGROUND_RUN_MAX_EVENTS = 5
    run = Run.objects.create(params=valid_params)
    pipeline.execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "stopped after 5 events" in run.error
    assert run.events.count() == 5


def test_a_run_past_its_wall_time_budget_fails_with_the_reason(settings, valid_params):
    settings.PLAYGROUND_RUN_MAX_WALL_S = 1e-9
    run = Run.objects.create(params=valid_params)
    pipeline.execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "PLAYGROUND_RUN_MAX_WALL_S" in run.error


def test_the_pages_resolution_is_capped_where_the_worker_would_need_gigabytes(client, form_data):
    ok = client.post("/runs/", {**form_data, "memory": "512GiB", "resolution": "pages"})
    assert ok.status_code == 302
    response = client.post("/runs/", {**form_data, "memory": "4TiB", "resolution": "pages"})
    assert response.status_code == 422 and 'id="id_resolution_error"' in response.content.decode()
    assert "a 1 TiB guest; use fluid" in response.content.decode()  # the model's own limit
    assert client.post("/runs/", {**form_data, "memory": "4TiB"}).status_code == 302  # fluid


def test_fleet_size_caps_are_field_errors(client, alice):
    from ..fleet_support import fleet_post_data

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    url = f"/fleets/{fleet.pk}/"
    for changes, field in (
        ({"racks": "200", "hosts_per_rack": "100"}, "racks"),
        ({"racks": "100", "hosts_per_rack": "100", "vms_per_host": "30"}, "vms_per_host"),
        ({"gpu_share": "101"}, "gpu_share"),
        ({"seed": str(2**70)}, "seed"),
        ({"description": "x" * 5000}, "description"),
    ):
        data = {**fleet_post_data(client, url), **changes}
        response = client.post(url, data)
        assert response.status_code == 422, changes
        assert f'id="id_{field}_error"' in response.content.decode(), changes


def test_sweep_size_caps_are_form_errors(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    response = client.post(
        f"/fleets/{fleet.pk}/sweep/",
        {
            "x_param": "seed",
            "x_values": ", ".join(str(i) for i in range(6)),
            "y_param": "caps.global",
            "y_values": "1, 2, 3, 4, 5",
            "metric": "makespan_s",
        },
    )
    assert (
        response.status_code == 422
        and "at most 25 runs in a sweep (this one has 30)" in response.content.decode()
    )
    assert not Sweep.objects.exists()


def test_new_plans_are_limited_per_visitor(client, alice, settings):
    """Each new plan costs a worker as much as a run: a visitor who asks for many (a new
    scenario each time) meets the limit; a plan already queued costs nothing."""
    settings.PLAYGROUND_PLANS_PER_MINUTE = 3
    fleet_ids = []
    for seed in range(5):
        data = tiny()
        data["seed"] = 100 + seed
        fleet_ids.append(fleet_services.create_fleet(scenario=data, visitor=alice).pk)
    answers = [client.get(f"/fleets/{pk}/plan/").status_code for pk in fleet_ids]
    assert answers == [200, 200, 200, 429, 429]
    assert client.get(f"/fleets/{fleet_ids[0]}/plan/").status_code == 200  # already queued


def test_asking_for_unknown_vms_anatomy_counts_against_the_run_limit(client, alice, settings):
    """Finding a VM of an unfinished run rebuilds the fleet (0.3 s for 40,000 VMs): unknown
    names are not free."""
    settings.PLAYGROUND_RUNS_PER_MINUTE = 2
    run = fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    pipeline.execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    answers = [
        client.post(f"/fleets/runs/{run.pk}/vms/nope{i}/anatomy/").status_code for i in range(4)
    ]
    assert answers == [404, 404, 429, 429]


def test_requests_a_limit_counts_store_no_session_until_something_is_made(settings):
    """A limit counted an anonymous visitor by claiming their key, which stored a session for
    every request, refused ones included: a client that keeps no cookies grew the session
    table without bound, a 429 at a time. Only what is made stores one."""
    from django.contrib.sessions.models import Session

    settings.PLAYGROUND_FLEETS_PER_HOUR = 1
    settings.PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR = 1
    assert Client().post("/fleets/from-preset/", {"preset": "demo"}).status_code == 302
    for _ in range(3):  # the address is at its limit
        assert Client().post("/fleets/from-preset/", {"preset": "demo"}).status_code == 429
    assert Session.objects.count() == 1 and Fleet.objects.count() == 1


def test_an_anonymous_browser_counted_but_refused_is_counted_under_the_same_key_next_time(
    settings,
):
    """Nothing stored, but the key a limit counted is offered to the browser (a signed
    cookie): its next request counts under it, and what it then makes is under it."""
    settings.PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 1
    settings.PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR = 10
    browser = Client()
    assert browser.post("/fleets/import/", {"text": "not: [a scenario"}).status_code == 422
    refused = browser.post("/fleets/import/", {"text": json.dumps(tiny())})
    assert refused.status_code == 429 and "You sent 1 scenarios" in refused.content.decode()
