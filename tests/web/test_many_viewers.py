"""Two viewers, or fifty, on one run all see the same complete stream.

Real processes (``support.running_stack`` through the session's ``stack`` fixture: daphne and a
Celery worker as subprocesses; embedded mode, and production mode with PostgreSQL and Redis
when ``DATABASE_URL``/``REDIS_URL`` point at running servers, a failure under CI=true without
them). A run is started through the real form, then real WebSocket clients (``websockets``)
watch it:

- most connect right after the form is posted (live tail, whatever the consumer replays first);
- a few join late, while the run streams, and a few once it is over (replay from the database);
- one disconnects after its first message and resumes with ``?after=<last seq>``.

Every viewer must end up with exactly the stored stream: sequence numbers 1..N in order, no gap,
no duplicate (each viewer keeps every event it receives, duplicates included), the same
payloads as the stored rows and as every other viewer, and the final status ``done``.
For a single-VM run (``/ws/runs/<id>/``, events) and a fleet run (``/ws/fleet-runs/<id>/``,
progress frames).
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import websockets

from .fleet_support import SIX_THOUSAND_VMS
from .test_stack import FORM, Browserless

# a single-VM run the model needs a few seconds for (its events arrive over ~4 s, in batches)
LONG_RUN = {**FORM, "memory": "256GiB", "resolution": "pages", "seed": "11"}

# a 6,000-VM fleet: its frames are published over a few seconds, every 0.25 s
FLEET = {**SIX_THOUSAND_VMS, "name": "many-viewers"}
TIMEOUT_S = 120


class Viewer:
    """One WebSocket client. Keeps every event it receives, in arrival order (duplicates too),
    and every status. ``drop_after_first``: close the socket after the first events message and
    reconnect with ``?after=<last seq>``, like the page does when its socket drops."""

    def __init__(
        self,
        ws_url: str,
        origin: str,
        path: str,
        run_id: int,
        *,
        cookies: str = "",
        drop_after_first: bool = False,
    ):
        self.url = f"{ws_url}/ws/{path}/{run_id}/"
        self.origin = origin
        self.headers = {"Cookie": cookies} if cookies else {}
        self.drop_after_first = drop_after_first
        self.events: list[dict] = []
        self.statuses: list[str] = []
        self.connections = 0
        self.greeted = asyncio.Event()  # the first status arrived: connected, replayed, live

    @property
    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]

    async def watch(self) -> None:
        after = 0
        while True:
            dropped = await self._connection(after)
            if not dropped:
                return
            after = self.events[-1]["seq"]
            await asyncio.sleep(0.3)  # the run goes on without this viewer for a moment

    async def _connection(self, after: int) -> bool:
        """One connection; True if this viewer dropped it on purpose and wants to resume."""
        async with websockets.connect(
            f"{self.url}?after={after}",
            origin=self.origin,
            additional_headers=self.headers,
            max_size=None,
            open_timeout=30,
        ) as ws:
            self.connections += 1
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "events":
                    self.events += message["events"]
                    if self.drop_after_first and self.connections == 1:
                        return True
                else:
                    self.statuses.append(message["status"])
                    self.greeted.set()
                    if message["status"] in ("done", "failed"):
                        return False
        raise AssertionError(f"{self.url}: the server closed the socket before the run ended")


def cookie_header(client: Browserless) -> str:
    """The cookies a ``Browserless`` client holds, as a ``Cookie`` header: the viewers are the
    visitor who started the run (a run is its owner's to watch), in 50 tabs, so to speak."""
    return client.ws_headers()["Cookie"]


def _start_single(stack, client):
    """Nothing to prepare: returns what starts the run."""
    return lambda: ("runs", _post_single(client, LONG_RUN), "single")


def _post_single(client, form) -> int:
    status, url, _ = client.post_form("/runs/", form)
    assert status == 200 and re.search(r"/runs/\d+/$", url), (status, url)
    return int(url.rstrip("/").rsplit("/", 1)[1])


def _start_fleet(stack, client):
    """The fleet and its plan (a worker computes it), then what approves it (the run starts)."""
    status, url, _ = client.post_form("/fleets/import/", {"text": json.dumps(FLEET)})
    assert status == 200 and re.search(r"/fleets/\d+/$", url), stack.log_tail()
    fleet_path = url.replace(stack.base_url, "")
    client.wait_for_plan(fleet_path)

    def approve():
        status, url, _ = client.approve_plan(fleet_path)
        assert status == 200 and re.search(r"/fleets/runs/\d+/$", url), stack.log_tail()
        return "fleet-runs", int(url.rstrip("/").rsplit("/", 1)[1]), "fleet"

    return approve


def _tables(kind: str) -> tuple[str, str]:
    return (
        ("playground_runevent", "playground_run")
        if kind == "single"
        else ("playground_fleetrunmessage", "playground_fleetrun")
    )


def _progress(stack, kind: str, run_id: int) -> tuple[int, str]:
    """How many events (frames) are stored, and the run's status."""
    table, run_table = _tables(kind)
    ((count,),) = stack.sql(f"SELECT count(*) FROM {table} WHERE run_id = %s", run_id)
    ((status,),) = stack.sql(f"SELECT status FROM {run_table} WHERE id = %s", run_id)
    return count, status


def _stored(stack, kind: str, run_id: int) -> tuple[list[dict], str]:
    table, run_table = _tables(kind)
    rows = stack.sql(f"SELECT seq, payload FROM {table} WHERE run_id = %s ORDER BY seq", run_id)
    ((status,),) = stack.sql(f"SELECT status FROM {run_table} WHERE id = %s", run_id)
    return [{"seq": seq, **(json.loads(p) if isinstance(p, str) else p)} for seq, p in rows], status


async def _watch(
    stack, path: str, kind: str, run_id: int, n: int, cookies: str
) -> dict[str, list[Viewer]]:
    """``n`` viewers in all: 1/10 join while the run streams (at least one), 1/10 once it is
    over, the rest at once (while the run waits behind the blocker); the first of those
    resumes after a drop. With n=2: one from the start that drops and resumes, one that joins
    while the run streams."""
    n_midway, n_after_end = max(1, n // 10), n // 10
    n_early = n - n_midway - n_after_end

    def make(**kw) -> Viewer:
        return Viewer(stack.ws_url, stack.base_url, path, run_id, cookies=cookies, **kw)

    early = [make(drop_after_first=True)] + [make() for _ in range(n_early - 1)]
    tasks = [asyncio.create_task(v.watch()) for v in early]
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(v.greeted.wait() for v in early)), TIMEOUT_S)
    print(f"{len(early)} early viewers connected in {time.monotonic() - t0:.2f} s")

    # join while it streams: once something is stored and the run is not over yet
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        count, status = await asyncio.to_thread(_progress, stack, kind, run_id)
        if count or status in ("done", "failed") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert count > 0 and status == "running", (count, status)  # mid-stream
    midway = [make() for _ in range(n_midway)]
    tasks += [asyncio.create_task(v.watch()) for v in midway]

    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT_S)
    # everyone so far saw the end: these join a finished run (the database only)
    after_end = [make() for _ in range(n_after_end)]
    await asyncio.wait_for(asyncio.gather(*(v.watch() for v in after_end)), TIMEOUT_S)
    return {"early": early, "midway": midway, "after_end": after_end}


