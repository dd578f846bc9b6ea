"""The Celery app. ``celery -A playground worker`` runs the tasks in ``playground/runs/tasks.py``.

Every worker process also runs the reaper (``playground/runs/leases.py``) in a thread: runs whose
worker died are queued again or failed, and lost task messages are sent again. It runs in the
pool processes, never in the worker's main process: the main process forks replacement pool
processes, and a database connection (SQLite's above all) must never be open across a fork.

See the workers: ``celery -A playground inspect active`` (what each runs now), ``inspect
stats``, ``status``, ``events`` (a live terminal view); README.md, Operations.
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_reaper = None


@worker_process_init.connect
def start_reaper(**_kwargs) -> None:
    global _reaper
    from .runs.leases import Reaper

    if _reaper is None:
        _reaper = Reaper().start()


@worker_process_shutdown.connect
def stop_reaper(**_kwargs) -> None:
    global _reaper
    if _reaper is not None:
        _reaper.stop()
        _reaper = None


def ensure_broker_folders() -> None:
    """kombu's filesystem transport needs its folders to exist (embedded mode only)."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
