"""Faults done for real: daphne and Celery workers as subprocesses (``support.running_stack``),
a worker SIGKILLed in the middle of a run, the same task delivered twice, the real
redis-server restarted under a running run, a real WebSocket client that reconnects like the
browser does. Each run's stored stream must end up complete: sequence numbers 1..N, no gap, no
duplicate, identical to what the model produces in one go.

The stacks use short leases (heartbeat 0.3 s, lease 2 s, reaper every 0.3 s) so a lost worker
is noticed in seconds; MAX_ATTEMPTS=2: one retry, then the run fails with the reason.
Production mode needs PostgreSQL and redis-server (skips without them; a failure under CI=true).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
import websockets

from .fleet_support import SIX_THOUSAND_VMS
from .support import running_stack
from .test_stack import FORM, Browserless

# a single-VM run the model needs ~4 s for: its first events come at ~0.8 s, the rest at ~4 s
SLOW = {**FORM, "memory": "256GiB", "resolution": "pages", "seed": "7"}
FAULT_ENV = {
    "PLAYGROUND_RUN_HEARTBEAT_S": "0.3",
    "PLAYGROUND_RUN_LEASE_S": "2",
    "PLAYGROUND_REAP_INTERVAL_S": "0.3",
    "PLAYGROUND_RUN_MAX_ATTEMPTS": "2",
    "PLAYGROUND_VIEWER_RESYNC_S": "1",
    "PLAYGROUND_REQUEUE_AFTER_S": "4",
}


@pytest.fixture(scope="module", params=["embedded", "production"])
def faulty(request, tmp_path_factory):
    with running_stack(
        request.param,
        tmp_path_factory.mktemp(f"faults-{request.param}"),
        extra_env=FAULT_ENV,
        own_redis=True,
    ) as stack:
        stack.mode = request.param
        yield stack


@pytest.fixture(scope="module")
def slow_events():
    """What the model produces for SLOW in one go (the reference for every resumed run)."""
    from playground.anatomy import runner as simulation
    from playground.anatomy.forms import AnatomyForm

    form = AnatomyForm(SLOW)
    assert form.is_valid(), form.errors
    return [
        json.loads(json.dumps(simulation.event_payload(e)))
        for e in simulation.events_for(form.run_params())
    ]


# --- helpers -------------------------------------------------------------------------------------

OWNERS: dict[tuple[str, int], Browserless] = {}  # (path, run id) -> the client that started it


def post_run(stack, data=SLOW) -> int:
    client = Browserless(stack.base_url)
    status, url, _ = client.post_form("/runs/", data)
    assert status == 200 and re.search(r"/runs/\d+/$", url), stack.log_tail()
    run_id = int(url.rstrip("/").rsplit("/", 1)[1])
    OWNERS[("runs", run_id)] = client  # its viewer watches with the same session
    return run_id


def run_row(stack, run_id, table="playground_run"):
    (row,) = stack.sql(f"SELECT status, attempts, error FROM {table} WHERE id = %s", run_id)
    return row


def stored(stack, run_id, table="playground_runevent"):
    return stack.sql(
        f"SELECT seq, kind, payload FROM {table} WHERE run_id = %s ORDER BY seq", run_id
    )


def wait_for(predicate, timeout, stack, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{stack.log_tail()}")


def pool_children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def assert_complete(stack, run_id, reference=None, table="playground_runevent"):
    rows = stored(stack, run_id, table)
    seqs = [row[0] for row in rows]
    assert seqs == list(range(1, len(seqs) + 1)), f"gap or duplicate: {seqs}"
    if reference is not None:
        payloads = [{"kind": kind, **_json(payload)} for _, kind, payload in rows]
        assert payloads == reference
    return seqs


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class Viewer(threading.Thread):
    """A WebSocket client that behaves like the run page: it keeps every event once (by seq),
    and when the socket drops it reconnects with ``?after=<last seq>`` until the run is over."""

    def __init__(self, stack, run_id, path="runs", timeout=90):
        super().__init__(daemon=True)
        self.url = f"{stack.ws_url}/ws/{path}/{run_id}/"
        self.origin = stack.base_url
        self.headers = OWNERS[(path, run_id)].ws_headers()  # the owner's session
        self.timeout = timeout
        self.seqs: list[int] = []
        self.received: list[int] = []  # every seq received, duplicates included
        self.status = None
        self.error = ""
        self.connections = 0
        self.rejected: list[int] = []  # handshake statuses refused while a service was down
        self.failure: BaseException | None = None

    def run(self):
        try:
            asyncio.run(asyncio.wait_for(self._main(), self.timeout))
        except BaseException as exc:  # reported by the test
            self.failure = exc

    async def _main(self):
        last = 0
        while self.status not in ("done", "failed"):
            try:
                async with websockets.connect(
                    f"{self.url}?after={last}",
                    origin=self.origin,
                    additional_headers=self.headers,
                    open_timeout=5,
                ) as ws:
                    self.connections += 1
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "events":
                            for event in message["events"]:
                                self.received.append(event["seq"])
                                if event["seq"] > last:
                                    self.seqs.append(event["seq"])
                                    last = event["seq"]
                        else:
                            self.status, self.error = message["status"], message["error"]
                            if self.status in ("done", "failed"):
                                return
            except websockets.InvalidStatus as exc:  # the handshake failed (layer down: 500)
                self.rejected.append(exc.response.status_code)
            except (TimeoutError, OSError, websockets.ConnectionClosed):
                pass
            await asyncio.sleep(0.2)  # the page backs off too


# --- a worker killed mid-run ----------------------------------------------------------------------


def test_a_worker_killed_mid_run_is_noticed_and_the_run_resumes_without_gaps(faulty, slow_events):
    run_id = post_run(faulty)
    viewer = Viewer(faulty, run_id)
    viewer.start()
    wait_for(
        lambda: run_row(faulty, run_id)[0] == "running" and stored(faulty, run_id),
        30,
        faulty,
        "the first stored events",
    )
    (worker,) = faulty.workers()
    faulty.kill_worker(worker)  # SIGKILL: no shutdown code, the message is not acknowledged
    before = len(stored(faulty, run_id))
    assert run_row(faulty, run_id)[0] == "running" and 0 < before < len(slow_events)

    faulty.start_worker()  # its reaper sees the expired lease and queues the run again
    wait_for(lambda: run_row(faulty, run_id)[0] in ("done", "failed"), 60, faulty, "the retry")
    status, attempts, error = run_row(faulty, run_id)
    assert (status, attempts, error) == ("done", 2, ""), faulty.log_tail()
    assert_complete(faulty, run_id, slow_events)

    viewer.join(30)
    assert viewer.failure is None and viewer.status == "done", viewer.failure
    assert viewer.seqs == list(range(1, len(slow_events) + 1))
    assert "worker lost; run queued again" in "".join(
        log.read_text(errors="replace") for log in faulty.logs
    )


def test_a_run_that_loses_its_worker_twice_fails_with_the_reason(faulty, slow_events):
    run_id = post_run(faulty)
    wait_for(
        lambda: run_row(faulty, run_id)[0] == "running" and stored(faulty, run_id),
        30,
        faulty,
        "the first stored events",
    )
    (worker,) = faulty.workers()
    faulty.kill_worker(worker)  # the whole worker
    worker = faulty.start_worker()
    wait_for(lambda: run_row(faulty, run_id)[:2] == ("running", 2), 30, faulty, "the retry")
    # this time only the pool process dies (what the OOM killer picks): the worker survives,
    # its pool replaces the process, the reaper in the worker's main process gives up
    children = wait_for(lambda: pool_children(worker.pid), 10, faulty, "the pool process")
    for child in children:
        os.kill(child, signal.SIGKILL)
    wait_for(lambda: run_row(faulty, run_id)[0] == "failed", 30, faulty, "the run to fail")
    status, attempts, error = run_row(faulty, run_id)
    assert attempts == 2 and "stopped (no heartbeat for 2 s)" in error and "2 attempt" in error
    seqs = assert_complete(faulty, run_id)
    assert seqs and len(seqs) < len(slow_events)
    # the worker is still there and takes the next run
    assert worker.poll() is None
    quick = post_run(faulty, FORM)
    wait_for(lambda: run_row(faulty, quick)[0] == "done", 30, faulty, "a run after the failure")


def test_a_fleet_run_whose_worker_is_killed_resumes_and_stores_every_vm_once(faulty):
    scenario = {**SIX_THOUSAND_VMS, "name": "fault", "seed": 3}
    client = Browserless(faulty.base_url)
    status, url, _ = client.post_form("/fleets/import/", {"text": json.dumps(scenario)})
    assert status == 200 and re.search(r"/fleets/\d+/$", url), faulty.log_tail()
    status, url, _ = client.approve_plan(url.replace(faulty.base_url, ""))
    assert status == 200 and re.search(r"/fleets/runs/\d+/$", url), faulty.log_tail()
    run_id = int(url.rstrip("/").rsplit("/", 1)[1])
    OWNERS[("fleet-runs", run_id)] = client
    viewer = Viewer(faulty, run_id, path="fleet-runs")
    viewer.start()

    table = "playground_fleetrunmessage"
    wait_for(
        lambda: (
            run_row(faulty, run_id, "playground_fleetrun")[0] == "running"
            and stored(faulty, run_id, table)
        ),
        30,
        faulty,
        "the first stored frames",
    )
    (worker,) = faulty.workers()
    faulty.kill_worker(worker)
    assert run_row(faulty, run_id, "playground_fleetrun")[0] == "running"
    faulty.start_worker()
    wait_for(
        lambda: run_row(faulty, run_id, "playground_fleetrun")[0] in ("done", "failed"),
        90,
        faulty,
        "the fleet run to end",
    )
    assert run_row(faulty, run_id, "playground_fleetrun") == ("done", 2, ""), faulty.log_tail()
    seqs = assert_complete(faulty, run_id, table=table)
    (vms,) = faulty.sql(
        "SELECT count(*), count(DISTINCT name) FROM playground_fleetrunvm WHERE run_id = %s", run_id
    )
    assert vms == (6000, 6000)
    viewer.join(60)
    assert viewer.failure is None and viewer.status == "done", viewer.failure
    assert viewer.seqs == seqs


# --- the same task twice ------------------------------------------------------------------------


def test_the_same_task_delivered_again_to_two_workers_runs_once(faulty, slow_events):
    from celery import Celery

    extra = faulty.start_worker()
    try:
        run_id = post_run(faulty)
        app = Celery("duplicates", broker=_broker_url(faulty))
        app.conf.broker_transport_options = _broker_options(faulty)
        for _ in range(3):  # three more deliveries of the same message, racing on two workers
            app.send_task("playground.runs.execute_run", args=["run", run_id])
        wait_for(lambda: run_row(faulty, run_id)[0] == "done", 60, faulty, "the run")
        time.sleep(1.0)  # the duplicates are consumed (each finds the run claimed)
        assert run_row(faulty, run_id) == ("done", 1, "")
        assert_complete(faulty, run_id, slow_events)
        logs = "".join(log.read_text(errors="replace") for log in faulty.logs)
        assert len(re.findall(rf"msg=\"not queued; nothing to do\" run_id={run_id} ", logs)) == 3
    finally:
        faulty.kill_worker(extra)


def _broker_url(stack):
    return stack.env.get("REDIS_URL") or "filesystem://"


def _broker_options(stack):
    if stack.env.get("REDIS_URL"):
        prefix = stack.env.get("PLAYGROUND_REDIS_PREFIX", "")
        return {"global_keyprefix": prefix} if prefix else {}
    broker = Path(stack.env["PLAYGROUND_VAR_DIR"]) / "broker"  # the stack's, as in settings.py
    return {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
    }  # kombu's default: ./control


# --- Redis restarted under a running run --------------------------------------------------------


def test_redis_restarted_during_a_run_loses_nothing_and_viewers_resume(faulty, slow_events):
    if faulty.mode != "production":
        pytest.skip("Redis is the broker and channel layer only in production mode")
    run_id = post_run(faulty)
    viewer = Viewer(faulty, run_id)
    viewer.start()
    wait_for(lambda: viewer.seqs, 30, faulty, "the viewer's first events")
    faulty.redis.restart(down_s=0.5)  # SIGKILL, then a fresh, empty server on the same port
    viewer.join(60)
    assert viewer.failure is None, viewer.failure
    status, attempts, error = run_row(faulty, run_id)
    assert status == "done" and attempts == 1, (status, error, faulty.log_tail())
    assert viewer.status == "done"
    seqs = assert_complete(faulty, run_id, slow_events)
    assert viewer.seqs == seqs  # everything, once, in order
    assert viewer.connections >= 2  # it did lose the socket and resume
    # the worker reconnected to the new server and takes the next run
    quick = post_run(faulty, FORM)
    wait_for(lambda: run_row(faulty, quick)[0] == "done", 60, faulty, "a run after the restart")
    status, body = Browserless(faulty.base_url).get("/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
