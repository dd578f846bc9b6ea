"""Claims, leases, fencing, the reaper and resuming, in-process (the real-process versions are
in test_faults.py); transactions: a failed import or a failed fleet run leaves no half objects."""

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from migrationsim.fleet.frames import FleetStream
from playground.anatomy import runner as simulation
from playground.anatomy import services
from playground.anatomy.models import Run, RunEvent
from playground.fleets import runner as fleet_runner
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetRunMessage, FleetRunVm
from playground.ops.logs import StructuredFormatter
from playground.runs import leases, pipeline, tasks
from playground.runs.models import RunStatus

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(valid_params):
    return Run.objects.create(params=valid_params, seed=1)


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, i: calls.append((kind, i)))
    return calls


def _age(model, run_id, seconds):
    model.objects.filter(id=run_id).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_a_claim_returns_the_attempt_and_only_once(run):
    assert Run.claim(run.pk, worker="w:1") == 1
    assert Run.claim(run.pk) == 0
    run.refresh_from_db()
    assert (run.status, run.attempts, run.worker) == ("running", 1, "w:1")


def test_the_reaper_queues_a_run_whose_lease_expired_and_sends_its_task(run, sent, settings):
    settings.PLAYGROUND_RUN_LEASE_S = 30
    Run.claim(run.pk)
    assert leases.reap()["requeued"] == []  # a fresh lease is left alone
    _age(Run, run.pk, 31)
    assert leases.reap()["requeued"] == [run.pk]
    assert sent == [("run", run.pk)]
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.attempts == 1
    assert Run.claim(run.pk) == 2


def test_after_max_attempts_the_reaper_fails_the_run_with_the_reason(run, sent, settings):
    settings.PLAYGROUND_RUN_MAX_ATTEMPTS = 2
    for _ in range(2):
        Run.claim(run.pk)
        _age(Run, run.pk, 3600)
        leases.reap()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.attempts == 2
    assert run.error == leases.ERROR_WORKER_LOST.format(
        lease=settings.PLAYGROUND_RUN_LEASE_S, attempts=2
    )
    assert sent == [("run", run.pk)]  # one retry, then no more


def test_a_queued_run_whose_message_was_lost_is_sent_again(run, sent, settings):
    settings.PLAYGROUND_REQUEUE_AFTER_S = 60
    assert leases.reap()["resent"] == []
    _age(Run, run.pk, 61)
    assert leases.reap()["resent"] == [run.pk] and sent == [("run", run.pk)]
    assert leases.reap()["resent"] == []  # not again until another REQUEUE_AFTER_S


def test_a_worker_that_lost_its_lease_writes_nothing_more(run):
    attempt = Run.claim(run.pk)
    lease = leases.Lease(Run, run.pk, attempt)
    sink = pipeline.EventSink(
        RunEvent, run.pk, RecordingPublisher(), batch_size=1000, interval_s=3600, lease=lease
    )
    sink.add({"kind": "phase_start", "phase": "guest_notice", "t_s": 0.0, "explain": ""})
    sink.flush()
    _age(Run, run.pk, 3600)
    Run.requeue(run.pk, attempt, timezone.now() - timedelta(seconds=1))
    assert Run.claim(run.pk) == attempt + 1  # another worker holds it now
    sink.add({"kind": "phase_start", "phase": "setup", "t_s": 1.0, "explain": ""})
    with pytest.raises(leases.LeaseLost):
        sink.flush()
    assert RunEvent.objects.filter(run=run).count() == 1
    assert Run.finish(run.pk, attempt=attempt) is False
    assert Run.fail(run.pk, "x", attempt=attempt) is False


def test_a_retried_run_resumes_after_the_last_stored_event(run):
    run.refresh_from_db()
    expected = list(simulation.events_for(run.params))
    for seq, event in enumerate(expected[:7], 1):  # what the first attempt stored
        RunEvent.objects.create(
            run=run, seq=seq, kind=event["kind"], payload=simulation.event_payload(event)
        )
    Run.objects.filter(pk=run.pk).update(attempts=1)
    publisher = RecordingPublisher()
    assert pipeline.execute_run(kind="run", run_id=run.pk, publisher=publisher) is True
    rows = list(RunEvent.objects.filter(run=run).order_by("seq"))
    assert [r.seq for r in rows] == list(range(1, len(expected) + 1))
    assert [r.payload for r in rows] == [
        json.loads(json.dumps(simulation.event_payload(e))) for e in expected
    ]
    assert [e["seq"] for batch in publisher.batches for e in batch][0] == 8  # only the new ones
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.attempts == 2


