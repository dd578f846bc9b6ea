import math

import pytest

from playground.anatomy import runner as simulation
from playground.anatomy.models import Run, RunEvent
from playground.runs import kinds, tasks
from playground.runs.kinds import Outcome
from playground.runs.models import RunStatus
from playground.runs.pipeline import execute_run

from .support import RecordingPublisher

ERROR_INVALID_PARAMETERS = kinds.get("run").invalid_message
ERROR_MODEL_FAILED = kinds.get("run").failed_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(valid_params):
    return Run.objects.create(params=valid_params, seed=1)


def test_it_claims_a_run_only_once_so_a_second_delivery_does_nothing(run):
    first, second = RecordingPublisher(), RecordingPublisher()
    assert execute_run(kind="run", run_id=run.pk, publisher=first) is True
    stored = RunEvent.objects.filter(run=run).count()
    assert execute_run(kind="run", run_id=run.pk, publisher=second) is False
    assert RunEvent.objects.filter(run=run).count() == stored
    assert second.batches == [] and second.statuses == []


def test_it_does_not_touch_a_run_that_is_not_queued(valid_params):
    running = Run.objects.create(params=valid_params, status=RunStatus.RUNNING)
    assert execute_run(kind="run", run_id=running.pk, publisher=RecordingPublisher()) is False
    assert not RunEvent.objects.filter(run=running).exists()


def test_it_stores_every_model_event_with_contiguous_sequence_numbers(run, valid_params):
    execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher())
    expected = list(simulation.events_for(valid_params))
    rows = list(RunEvent.objects.filter(run=run).order_by("seq"))
    assert [row.seq for row in rows] == list(range(1, len(expected) + 1))
    assert [row.kind for row in rows] == [event["kind"] for event in expected]
    assert rows[-1].kind == "summary"
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.started and run.finished


def test_it_publishes_what_it_stored_in_batches(run, settings):
    settings.PLAYGROUND_PUBLISH_BATCH_SIZE = 5
    settings.PLAYGROUND_PUBLISH_INTERVAL_S = 3600
    publisher = RecordingPublisher()
    execute_run(kind="run", run_id=run.pk, publisher=publisher)
    total = RunEvent.objects.filter(run=run).count()
    assert len(publisher.batches) == 1 + math.ceil((total - 1) / 5)  # the first at once
    assert all(len(batch) <= 5 for batch in publisher.batches)
    published = [event for batch in publisher.batches for event in batch]
    assert published == run.events_after(0)
    assert publisher.statuses == [("running", ""), ("done", "")]


def test_a_model_failure_marks_the_run_failed_and_keeps_the_events_so_far(run, replace_runner):
    def broken(run, sink) -> Outcome:
        sink.add({"kind": "phase_start", "phase": "guest_notice", "t_s": 0.0, "explain": ""})
        raise ZeroDivisionError("boom")

    replace_runner("run", broken)
    publisher = RecordingPublisher()
    execute_run(kind="run", run_id=run.pk, publisher=publisher)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == ERROR_MODEL_FAILED.format(error="ZeroDivisionError: boom")
    assert RunEvent.objects.filter(run=run).count() == 1
    assert publisher.statuses[-1] == ("failed", run.error)


def test_stored_parameters_the_model_rejects_fail_the_run_with_the_reason(valid_params):
    run = Run.objects.create(params={**valid_params, "memory": "lots"})
    execute_run(kind="run", run_id=run.pk, publisher=RecordingPublisher())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith(ERROR_INVALID_PARAMETERS.split("{")[0])
    assert "memory" in run.error


def test_the_celery_task_runs_the_service(run, in_memory_layer):
    tasks.execute_run.apply(
        args=["run", run.pk]
    )  # executes here; the app itself never runs eagerly
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert run.summary()["outcome"]
