"""The one Celery task: run any kind of run (``playground/runs/kinds.py``) by its id."""

from celery import shared_task

from . import pipeline


@shared_task(name="playground.runs.execute_run", ignore_result=True)
def execute_run(kind: str, run_id: int) -> bool:
    """Safe to deliver twice: only the delivery that claims the run does work."""
    return pipeline.execute_run(kind=kind, run_id=run_id)
