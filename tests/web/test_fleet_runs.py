import csv
import io
import json
import re
import time

import pytest
from django.conf import settings

from migrationsim.fleet.export import COLUMNS as VM_COLUMNS
from migrationsim.fleet.export import event_log
from migrationsim.fleet.plan import plan as plan_of
from migrationsim.fleet.single_vm import vm_anatomy_params
from migrationsim.fleet.text import preset_scenario
from playground.accounts import once
from playground.anatomy.models import Run
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetPlan, FleetRun, FleetRunLog, FleetRunMessage
from playground.runs import kinds, tasks
from playground.runs.models import RunStatus
from playground.runs.pipeline import EventSink, execute_run

from .fleet_support import compute_plans, planned, tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_run(alice):
    scenario = preset_scenario("demo")
    plan = plan_of(scenario)
    return fleet_services.start_run(scenario=scenario, plan=plan, queue=False, visitor=alice)


def _done(run, **kwargs):
    publisher = RecordingPublisher()
    assert execute_run(kind="fleet", run_id=run.pk, publisher=publisher, **kwargs) is True
    run.refresh_from_db()
    return publisher


# --- the plan page (the plan itself: tests/sim/test_fleet_plan.py) --------------------------


def test_the_plan_is_computed_by_a_worker_while_the_page_says_planning(
    alice, client, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        tasks.execute_run, "delay", lambda kind, run_id: queued.append((kind, run_id))
    )
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/fleets/{fleet.pk}/plan/")
    (row,) = FleetPlan.objects.all()
    assert queued == [("plan", row.pk)] and row.status == RunStatus.QUEUED
    assert b"Planning" in response.content and b'id="approve"' not in response.content
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 409  # nothing to approve yet
    poll = client.get(f"/fleets/{fleet.pk}/plan/status/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and b'id="planning"' in poll.content
    compute_plans()  # the worker
    done = client.get(f"/fleets/{fleet.pk}/plan/status/", HTTP_HX_REQUEST="true")
    assert done["HX-Retarget"] == "#plan" and b'id="approve"' in done.content  # the plan, in place
    assert FleetPlan.objects.get().events.exists()  # its steps, as it went


def test_approving_a_plan_that_failed_says_it_failed_not_that_it_is_still_computing(alice, client):
    from playground.fleets.planning import scenario_key

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    scenario = fleet.to_scenario()
    FleetPlan.objects.create(
        key=scenario_key(scenario), scenario=scenario, status=RunStatus.FAILED, error="boom"
    )
    response = client.post(f"/fleets/{fleet.pk}/plan/")
    assert response.status_code == 409 and not FleetRun.objects.exists()
    assert b"could not be computed, so there is nothing to approve" in response.content
    assert b"still being computed" not in response.content


def test_a_plan_whose_hosts_are_not_all_handled_never_says_every_vm_moved(alice, client):
    """A host down longer than the run's ceiling: the second host of the rack is never taken
    and its VMs never move, yet the plan said "every VM found a target and moved"."""
    scenario = tiny()
    scenario["events"][0]["host_downtime"] = "1e308"
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert "never taken out of service" in page
    assert "every VM found a target and moved" not in page
    # the VMs of the host never taken did not move: stuck, and the plan says why (until
    # session 15 it said "No VM is left stuck or aborted", the engine counting them unaffected)
    assert "No VM is left stuck or aborted" not in page
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "3 stuck · the run stopped at its ceiling before its host&#x27;s maintenance" in words


def test_a_plan_whose_vms_crash_with_their_host_never_says_every_vm_moved(alice, client):
    """hw-failure: VMs still on the host when it dies crash (hostError); the plan said "With
    this seed every VM found a target and moved" above its own "10 VMs ... not handled"."""
    scenario = preset_scenario("hw-failure")
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    plan = planned(client, f"/fleets/{fleet.pk}/plan/")
    crashed = plan.context["plan"]["not_handled"]["vms_total"]
    page = plan.content.decode()
    assert crashed and "every VM found a target and moved" not in page
    assert f"No VM is left stuck or aborted, but {crashed} VMs in scope are not handled" in page
    # the card counts what it says it counts: a big "0" under "Will not move" read as if the
    # crashed VMs had moved; its six example names say how many more there are
    assert "<h2>Stuck or aborted</h2>" in page and "Will not move" not in page
    assert f"and {crashed - 6} more)" in page


def test_the_will_live_migrate_card_shows_what_the_engine_predicts_not_the_policy_count(
    alice, client
):
    """hw-failure: 20 VMs in scope could live-migrate, but those still on a host when it dies
    crash there; the card said "Will live-migrate 20" above the engine's 10."""
    fleet = fleet_services.create_fleet(scenario=preset_scenario("hw-failure"), visitor=alice)
    plan = planned(client, f"/fleets/{fleet.pk}/plan/")
    predicted = plan.context["plan"]
    moved, can = predicted["outcomes"]["migrated"], predicted["migrate"]
    assert moved < can  # the case this is about
    card = plan.content.decode().split('id="plan-migrate"')[1].split("</section>")[0]
    assert f'<p class="big warn">{moved}</p>' in card
    assert f"{can} VMs in scope can live-migrate; the engine predicts {moved} do" in card


def test_the_will_live_migrate_card_is_one_number_when_the_engine_agrees(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    plan = planned(client, f"/fleets/{fleet.pk}/plan/")
    predicted = plan.context["plan"]
    assert predicted["outcomes"]["migrated"] == predicted["migrate"]
    card = plan.content.decode().split('id="plan-migrate"')[1].split("</section>")[0]
    assert f'<p class="big">{predicted["migrate"]}</p>' in card
    assert "plan-migrate-predicted" not in card


def test_the_plan_says_a_downtime_limit_typed_without_a_unit_in_its_unit(alice, client):
    """A bare number is seconds to the model; the plan's policy line printed it as typed
    ("downtime limit 0.3", "downtime limit 1e-320")."""
    scenario = tiny(policy={"name": "qemu", "downtime_limit": "0.3"})
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert "downtime limit 300 ms;" in page


def test_the_same_scenario_is_planned_once_whoever_asks(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    other = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    client.get(f"/fleets/{other.pk}/plan/")
    assert FleetPlan.objects.count() == 1


def test_visiting_and_polling_a_planned_fleet_neither_copies_nor_revalidates_its_scenario(
    alice, client, monkeypatch
):
    """The plan page validated and deep-copied the scenario on every visit, and its poll (every
    second while a worker plans) copied it too: for an imported fleet of 256,000 listed VMs,
    2.7 s and 0.6 s of a request's CPU each time. A done plan of the same scenario validated
    it; approving still checks it afresh."""
    from playground.fleets import views
    from playground.fleets.models import Fleet

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    validated, copied = [], []
    real_validate = views.validate
    monkeypatch.setattr(views, "validate", lambda s: validated.append(1) or real_validate(s))
    monkeypatch.setattr(Fleet, "to_scenario", lambda self: copied.append(1) or dict(self.scenario))
    for url in (f"/fleets/{fleet.pk}/plan/", f"/fleets/{fleet.pk}/plan/status/"):
        assert client.get(url).status_code == 200
    assert validated == [] and copied == []
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    assert client.post(f"/fleets/{fleet.pk}/plan/").status_code == 302
    assert validated == [1]


def test_the_plan_page_shows_the_preview_and_approving_it_starts_a_run(
    alice, client, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: queued.append(run_id))
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    response = planned(client, f"/fleets/{fleet.pk}/plan/")
    assert response.status_code == 200 and b"Will live-migrate" in response.content
    assert not FleetRun.objects.exists()  # a preview moves nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/fleets/{fleet.pk}/plan/")
    run = FleetRun.objects.get()
    assert response.url == f"/fleets/runs/{run.pk}/" and queued == [run.pk]
    assert run.scenario == fleet.to_scenario() and run.plan["eta_s"] > 0


def test_an_approval_sent_twice_starts_one_run(alice, client, monkeypatch):
    """A double click on "Approve" (or the form sent again) started two runs of the plan, each
    counted against the visitor's budget and each taking a worker. The page carries its own
    approval: the second post of it goes to the run the first started."""
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    approval = re.search(r'name="approval" value="([0-9a-f]{32})"', page).group(1)
    first = client.post(f"/fleets/{fleet.pk}/plan/", {"approval": approval})
    second = client.post(f"/fleets/{fleet.pk}/plan/", {"approval": approval})
    run = FleetRun.objects.get()
    assert first.url == second.url == f"/fleets/runs/{run.pk}/"
    again = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert approval not in again  # a new page, a new approval: another run if approved
    another = re.search(r'name="approval" value="([0-9a-f]{32})"', again).group(1)
    assert client.post(f"/fleets/{fleet.pk}/plan/", {"approval": another}).status_code == 302
    assert FleetRun.objects.count() == 2


def test_approving_a_plan_of_the_fleet_before_an_edit_starts_nothing(alice, client, monkeypatch):
    """The plan page of one version of a fleet, approved after the fleet was edited (another
    tab) to a version whose plan is done too, started a run of the edited fleet: not the plan
    the visitor read and approved. The page names its plan; another one is a 409 showing the
    current plan."""
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    old_page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    approval = re.search(r'name="approval" value="([0-9a-f]{32})"', old_page).group(1)
    shown = re.search(r'name="plan" value="([0-9a-f]{64})"', old_page).group(1)
    edited = tiny()
    edited["seed"] = 7
    fleet_services.update_fleet(fleet=fleet, scenario=edited)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    response = client.post(f"/fleets/{fleet.pk}/plan/", {"approval": approval, "plan": shown})
    assert response.status_code == 409 and "changed since this plan was shown" in (
        response.content.decode()
    )
    assert not FleetRun.objects.exists()
    current = re.search(r'name="plan" value="([0-9a-f]{64})"', response.content.decode()).group(1)
    again = client.post(f"/fleets/{fleet.pk}/plan/", {"approval": approval, "plan": current})
    assert again.status_code == 302 and FleetRun.objects.get().seed == 7


@pytest.mark.parametrize(
    "sent",
    [{"approval": "x" * 5000}, {"approval": "A" * 32}, {"approval": "g" * 32}, {"plan": "z"}],
)
def test_an_approval_no_plan_page_gives_is_a_400(alice, client, monkeypatch, sent):
    """The approval was any text, cut to 32 characters: 5,000 characters became another
    approval than the one sent. (A NUL in it, which made PostgreSQL's driver raise, a 500, is
    refused before any view: ``security/test_nul.py``.)"""
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    response = client.post(f"/fleets/{fleet.pk}/plan/", sent)
    assert response.status_code == 400 and "not one a plan page gives" in response.content.decode()
    assert not FleetRun.objects.exists()


def test_two_starts_of_one_approval_at_once_make_one_run(alice):
    """The page's check before the insert can pass in two requests at once: the start always
    tries the insert, the database's unique approval keeps one row, and the second start
    returns it."""
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    first = fleet_services.start_run(
        scenario=tiny(), fleet=fleet, queue=False, visitor=alice, approval="a" * 32
    )
    second = fleet_services.start_run(
        scenario=tiny(), fleet=fleet, queue=False, visitor=alice, approval="a" * 32
    )
    assert second.pk == first.pk and FleetRun.objects.count() == 1


def test_one_approval_sent_for_another_fleet_or_by_another_visitor_is_refused(
    alice, client, django_user_model, monkeypatch
):
    """The approval is a value the client sends: sent again for another fleet it went to the
    first fleet's run (no run of the second, told as started), and sent by another visitor
    it redirected them to (and named) the first visitor's run. Now a 409 saying so."""
    from django.test import Client

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    one = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    page = planned(client, f"/fleets/{one.pk}/plan/").content.decode()
    approval = re.search(r'name="approval" value="([0-9a-f]{32})"', page).group(1)
    first = client.post(f"/fleets/{one.pk}/plan/", {"approval": approval})
    run = FleetRun.objects.get()
    assert first.url == f"/fleets/runs/{run.pk}/"
    other_scenario = tiny()
    other_scenario["seed"] = 2
    two = fleet_services.create_fleet(scenario=other_scenario, visitor=alice)
    planned(client, f"/fleets/{two.pk}/plan/")
    again = client.post(f"/fleets/{two.pk}/plan/", {"approval": approval})
    assert again.status_code == 409 and b"already used" in again.content
    from playground.accounts.access import Visitor

    bob_user = django_user_model.objects.create_user("bob", password="bob-password-1")
    bob = Client()
    bob.force_login(bob_user)
    bobs_fleet = fleet_services.create_fleet(
        scenario=tiny(), visitor=Visitor(bob_user.pk, "", False, "bob")
    )
    planned(bob, f"/fleets/{bobs_fleet.pk}/plan/")
    stolen = bob.post(f"/fleets/{bobs_fleet.pk}/plan/", {"approval": approval})
    assert stolen.status_code == 409 and str(run.pk) not in stolen.get("Location", "")
    assert FleetRun.objects.count() == 1
    with pytest.raises(once.Taken):
        fleet_services.start_run(
            scenario=tiny(), fleet=two, queue=False, visitor=alice, approval=approval
        )


# --- the task: frames, sequence numbers, batching -------------------------------------------


def test_a_run_is_claimed_once_so_a_second_delivery_does_nothing(demo_run):
    _done(demo_run)
    stored = FleetRunMessage.objects.filter(run=demo_run).count()
    second = RecordingPublisher()
    assert execute_run(kind="fleet", run_id=demo_run.pk, publisher=second) is False
    assert FleetRunMessage.objects.filter(run=demo_run).count() == stored
    assert second.batches == [] and second.statuses == []


def test_frames_are_stored_with_contiguous_sequence_numbers_and_published_as_stored(demo_run):
    publisher = _done(demo_run, interval_s=0.0)
    rows = list(FleetRunMessage.objects.filter(run=demo_run).order_by("seq"))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    published = [f for batch in publisher.batches for f in batch]
    assert published == demo_run.events_after(0)
    assert publisher.statuses == [("running", ""), ("done", "")]
    assert demo_run.status == RunStatus.DONE and demo_run.summary["vms"] == 96


def test_frames_aggregate_so_there_is_never_one_message_per_vm_or_round(demo_run):
    publisher = _done(demo_run, interval_s=3600)  # only the first frame and full batches go alone
    frames = [f for batch in publisher.batches for f in batch]
    rounds = sum(1 for e in event_log(demo_run.scenario) if '"kind":"round"' in e)
    assert len(frames) < rounds / 1.5
    assert (
        len(publisher.batches) <= 1 + len(frames) / settings.PLAYGROUND_FLEET_PUBLISH_BATCH_SIZE + 1
    )
    assert all(len(b) <= settings.PLAYGROUND_FLEET_PUBLISH_BATCH_SIZE for b in publisher.batches)
    assert sum(len(f["blackouts"]) for f in frames) == demo_run.summary["migrations"]
    final = frames[-1]
    assert final["final"] and final["counts"]["done"] == demo_run.summary["outcomes"]["migrated"]


def test_the_message_rate_is_bounded_by_the_wall_clock_interval(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    publisher = RecordingPublisher()
    sink = EventSink(
        FleetRunMessage,
        FleetRun.objects.create(scenario=tiny()).pk,
        publisher,
        interval_s=0.25,
        batch_size=10_000,
    )
    for i in range(1000):  # 1000 frames produced over 2 s of wall time
        clock[0] = i * 0.002
        sink.add({"kind": "frame", "t_s": float(i)})
    sink.flush()
    assert len(publisher.batches) <= 2 / 0.25 + 2  # the first at once, then one per 0.25 s
    assert sum(len(b) for b in publisher.batches) == 1000


def test_a_scenario_the_engine_rejects_fails_the_run_with_the_reason():
    run = fleet_services.start_run(scenario={"fleet": {}, "events": []}, queue=False)
    publisher = _done(run)
    assert run.status == RunStatus.FAILED
    assert (
        run.error.startswith(kinds.get("fleet").invalid_message.split("{")[0])
        and "fleet.racks" in run.error
    )
    assert publisher.statuses[-1] == ("failed", run.error)


def test_the_celery_task_runs_the_service(in_memory_layer):
    run = fleet_services.start_run(scenario=tiny(), queue=False)
    tasks.execute_run.apply(args=["fleet", run.pk])
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.vms.count() == 12


# --- results, exports, anatomy ---------------------------------------------------------------


def test_the_vm_csv_has_one_row_per_vm_with_its_outcome_and_reason(client, demo_run):
    _done(demo_run)
    response = client.get(f"/fleets/runs/{demo_run.pk}/vms.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response).decode())))
    assert len(rows) == 96 and set(VM_COLUMNS) <= set(rows[0])
    gpu = [r for r in rows if "GPU" in r["reason"]]
    assert len(gpu) == 2 and all(r["outcome"] == "restarted" and r["host"] for r in gpu)


def test_the_summary_and_the_event_log_download(client, demo_run):
    _done(demo_run)
    summary = json.loads(client.get(f"/fleets/runs/{demo_run.pk}/summary.json").content)
    assert summary["summary"] == demo_run.summary
    lines = b"".join(client.get(f"/fleets/runs/{demo_run.pk}/events.jsonl")).splitlines()
    events = [json.loads(line) for line in lines]
    assert sum(1 for e in events if e["kind"] == "migrated") == demo_run.summary["migrations"]
    assert [e["t_s"] for e in events] == sorted(e["t_s"] for e in events)
    assert lines == [line.encode().strip() for line in event_log(demo_run.scenario)]  # the CLI's


def test_the_event_log_download_streams_what_the_worker_stored_and_never_simulates(
    client, demo_run, monkeypatch
):
    _done(demo_run)
    assert FleetRunLog.objects.filter(run=demo_run).exists()

    def no_simulation(*args, **kwargs):
        raise AssertionError("a request simulated")

    monkeypatch.setattr("migrationsim.fleet.engine.FleetRun.__init__", no_simulation)
    response = client.get(f"/fleets/runs/{demo_run.pk}/events.jsonl")
    assert response.status_code == 200 and response.streaming
    assert b"".join(response).count(b"\n") > 100


def test_a_run_without_a_stored_event_log_says_so_instead_of_simulating(client, demo_run):
    _done(demo_run)
    FleetRunLog.objects.filter(run=demo_run).delete()  # as for runs from before the logs
    response = client.get(f"/fleets/runs/{demo_run.pk}/events.jsonl")
    assert response.status_code == 404 and b"event log was not stored" in response.content


def test_downloads_are_named_after_the_fleet_whatever_its_alphabet(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(name="zone Übung 東京"), visitor=alice)
    response = client.get(f"/fleets/{fleet.pk}/scenario.yaml")
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert "%C3%9Cbung" in response["Content-Disposition"]


def _listed_fleet(vms: int) -> dict:
    """A zone whose VMs are listed one by one (names, hosts), as an import may hold them."""
    return {
        "name": "listed",
        "seed": 1,
        "fleet": {
            "racks": [{"name": "r", "count": 40, "hosts": 16}],
            "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
            "vm_list": [
                {"name": f"vm-{i:05d}", "host": f"r{i % 40 + 1}-h{i % 16 + 1}", "memory": "2GiB"}
                for i in range(vms)
            ],
        },
        "events": [{"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}}],
    }


def test_a_scenario_too_large_to_write_as_yaml_in_a_request_is_offered_as_json(client, alice):
    """YAML (and indented JSON) is written by pure Python, seconds to a minute of a request's
    CPU for a fleet listing 256,000 VMs: past ``SCENARIO_PRETTY_MAX_CHARS`` the YAML download
    says why and points to the JSON, which is written compact, and reads back the same."""
    from playground.fleets.exports import SCENARIO_PRETTY_MAX_CHARS

    large = fleet_services.create_fleet(scenario=_listed_fleet(5000), visitor=alice)
    assert len(json.dumps(large.to_scenario())) > SCENARIO_PRETTY_MAX_CHARS
    refused = client.get(f"/fleets/{large.pk}/scenario.yaml")
    assert refused.status_code == 413
    assert "Download it as JSON" in refused.content.decode()
    as_json = client.get(f"/fleets/{large.pk}/scenario.json")
    assert as_json.status_code == 200
    assert b"\n  " not in as_json.content  # compact: the C encoder
    assert json.loads(as_json.content) == large.to_scenario()

    small = fleet_services.create_fleet(scenario=_listed_fleet(50), visitor=alice)
    assert client.get(f"/fleets/{small.pk}/scenario.yaml").status_code == 200
    pretty = client.get(f"/fleets/{small.pk}/scenario.json")
    assert b"\n  " in pretty.content and json.loads(pretty.content) == small.to_scenario()


def test_exports_of_an_unfinished_run_say_so(alice, client):
    run = fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    assert client.get(f"/fleets/runs/{run.pk}/vms.csv").status_code == 409
    assert client.get(f"/fleets/runs/{run.pk}/timeline.json?host=r1-h1").status_code == 409


def test_the_run_page_shows_the_results_and_a_shareable_url_when_done(client, demo_run):
    _done(demo_run)
    response = client.get(f"/fleets/runs/{demo_run.pk}/")
    assert response.status_code == 200
    for needle in (
        b'id="fleet-summary-table"',
        b'id="racks-table"',
        b'id="outcomes-table"',
        f"/fleets/runs/{demo_run.pk}/vms.csv".encode(),
        b"Re-run with changes",
    ):
        assert needle in response.content


def test_the_results_say_which_vms_moved_more_than_once_as_the_cli_does(client, demo_run):
    """The demo's engine run moves 3 of its VMs twice (its golden summary): the page says so in
    the CLI's words, from the stored summary, not from a count of its own."""
    _done(demo_run)
    assert demo_run.summary["moved_more_than_once"] == {"2": 3}
    response = client.get(f"/fleets/runs/{demo_run.pk}/")
    assert b'id="results-moves"' in response.content
    assert b"3 VMs moved twice." in response.content


def test_zooming_into_a_host_returns_its_vms_phases(client, demo_run):
    _done(demo_run)
    data = client.get(f"/fleets/runs/{demo_run.pk}/timeline.json?host=rack1-h1").json()
    assert len(data["vms"]) == 12 and all(vm["segments"] for vm in data["vms"])


def test_the_messages_endpoint_resumes_after_a_sequence_number(client, demo_run):
    _done(demo_run)
    data = client.get(f"/fleets/runs/{demo_run.pk}/messages.json?after=5").json()
    assert data["events"][0]["seq"] == 6
    assert client.get(f"/fleets/runs/{demo_run.pk}/messages.json?after=x").status_code == 400


def test_a_vm_opens_as_a_single_vm_run_with_its_own_parameters(client, demo_run):
    _done(demo_run)
    stayed = demo_run.vms.filter(outcome="unaffected").first().name  # no fleet share to replay
    response = client.post(f"/fleets/runs/{demo_run.pk}/vms/{stayed}/anatomy/")
    single = Run.objects.get()
    assert response.url == f"/runs/{single.pk}/"
    params = vm_anatomy_params(demo_run.scenario, stayed)
    assert single.params["memory"] == params["memory"] and single.params["policy"] == "qemu"
    assert single.params["bandwidth"] == "5Gbit/s"  # 10 Gbit/s NIC, half for migrations
    assert single.params["auto_converge"] is True  # the demo's policy
    assert client.post(f"/fleets/runs/{demo_run.pk}/vms/vm-999/anatomy/").status_code == 404


# --- compare and sweep ---------------------------------------------------------------------


def _two_runs(visitor):
    a = fleet_services.start_run(scenario=tiny(), queue=False, visitor=visitor)
    b = fleet_services.start_run(
        scenario=tiny(caps={"per_source_host": 2, "per_target_host": 2}),
        queue=False,
        visitor=visitor,
    )
    for run in (a, b):
        _done(run)
    return a, b


def test_compare_puts_the_numbers_in_one_table_and_highlights_differences(alice, client):
    a, b = _two_runs(alice)
    response = client.get(f"/fleets/runs/compare/?runs={a.pk},{b.pk}")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.context["rows"]}
    assert rows["vms"]["cells"][1]["differs"] is False
    differs = a.summary["makespan_s"] != b.summary["makespan_s"]
    assert rows["makespan_s"]["cells"][1]["differs"] is differs
    assert b'class="differs"' in response.content or not differs
    config = response.context["config"]
    assert [r["id"] for r in config["runs"]] == [a.pk, b.pk]
    assert all(r["series"]["t_s"] and "blackouts_sorted" in r["series"] for r in config["runs"])


def test_compare_needs_two_finished_runs(alice, client):
    a, _ = _two_runs(alice)
    assert client.get(f"/fleets/runs/compare/?runs={a.pk}").status_code == 400
    assert client.get("/fleets/runs/compare/?runs=1,x").status_code == 400
    assert client.get(f"/fleets/runs/compare/?runs={a.pk},9999").status_code == 404


# a bandwidth cap (x) by a per-host cap (y): four runs
TWO_BY_TWO_SWEEP = {
    "x_param": "policy.max_bandwidth",
    "x_values": "64MiB/s, 256MiB/s",
    "y_param": "caps.per_source_host",
    "y_values": "1, 2",
    "metric": "makespan_s",
}


def test_a_sweep_fans_out_one_run_per_combination_and_fills_the_grid(
    alice, client, django_capture_on_commit_callbacks, monkeypatch
):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    sent = []
    monkeypatch.setattr(
        tasks.execute_run, "delay", lambda kind, run_id: sent.append((kind, run_id))
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/fleets/{fleet.pk}/sweep/",
            TWO_BY_TWO_SWEEP,
        )
    runs = list(FleetRun.objects.order_by("id"))
    assert len(runs) == 4 and sent == [("fleet", r.pk) for r in runs]  # a task each
    sweep = runs[0].sweep
    assert response.url == f"/fleets/sweeps/{sweep.pk}/"
    assert runs[3].scenario["policy"]["max_bandwidth"] == "256MiB/s"
    assert runs[3].scenario["caps"]["per_source_host"] == 2
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert data["done"] == 0 and data["z"] == [[None, None], [None, None]]
    _done(runs[1])
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert data["z"] == [[None, None], [runs[1].summary["makespan_s"], None]]  # x=64MiB/s, y=2
    assert data["done"] == 1 and not data["complete"]
    assert client.get(f"/fleets/sweeps/{sweep.pk}/results.json?metric=nope").status_code == 400
    assert client.get(f"/fleets/sweeps/{sweep.pk}/").status_code == 200


def test_a_sweep_cell_without_a_value_says_failed_or_still_to_come(
    alice, client, django_capture_on_commit_callbacks, monkeypatch
):
    """The heat map's text and results.json's: a failed member reads "failed", never the "…"
    of a run still to come."""
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/fleets/{fleet.pk}/sweep/", TWO_BY_TWO_SWEEP)
    runs = list(FleetRun.objects.order_by("id"))
    _done(runs[1])
    FleetRun.objects.filter(pk=runs[2].pk).update(status=RunStatus.FAILED, error="broke")
    data = client.get(f"/fleets/sweeps/{runs[0].sweep.pk}/results.json").json()
    text = data["text"]  # [y][x]: runs are x-major (x=64MiB/s: y=1, y=2; then x=256MiB/s)
    assert text[0][0] == "…" and text[0][1] == "failed" and text[1][1] == "…"
    assert text[1][0] not in ("…", "failed", "–") and data["z"][0][1] is None


def test_the_sweep_pages_name_the_swept_parameters_in_words(alice, client, monkeypatch):
    """The sweep page's header, table and charts, and the fleet list, say "Bandwidth cap per
    migration", not the scenario key ``policy.max_bandwidth`` (the keys stay in results.json
    for scripts, with the words beside them)."""
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    client.post(
        f"/fleets/{fleet.pk}/sweep/",
        TWO_BY_TWO_SWEEP,
    )
    sweep = FleetRun.objects.first().sweep
    data = client.get(f"/fleets/sweeps/{sweep.pk}/results.json").json()
    assert (data["x_param"], data["y_param"]) == ("policy.max_bandwidth", "caps.per_source_host")
    assert data["x_label"] == "Bandwidth cap per migration"
    assert data["y_label"].startswith("Migrations per source host")
    page = client.get(f"/fleets/sweeps/{sweep.pk}/").content.decode()
    table = page[page.index("<table") : page.index("</table>")]
    assert "Bandwidth cap per migration = 64MiB/s" in table
    assert "policy.max_bandwidth" not in table and "caps.per_source_host" not in table
    listing = client.get("/fleets/").content.decode()
    assert "Bandwidth cap per migration × Migrations per source host" in listing
    assert "policy.max_bandwidth" not in listing


def test_a_bad_sweep_is_a_422_with_the_reason(alice, client):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    response = client.post(
        f"/fleets/{fleet.pk}/sweep/",
        {"x_param": "caps.global", "x_values": "0", "metric": "makespan_s"},
    )
    assert response.status_code == 422 and b"caps.global: must be &gt; 0" in response.content
    assert not FleetRun.objects.exists()


def test_every_page_answers(alice, client, demo_run):
    _done(demo_run)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    for url in (
        "/fleets/",
        "/fleets/new/",
        f"/fleets/{fleet.pk}/",
        f"/fleets/{fleet.pk}/plan/",
        f"/fleets/{fleet.pk}/sweep/",
        "/fleets/runs/",
        f"/fleets/runs/{demo_run.pk}/results/",
    ):
        assert client.get(url).status_code == 200, url


def test_results_fragment_opened_in_a_tab_goes_to_the_run_page(client, demo_run):
    _done(demo_run)
    url = f"/fleets/runs/{demo_run.pk}/results/"
    response = client.get(url, headers={"Sec-Fetch-Mode": "navigate"})
    assert (
        response.status_code == 302
        and response["Location"] == f"/fleets/runs/{demo_run.pk}/#results"
    )
    fetched = client.get(url, headers={"Sec-Fetch-Mode": "cors"})
    assert fetched.status_code == 200 and b'id="results-section"' in fetched.content
    assert "Sec-Fetch-Mode" in response["Vary"] and "Sec-Fetch-Mode" in fetched["Vary"]


@pytest.mark.django_db(transaction=True)  # the ASGI app's threads see the committed rows
def test_under_asgi_the_event_log_leaves_in_pieces_before_the_whole_is_read(alice, demo_run):
    """daphne buffers a sync iterator whole (Django's fallback): the export must be async."""
    import asyncio
    import warnings

    from channels.testing import ApplicationCommunicator
    from django.contrib.auth import get_user_model
    from django.test import Client

    from playground.asgi import application

    _done(demo_run)
    client = Client()
    client.force_login(get_user_model().objects.get(pk=alice.user_id))
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def first_body():
        scope = {
            "type": "http",
            "method": "GET",
            "path": f"/fleets/runs/{demo_run.pk}/events.jsonl",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie)],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1),
        }
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(10)
        body = await app.receive_output(10)
        await app.wait(10)
        return start, body

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start, body = asyncio.run(first_body())
    assert start["status"] == 200, body
    assert body["more_body"] is True  # a piece, with more to come
    buffered = [w for w in caught if "must consume synchronous iterators" in str(w.message)]
    assert buffered == []  # Django read no sync iterator whole before sending


def test_the_vm_csv_writes_seconds_to_the_microsecond_and_bytes_and_packets_whole(client, alice):
    run = fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    _done(run)
    rows = list(
        csv.DictReader(io.StringIO(b"".join(client.get(f"/fleets/runs/{run.pk}/vms.csv")).decode()))
    )
    moved = [r for r in rows if r["outcome"] == "migrated"]
    assert moved
    for row in rows:
        for key in ("memory_bytes", "bytes_sent", "forwarded_packets", "lost_packets"):
            assert re.fullmatch(r"[0-9]+", row[key]), (key, row[key])
        for key in (k for k in VM_COLUMNS if k.endswith("_s")):
            assert float(row[key]) == round(float(row[key]), 6), (key, row[key])
    # rounded, not zeroed: a 50 us forwarding hop is still there
    assert all(float(r["forwarding_latency_s"]) > 0 for r in moved)
    assert all(float(r["blackout_s"]) > 0 for r in moved)


def test_the_live_terminated_counter_says_it_counts_the_restarted_too(client, demo_run):
    """The counter counts every VM stopped on its host (demo: 4); the results on the same page
    split them, terminated 2 and stopped and restarted elsewhere 2: "4 terminated" contradicted
    them."""
    _done(demo_run)
    page = client.get(f"/fleets/runs/{demo_run.pk}/").content.decode()
    counter = page[page.index('data-count="terminated"') :]
    assert counter[: counter.index("</li>")].endswith("stopped (terminated or restarted elsewhere)")


def test_the_lists_of_runs_do_not_read_the_runs_scenarios(alice, client):
    """The list of fleet runs (refreshed while one is unfinished) and the fleet page read every
    listed run's scenario snapshot, plan and series: megabytes each for an imported fleet of
    256,000 listed VMs, 0.1 s a row, 20 s for the 200 runs the list shows. They show a run's
    name, status and summary only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    run = fleet_services.start_run(scenario=tiny(), fleet=fleet, queue=False, visitor=alice)
    for url in ("/fleets/runs/", "/fleets/"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200 and f"Run {run.pk}".encode() in response.content
        run_reads = [q["sql"] for q in queries if 'FROM "playground_fleetrun"' in q["sql"]]
        assert run_reads and not any('."scenario"' in sql for sql in run_reads), run_reads
    # nor does a client without WebSockets polling the run's messages (or a host's timeline)
    for url in (
        f"/fleets/runs/{run.pk}/messages.json",
        f"/fleets/runs/{run.pk}/timeline.json?host=a",
    ):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        run_reads = [q["sql"] for q in queries if 'FROM "playground_fleetrun"' in q["sql"]]
        assert run_reads and not any('."scenario"' in sql for sql in run_reads), run_reads


@pytest.mark.parametrize("action", ["plan/", "sweep/"])
def test_approving_or_sweeping_a_fleet_deleted_meanwhile_is_a_404_storing_nothing(
    alice, client, monkeypatch, action
):
    """The fleet deleted (another tab) after the request read it: the run's or the sweep's
    foreign key to it failed at the commit, a 500, and a sweep could be left without its
    runs. Now the fleet is checked, and held, in the transaction that stores them."""
    from playground.accounts import limits
    from playground.fleets.models import Fleet, Sweep

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    planned(client, f"/fleets/{fleet.pk}/plan/")
    real_check = limits.check

    def deleted_meanwhile(request, bucket):
        Fleet.objects.filter(pk=fleet.pk).delete()
        return real_check(request, bucket)

    monkeypatch.setattr(limits, "check", deleted_meanwhile)
    posted = {"x_param": "caps.per_source_host", "x_values": "1, 2", "metric": "makespan_s"}
    response = client.post(f"/fleets/{fleet.pk}/{action}", posted if action == "sweep/" else {})
    assert response.status_code == 404 and "deleted" in response.content.decode()
    assert not FleetRun.objects.exists() and not Sweep.objects.exists()


def test_a_run_whose_stored_scenario_the_model_now_refuses_still_shows_its_pages(alice, client):
    """A run keeps the scenario it ran; the model's checks grow stricter (a rack name long
    enough to make host names over 200 characters was accepted once). Its page and results
    parsed that scenario again and were a 500; its VMs' anatomy too. The pages show the run
    (its racks without the zone grouping), the anatomy says why it cannot replay."""
    run = fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    stored = FleetRun.objects.get(pk=run.pk).scenario
    stored["fleet"]["racks"][0]["name"] = "r" * 199
    FleetRun.objects.filter(pk=run.pk).update(scenario=stored)
    vm = run.vms.exclude(outcome="unaffected").first()
    client.raise_request_exception = False
    for url in (f"/fleets/runs/{run.pk}/", f"/fleets/runs/{run.pk}/results/"):
        assert client.get(url).status_code == 200, url
    anatomy = client.post(f"/fleets/runs/{run.pk}/vms/{vm.name}/anatomy/")
    assert anatomy.status_code == 422
    assert "no longer passes the model" in anatomy.content.decode()
