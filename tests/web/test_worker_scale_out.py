"""Scale-out is Celery's, with one rule: each worker process takes one task at a time, so N
workers share a sweep's members instead of one worker hoarding them (``docs/deploy.md``,
"More workers"). A sweep is one task per member (``test_fleet_runs.py``); this is the rest."""

import re

from playground.celery import app

from .support import ROOT


def test_a_worker_reserves_no_task_beyond_the_one_it_runs():
    assert app.conf.worker_prefetch_multiplier == 1
    # acknowledged once done: a message reserved by a worker that dies is not lost with it
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


def test_deploy_serve_starts_one_pool_process_per_worker_by_default():
    script = (ROOT / "deploy" / "serve").read_text()
    assert re.search(r'^WORKER_CONCURRENCY="\$\{WORKER_CONCURRENCY:-1\}"$', script, re.M)
    assert '--concurrency="$WORKER_CONCURRENCY"' in script
