"""The one run pipeline, driven by a fake runner: whatever kind of run, it is claimed once,
numbered, stored then published, finished with the runner's outcome, failed with a sentence,
resumed after its last stored event, and a worker that lost its lease writes nothing."""

import pytest

from playground.anatomy.models import Run, RunEvent
from playground.runs import kinds, pipeline
from playground.runs.kinds import Outcome
from playground.runs.models import RunStatus

from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def events(n):
    return [{"kind": "tick", "t_s": float(i)} for i in range(n)]


@pytest.fixture
def run(valid_params):
    return Run.objects.create(params=valid_params, seed=1)


@pytest.fixture
def fake(replace_runner):
    """A fake "run" kind runner that emits ``fake.events`` and records what it was given."""

    class Fake:
        events = events(5)
        calls = []

        def __call__(self, run, sink):
            self.calls.append(run.pk)
            for event in self.events:
                sink.add(event)
            return Outcome()

    runner = Fake()
    replace_runner("run", runner)
    return runner


def execute(run, **kwargs):
    publisher = RecordingPublisher()
    result = pipeline.execute_run(kind="run", run_id=run.pk, publisher=publisher, **kwargs)
    run.refresh_from_db()
    return result, publisher


def test_it_runs_the_kinds_runner_and_stores_its_events_numbered_from_one(run, fake):
    result, publisher = execute(run)
    assert result is True and run.status == RunStatus.DONE and fake.calls == [run.pk]
    assert run.events_after(0) == [{"seq": i + 1, **e} for i, e in enumerate(fake.events)]
    assert [e for batch in publisher.batches for e in batch] == run.events_after(0)
    assert publisher.statuses == [("running", ""), ("done", "")]


def test_a_second_delivery_finds_the_run_claimed_and_does_nothing(run, fake):
    execute(run)
    result, publisher = execute(run)
    assert result is False and fake.calls == [run.pk]
    assert publisher.batches == [] and publisher.statuses == []
    assert RunEvent.objects.filter(run=run).count() == len(fake.events)


def test_the_runners_outcome_is_stored_as_the_run_is_finished(run, replace_runner):
    stored = []

    def runner(run, sink):
        sink.add({"kind": "tick"})
        return Outcome(store=lambda: stored.append(Run.objects.get(pk=run.pk).status))

    replace_runner("run", runner)
    execute(run)
    assert stored == [RunStatus.RUNNING]  # inside the transaction that then marks it done
    assert run.status == RunStatus.DONE


def test_a_runner_that_raises_fails_the_run_with_a_sentence_and_keeps_what_it_stored(
    run, replace_runner
):
    def runner(run, sink):
        sink.add({"kind": "tick"})
        sink.flush()
        raise ValueError("the model broke")

    replace_runner("run", runner)
    result, publisher = execute(run)
    assert result is True and run.status == RunStatus.FAILED
    assert run.error == kinds.get("run").failed_message.format(error="ValueError: the model broke")
    assert RunEvent.objects.filter(run=run).count() == 1
    assert publisher.statuses[-1] == ("failed", run.error)


def test_input_the_kind_calls_invalid_fails_the_run_with_its_own_words(run, replace_runner):
    from migrationsim import InvalidParameter

    def runner(run, sink):
        raise InvalidParameter("memory", "must be a size")

    replace_runner("run", runner)
    execute(run)
    assert run.status == RunStatus.FAILED and run.error.startswith("The stored parameters")


def test_a_model_out_of_its_work_budget_fails_as_stopped_not_as_invalid_input(run, replace_runner):
    """Valid parameters whose run costs more than the model's budget (a 1 TiB guest at the
    pages resolution) end failed, saying the run stopped and why, in the web's words."""
    from migrationsim.memory_pages import WorkBudgetExceeded

    def runner(run, sink):
        raise WorkBudgetExceeded(total_pages=268_435_456, budget=180_000_000_000)

    replace_runner("run", runner)
    execute(run)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("The run stopped before the migration ended: the pages resolution")
    assert "no longer valid" not in run.error and "--resolution" not in run.error
    assert "Choose the fluid resolution" in run.error


def test_a_run_queued_again_resumes_after_its_last_stored_event(run, fake):
    for seq, event in enumerate(fake.events[:3], 1):  # what a first attempt stored
        RunEvent.objects.create(run=run, seq=seq, kind=event["kind"], payload=event)
    Run.objects.filter(pk=run.pk).update(attempts=1)
    result, publisher = execute(run)
    assert result is True and run.attempts == 2
    assert [e["seq"] for batch in publisher.batches for e in batch] == [4, 5]
    assert [e["seq"] for e in run.events_after(0)] == [1, 2, 3, 4, 5]


def test_a_resume_whose_model_disagrees_with_the_stored_events_fails_the_run(run, fake):
    RunEvent.objects.create(run=run, seq=1, kind="tick", payload={"kind": "tock"})
    execute(run)
    assert run.status == RunStatus.FAILED
    assert run.error == pipeline.ERROR_RESUME_MISMATCH.format(seq=1)


def test_a_worker_that_lost_its_lease_stops_without_writing_or_failing_the_run(run, replace_runner):
    def runner(run, sink):
        sink.add({"kind": "tick"})
        sink.flush()
        Run.objects.filter(pk=run.pk).update(attempts=99)  # the reaper gave it to another
        sink.add({"kind": "tick"})
        sink.flush()
        return Outcome()

    replace_runner("run", runner)
    result, publisher = execute(run)
    assert result is False
    assert run.status == RunStatus.RUNNING and run.error == ""  # the other attempt's to finish
    assert RunEvent.objects.filter(run=run).count() == 1
    assert publisher.statuses == [("running", "")]


def test_the_failure_path_reports_a_lost_lease_as_not_failed(run, replace_runner):
    def runner(run, sink):
        Run.objects.filter(pk=run.pk).update(attempts=99)
        raise ValueError("too late to say")

    replace_runner("run", runner)
    result, publisher = execute(run)
    assert result is False and run.status == RunStatus.RUNNING
    assert publisher.statuses == [("running", "")]


def test_a_run_over_its_event_budget_fails_saying_which_limit(run, fake, settings):
    settings.PLAYGROUND_RUN_MAX_EVENTS = 3
    execute(run)
    assert run.status == RunStatus.FAILED
    assert "stopped after 3 events" in run.error and "PLAYGROUND_RUN_MAX_EVENTS" in run.error


def test_every_product_kind_is_registered_with_its_own_rows():
    assert {k.name for k in kinds.every()} >= {"run", "fleet"}
    for kind in kinds.every():
        assert kind.model.kind == kind.name
        assert kind.event_model._meta.get_field("run").related_model is kind.model
