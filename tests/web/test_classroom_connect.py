"""A classroom opens one run at once (issue #16: 200 viewers on one daphne process): the viewers
connecting together share the reads of a connect (who may watch the run, its status, the
replay) and ask the reaper once, so the one sync thread does a handful of reads, not one per
viewer each; yet each viewer is let in or refused for who they are, and a run that ended is
never said to be running to a viewer who connects after."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.anatomy.models import Run, RunEvent
from playground.asgi import application
from playground.runs import consumers, leases
from playground.runs.consumers import CLOSE_RUN_NOT_FOUND
from playground.runs.models import RunStatus

from .support import close_code, ws_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CLASS = 40
SHARED = 4  # reads of each kind the class may cause (one per viewer each, before)


class Counted:
    """Counts the calls of a module's function (and still calls it)."""

    def __init__(self, monkeypatch, module, name: str):
        self.calls = 0
        original = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


@pytest.fixture(autouse=True)
def _layer(in_memory_layer, settings):
    settings.PLAYGROUND_VIEWER_RESYNC_S = 3600  # no resync check in the way
    return in_memory_layer


@pytest.fixture
def run(user):
    run = Run.objects.create(params={"memory": "4GiB"}, status=RunStatus.RUNNING, owner=user)
    for seq in (1, 2, 3):
        RunEvent.objects.create(run=run, seq=seq, kind="notice", payload={"t_s": float(seq)})
    return run


@pytest.fixture
def owner(user):
    return ws_headers(user)


@pytest.fixture
def stranger(django_user_model):
    return ws_headers(django_user_model.objects.create_user("mallory", password="mallory-pw-1"))


async def _greeting(communicator) -> tuple[list[int], str]:
    """What a viewer gets on connect: the replayed sequence numbers, then the status."""
    seqs = []
    while True:
        message = await communicator.receive_json_from(timeout=10)
        if message["type"] == "status":
            return seqs, message["status"]
        seqs += [event["seq"] for event in message["events"]]


async def _watch(run_id: int, headers):
    communicator = WebsocketCommunicator(application, f"/ws/runs/{run_id}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    greeting = await _greeting(communicator)
    await communicator.disconnect()
    return greeting


async def test_a_class_connecting_together_causes_a_handful_of_reads(run, owner, monkeypatch):
    owners = Counted(monkeypatch, consumers, "_owner")
    statuses = Counted(monkeypatch, consumers, "_read_status")
    pages = Counted(monkeypatch, consumers, "_read_events_after")
    reaps = Counted(monkeypatch, leases, "reap")
    encodes = Counted(monkeypatch, consumers, "events_message")
    greetings = await asyncio.gather(*(_watch(run.pk, owner) for _ in range(CLASS)))
    assert greetings == [([1, 2, 3], "running")] * CLASS  # each has everything, once
    assert 1 <= owners.calls <= SHARED
    assert 1 <= statuses.calls <= SHARED
    assert 1 <= pages.calls <= SHARED  # a short page is the end: no read to find nothing
    assert encodes.calls <= pages.calls  # a page replayed is encoded once, not per viewer
    assert reaps.calls == 1  # once per run and PLAYGROUND_REAP_INTERVAL_S in a process


async def test_sharing_the_read_lets_in_or_refuses_each_viewer_for_who_they_are(
    run, owner, stranger
):
    async def refused(headers):
        communicator = WebsocketCommunicator(application, f"/ws/runs/{run.pk}/", headers=headers)
        return await close_code(communicator)

    anonymous = ws_headers()
    results = await asyncio.gather(
        *(_watch(run.pk, owner) for _ in range(10)),
        *(refused(stranger) for _ in range(5)),
        *(refused(anonymous) for _ in range(5)),
    )
    assert results[:10] == [([1, 2, 3], "running")] * 10
    assert results[10:] == [CLOSE_RUN_NOT_FOUND] * 10


async def test_a_run_that_ended_is_done_for_the_next_viewer_at_once(run, owner):
    assert await _watch(run.pk, owner) == ([1, 2, 3], "running")
    await sync_to_async(Run.objects.filter(pk=run.pk).update)(status=RunStatus.DONE)
    assert await _watch(run.pk, owner) == ([1, 2, 3], "done")  # no answer kept from before


async def test_a_status_read_that_began_before_the_run_ended_answers_no_one_who_asked_after(
    run, monkeypatch
):
    """The status read for a viewer began, saw "running", and the run ended before it came
    back: a viewer asking meanwhile gets a read of their own (they joined the run's group after
    "done" was published: a "running" from before would stay on their screen)."""
    read_status, hold, began = consumers._read_status, threading.Event(), threading.Event()

    def read_then_the_run_ends(model, run_id):
        answer = read_status(model, run_id)
        if not began.is_set():
            model.objects.filter(pk=run_id).update(status=RunStatus.DONE)
            began.set()
            assert hold.wait(5)
        return answer

    monkeypatch.setattr(consumers, "_read_status", read_then_the_run_ends)
    first = asyncio.create_task(consumers._status(Run, run.pk))
    while not began.is_set():
        await asyncio.sleep(0.01)
    after = [asyncio.create_task(consumers._status(Run, run.pk)) for _ in range(5)]
    await asyncio.sleep(0.05)
    hold.set()
    assert (await first)[0] == RunStatus.RUNNING
    assert [(await task)[0] for task in after] == [RunStatus.DONE] * 5
