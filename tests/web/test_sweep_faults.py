"""A sweep shared by two Celery workers (production mode: Redis broker, PostgreSQL), one of them
SIGKILLed while it runs a member: no member is lost. The killed member's lease expires, the
surviving worker's reaper queues it again and sends its task (acks late alone cannot bring it
back: the whole worker died with the message unacknowledged), the survivor resumes it after
its last stored frame, and the heat map completes with every cell a number.

Short leases as in ``test_faults.py`` (heartbeat 0.3 s, lease 2 s, reaper every 0.3 s). Needs
PostgreSQL (``DATABASE_URL``) and redis-server (skips without them; a failure under CI=true).
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from .fleet_support import SIX_THOUSAND_VMS
from .support import running_stack
from .test_faults import FAULT_ENV, assert_complete, pool_children, wait_for
from .test_stack import Browserless

# four members of 6,000 VMs each: a member streams its frames over a few seconds, long enough
# to kill its worker in the middle
SWEEP = {
    "x_param": "policy.downtime_limit",
    "x_values": "300ms, 1s",
    "y_param": "seed",
    "y_values": "3, 4",
    "metric": "makespan_s",
}
MEMBERS = 4


@pytest.fixture
def two_workers(tmp_path):
    with running_stack("production", tmp_path, extra_env=FAULT_ENV, own_redis=True) as stack:
        stack.start_worker()
        yield stack


def members(stack, sweep_id):
    """(id, status, attempts, error, worker) of every run of the sweep, by id."""
    return stack.sql(
        "SELECT id, status, attempts, error, worker FROM playground_fleetrun "
        "WHERE sweep_id = %s ORDER BY id",
        sweep_id,
    )


def running_with_frames(stack, sweep_id):
    """A member that is running and has stored frames already: (run id, its worker)."""
    for run_id, status, _, _, worker in members(stack, sweep_id):
        if status == "running" and stack.sql(
            "SELECT 1 FROM playground_fleetrunmessage WHERE run_id = %s LIMIT 1", run_id
        ):
            return run_id, worker
    return None


def worker_holding(stack, claimed_by: str):
    """The worker (process group) whose pool process claimed a run (``host:pid``)."""
    pid = int(claimed_by.rsplit(":", 1)[1])
    for worker in stack.workers():
        if pid in pool_children(worker.pid):
            return worker
    pytest.fail(f"no live worker has the pool process {claimed_by}\n{stack.log_tail()}")


def test_a_worker_killed_mid_sweep_loses_no_member_and_the_heat_map_completes(two_workers):
    stack = two_workers
    assert len(stack.workers()) == 2
    client = Browserless(stack.base_url)
    scenario = copy.deepcopy({**SIX_THOUSAND_VMS, "name": "sweep-fault"})
    status, url, _ = client.post_form("/fleets/import/", {"text": json.dumps(scenario)})
    assert status == 200 and re.search(r"/fleets/\d+/$", url), stack.log_tail()
    fleet_path = url.replace(stack.base_url, "")
    status, url, _ = client.post_form(fleet_path + "sweep/", SWEEP)
    assert status == 200 and re.search(r"/fleets/sweeps/\d+/$", url), stack.log_tail()
    sweep_path = url.replace(stack.base_url, "")
    sweep_id = int(sweep_path.rstrip("/").rsplit("/", 1)[1])
    assert len(members(stack, sweep_id)) == MEMBERS

    # both workers take members: each holds one task at a time, so neither hoards the queue
    wait_for(
        lambda: len({m[4] for m in members(stack, sweep_id) if m[1] == "running"}) == 2,
        90,
        stack,
        "two members running at once, one on each worker",
    )
    victim_run, claimed_by = wait_for(
        lambda: running_with_frames(stack, sweep_id), 60, stack, "a member with stored frames"
    )
    victim = worker_holding(stack, claimed_by)
    stack.kill_worker(victim)  # SIGKILL to the worker and its pool: its message is never acked
    (status, attempts, *_) = next(m[1:] for m in members(stack, sweep_id) if m[0] == victim_run)
    assert (status, attempts) == ("running", 1)  # nobody noticed yet: the lease is still fresh
    (survivor,) = stack.workers()

    def heat_map():
        status, body = client.get(sweep_path + "results.json")
        assert status == 200
        data = json.loads(body)
        return data if data["complete"] else None

    deadline = 240  # four 6,000-VM runs, one of them twice, on one worker
    results = wait_for(heat_map, deadline, stack, "the heat map to complete")
    assert results["done"] == results["total"] == MEMBERS
    assert all(value is not None for row in results["z"] for value in row), results["z"]

    rows = members(stack, sweep_id)
    assert [(status, error) for _, status, _, error, _ in rows] == [("done", "")] * MEMBERS
    attempts = {run_id: attempts for run_id, _, attempts, _, _ in rows}
    assert attempts.pop(victim_run) == 2  # claimed again after the kill
    assert set(attempts.values()) == {1}
    # the retry ran on the survivor, resumed after the stored frames: 1..N once, every VM once
    survivor_pool = set(pool_children(survivor.pid))
    (claimed_again,) = [w for run_id, *_, w in rows if run_id == victim_run]
    assert int(claimed_again.rsplit(":", 1)[1]) in survivor_pool
    for run_id, *_ in rows:
        assert_complete(stack, run_id, table="playground_fleetrunmessage")
        (vms,) = stack.sql(
            "SELECT count(*), count(DISTINCT name) FROM playground_fleetrunvm WHERE run_id = %s",
            run_id,
        )
        assert vms == (6000, 6000)
    logs = "".join(log.read_text(errors="replace") for log in stack.logs)
    assert re.search(rf"worker lost; run queued again.*run_id={victim_run}\b", logs), logs[-3000:]