@pytest.mark.parametrize("n", [2, 50])
@pytest.mark.parametrize("start", [_start_single, _start_fleet], ids=["single-vm", "fleet"])
def test_every_viewer_sees_the_same_complete_stream(stack, start, n):
    # the worker (one, one process) is busy with another run first (~4 s; ~8 s while 50
    # connect): the run under test waits in the queue while the early viewers connect, so
    # they get all of it live, through the channel layer
    client = Browserless(stack.base_url)
    go = start(stack, client)
    blocker = _post_single(
        client, {**LONG_RUN, "seed": "12", "memory": "512GiB" if n > 10 else LONG_RUN["memory"]}
    )
    path, run_id, kind = go()
    groups = asyncio.run(_watch(stack, path, kind, run_id, n, cookie_header(client)))
    assert _progress(stack, "single", blocker)[1] == "done"
    stored, status = _stored(stack, kind, run_id)
    assert status == "done", stack.log_tail()
    total = len(stored)
    assert [e["seq"] for e in stored] == list(range(1, total + 1))
    assert total >= (30 if kind == "single" else 20), total  # a real stream, several messages

    viewers = groups["early"] + groups["midway"] + groups["after_end"]
    assert len(viewers) == n
    reference = json.loads(json.dumps(stored))  # as JSON, the way it goes over the socket
    for i, viewer in enumerate(viewers):
        where = f"viewer {i} of {n} ({kind} run {run_id}, {stack.mode})"
        assert viewer.seqs == list(range(1, total + 1)), f"{where}: gap, duplicate or reorder"
        assert viewer.events == reference, f"{where}: payloads differ from the stored ones"
        assert viewer.statuses[-1] == "done", f"{where}: {viewer.statuses}"
        assert "failed" not in viewer.statuses
    # and so, by transitivity, each viewer's stream is every other viewer's
    assert all(v.events == viewers[0].events for v in viewers)

    # the resuming viewer really dropped its socket and came back with ?after=
    resumer = groups["early"][0]
    assert resumer.connections == 2, resumer.connections
    # the early viewers were connected before the run started (all of it came live); the
    # midway ones opened their socket while it streamed (asserted in _watch; with 50 viewers
    # their connect may complete only after the end); the last ones once it was over
    assert [v.statuses[0] for v in groups["early"]] == ["queued"] * len(groups["early"])
    assert all(v.statuses == ["done"] for v in groups["after_end"])


def test_a_viewer_idle_longer_than_the_layers_blocking_read_keeps_its_socket(stack):
    """channels-redis waits for a consumer's next message with a 5 s blocking pop; redis-py 8
    reads with a 5 s socket timeout by default, which tore every idle consumer down (1011).
    A viewer of a finished run gets nothing more: its socket must stay open."""
    client = Browserless(stack.base_url)
    run_id = _post_single(client, FORM)

    async def idle() -> None:
        viewer = Viewer(stack.ws_url, stack.base_url, "runs", run_id, cookies=cookie_header(client))
        await asyncio.wait_for(viewer.watch(), TIMEOUT_S)  # the whole run, then its end
        async with websockets.connect(
            f"{viewer.url}?after={viewer.seqs[-1]}",
            origin=stack.base_url,
            additional_headers=viewer.headers,
        ) as ws:
            assert json.loads(await ws.recv()) == {"type": "status", "status": "done", "error": ""}
            await asyncio.sleep(7)  # longer than the blocking pop and the old read timeout
            await asyncio.wait_for(await ws.ping(), 5)  # still open, still answered

    asyncio.run(idle())
    assert "Exception inside application" not in "".join(
        log.read_text(errors="replace") for log in stack.logs
    ), stack.log_tail()