def test_a_resume_that_does_not_match_the_stored_events_fails_the_run(run, valid_params):
    RunEvent.objects.create(run=run, seq=1, kind="phase_start", payload={"kind": "not this"})
    pipeline.execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == pipeline.ERROR_RESUME_MISMATCH.format(seq=1)
    assert RunEvent.objects.filter(run=run).count() == 1


def test_a_retried_fleet_run_resumes_and_stores_each_vm_once():
    run = fleet_services.start_run(scenario=tiny(), queue=False)
    run.refresh_from_db()  # as stored: PostgreSQL's jsonb orders keys its own way, and the
    # engine's draws follow the scenario's key order, so both attempts start from the stored one
    stream = FleetStream(run.scenario, bucket_s=run.bucket_s)
    frames = list(stream.frames())
    FleetRunMessage.objects.bulk_create(
        FleetRunMessage(run=run, seq=i, payload=f) for i, f in enumerate(frames[:3], 1)
    )
    FleetRunVm.objects.create(run=run, name="half", host="h", rack="r", outcome="x", data={})
    assert pipeline.execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert (run.status, run.error) == ("done", "")
    seqs = list(
        FleetRunMessage.objects.filter(run=run).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(frames) + 1))
    names = list(FleetRunVm.objects.filter(run=run).values_list("name", flat=True))
    assert len(names) == len(set(names)) == len(stream.vm_rows()) and "half" not in names


def test_a_fleet_run_that_fails_while_storing_vms_leaves_no_vm_rows(monkeypatch):
    run = fleet_services.start_run(scenario=tiny(), queue=False)
    original = FleetStream.vm_rows

    def half_then_broken(self):  # some rows are stored, then the next one breaks
        yield from original(self)[:3]
        raise OSError("disk full")

    monkeypatch.setattr(FleetStream, "vm_rows", half_then_broken)
    monkeypatch.setattr(fleet_runner, "VM_ROWS_BATCH", 2)  # 2 rows are inserted before it breaks
    pipeline.execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert not FleetRunVm.objects.filter(run=run).exists()
    assert run.summary is None


def test_a_run_is_created_even_when_the_broker_is_down(
    valid_params, monkeypatch, django_capture_on_commit_callbacks
):
    def down(kind, run_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.execute_run, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.create_run(params=valid_params)
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED  # the reaper sends it later


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_renews_the_lease_and_notices_when_it_is_lost(valid_params):
    run = Run.objects.create(params=valid_params)
    attempt = Run.claim(run.pk)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    lease = leases.Lease(Run, run.pk, attempt, interval_s=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while Run.objects.get(pk=run.pk).heartbeat_at < timezone.now() - timedelta(minutes=1):
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.02)
        Run.objects.filter(pk=run.pk).update(attempts=attempt + 1)  # someone else took it
        assert lease.lost.wait(5)
        with pytest.raises(leases.LeaseLost):
            lease.check()
    finally:
        lease.stop()
    assert not [t for t in threading.enumerate() if t.name == f"lease-{run.pk}"]


def test_log_lines_carry_the_run_id_as_key_value_or_json():
    record = logging.LogRecord(
        "playground.services", logging.INFO, __file__, 1, "run claimed", (), None
    )
    record.__dict__.update({"run_id": 42, "kind": "run", "attempt": 2})
    line = StructuredFormatter("kv").format(record)
    assert 'msg="run claimed"' in line and " run_id=42 kind=run attempt=2" in line
    assert json.loads(StructuredFormatter("json").format(record))["run_id"] == 42


def _one_heartbeat(lease: leases.Lease) -> None:
    """The heartbeat thread's loop, for one beat (its thread does not start inside a test's
    transaction)."""
    beats = iter([False, True])
    lease._stop.wait = lambda timeout=None: next(beats)
    lease._beat()


def test_a_heartbeat_after_the_run_ended_by_this_attempt_warns_of_nothing(run, caplog):
    attempt = Run.claim(run.pk)
    assert Run.finish(run.pk, attempt=attempt)
    lease = leases.Lease(Run, run.pk, attempt, interval_s=1)
    with caplog.at_level(logging.WARNING, logger=leases.log.name):
        _one_heartbeat(lease)
    assert "lease lost" not in caplog.text
    assert lease.lost.is_set()  # it stops beating all the same


def test_a_heartbeat_after_another_attempt_took_the_run_warns(run, caplog):
    attempt = Run.claim(run.pk)
    Run.objects.filter(id=run.pk).update(attempts=attempt + 1)  # the reaper gave it to another
    lease = leases.Lease(Run, run.pk, attempt, interval_s=1)
    with caplog.at_level(logging.WARNING, logger=leases.log.name):
        _one_heartbeat(lease)
    assert "lease lost" in caplog.text
