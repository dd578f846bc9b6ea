"""Reads shared by whoever asks the same at the same time (``playground/runs/shared_reads.py``):
one read per key at a time, and never an answer from a read that began before the question."""

from __future__ import annotations

import asyncio
import threading

import pytest

from playground.runs import shared_reads

pytestmark = pytest.mark.asyncio


class Reads:
    """A read that counts itself and answers its number: 1, 2, 3 ..."""

    def __init__(self, hold: threading.Event | None = None):
        self.count = 0
        self.began = threading.Event()
        self.hold = hold

    def __call__(self) -> int:
        self.count += 1
        number = self.count
        self.began.set()
        if self.hold is not None:
            assert self.hold.wait(5)
        return number


async def _until(event: threading.Event) -> None:
    for _ in range(500):
        if event.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the read never began")


async def test_many_asking_at_once_share_one_read():
    read = Reads()
    answers = await asyncio.gather(*(shared_reads.fresh("status", read) for _ in range(50)))
    assert read.count == 1
    assert answers == [1] * 50


async def test_a_read_that_began_before_the_question_does_not_answer_it():
    hold = threading.Event()
    read = Reads(hold)
    early = asyncio.create_task(shared_reads.fresh("status", read))
    await _until(read.began)  # the first read has begun (and will answer what it saw then)
    late = [asyncio.create_task(shared_reads.fresh("status", read)) for _ in range(20)]
    await asyncio.sleep(0.05)
    hold.set()
    assert await early == 1
    assert [await task for task in late] == [2] * 20  # one more read, begun after they asked
    assert read.count == 2


async def test_different_keys_are_different_reads():
    read = Reads()
    await asyncio.gather(
        shared_reads.fresh(("status", 1), read), shared_reads.fresh(("status", 2), read)
    )
    assert read.count == 2


async def test_a_failed_read_fails_everyone_it_answers_and_the_next_read_is_new():
    def broken():
        raise RuntimeError("the database went away")

    results = await asyncio.gather(
        *(shared_reads.fresh("status", broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await shared_reads.fresh("status", Reads()) == 1


async def test_a_viewer_who_leaves_does_not_stop_the_read_the_others_wait_for():
    hold = threading.Event()
    read = Reads(hold)
    leaving = asyncio.create_task(shared_reads.fresh("status", read))
    staying = asyncio.create_task(shared_reads.fresh("status", read))
    await _until(read.began)
    await asyncio.sleep(0)
    leaving.cancel()
    hold.set()
    assert await staying in (1, 2)  # 1 if it asked before the read began, else the next


async def test_an_action_runs_at_most_once_per_interval_and_who_comes_meanwhile_waits_for_it():
    hold = threading.Event()
    action = Reads(hold)
    callers = [
        asyncio.create_task(shared_reads.at_most_every("reap", 0.3, action)) for _ in range(20)
    ]
    await _until(action.began)
    await asyncio.sleep(0.05)
    assert not any(c.done() for c in callers)  # they wait for the one running
    hold.set()
    await asyncio.gather(*callers)
    await shared_reads.at_most_every("reap", 0.3, action)  # within the interval: not again
    assert action.count == 1
    await asyncio.sleep(0.35)
    await shared_reads.at_most_every("reap", 0.3, action)
    assert action.count == 2


async def test_a_read_that_has_landed_but_is_not_yet_forgotten_is_not_awaited_again():
    """A read is forgotten by its done-callback, which the event loop runs a moment after the
    read lands. A viewer asking in that moment gets a new read: it used to await the landed one
    again and again without ever yielding, so the callback never ran (100 % CPU, a CI run hung
    in test_classroom_connect). Asked in a thread of its own, so that a spin fails the test."""
    read, answers = Reads(), []

    async def ask() -> None:
        landed = asyncio.get_running_loop().create_future()
        landed.set_result((0.0, "from before the question"))  # done, its callbacks not yet run
        shared_reads._state().flights["status"] = landed
        answers.append(await shared_reads.fresh("status", read))

    viewer = threading.Thread(target=asyncio.run, args=(ask(),), daemon=True)
    viewer.start()
    await asyncio.to_thread(viewer.join, 10)
    assert not viewer.is_alive(), "fresh() spun on a read that had already landed"
    assert answers == [1] and read.count == 1
