"""The Celery app. ``celery -A playground worker`` runs the tasks in ``playground/tasks.py``.

Every worker also runs the reaper (``playground/leases.py``) in a thread of its main process:
runs whose worker died are queued again or failed, and lost task messages are sent again.

See the workers: ``celery -A playground inspect active`` (what each runs now), ``inspect
stats``, ``status``, ``events`` (a live terminal view); README.md, Operations.
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_reaper = None


@worker_ready.connect
def start_reaper(**_kwargs) -> None:
    global _reaper
    from .leases import Reaper

    if _reaper is None:
        _reaper = Reaper().start()


@worker_shutdown.connect
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
