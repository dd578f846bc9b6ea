"""Rehearsals run in the web process's memory: one visitor (the signed-in user, else the
client address) may hold ``PLAYGROUND_REHEARSALS_PER_VISITOR`` of them, the process
``PLAYGROUND_REHEARSALS_MAX``; over either, 429 with ``Retry-After`` and a sentence (the
attacker's trial: one visitor took all 20 slots)."""

from __future__ import annotations

import asyncio
import json

import pytest

from migrationsim.fleet import parse_scenario
from playground.rehearsals import registry as rehearsals
from playground.rehearsals import session as rehearsal_session
from playground.rehearsals.registry import Registry, RehearsalError

from ..rehearsal_support import request, running_daphne, vm_list_scenario


def _scenario():
    return parse_scenario(vm_list_scenario())


def _close_all(registry: Registry) -> None:
    for session in list(registry.sessions.values()):
        registry.close(session)


def test_one_visitor_holds_at_most_their_share_and_others_still_get_one():
    async def scenario():
        registry = Registry(max_alive=10, per_visitor=2)
        for _ in range(2):
            registry.create(_scenario(), speed=10, creator="addr:10.0.0.1")
        with pytest.raises(RehearsalError) as refused:
            registry.create(_scenario(), speed=10, creator="addr:10.0.0.1")
        error = refused.value
        assert error.status == 429 and error.reason == "tooManyRehearsals"
        assert error.message.startswith(
            "Your address has 2 rehearsals running (the limit per visitor)"
        )
        assert 1 <= error.retry_after_s <= rehearsals.MAX_AGE_S
        registry.create(_scenario(), speed=10, creator="addr:10.0.0.2")  # another visitor
        registry.create(_scenario(), speed=10, creator="user:5")
        _close_all(registry)

    asyncio.run(scenario())


def test_the_process_wide_cap_is_a_429_with_retry_after_too():
    async def scenario():
        registry = Registry(max_alive=3, per_visitor=3)
        for i in range(3):
            registry.create(_scenario(), speed=10, creator=f"user:{i}")
        with pytest.raises(RehearsalError) as refused:
            registry.create(_scenario(), speed=10, creator="user:99")
        assert refused.value.status == 429 and refused.value.retry_after_s >= 1
        assert "3 rehearsals already run in this process" in refused.value.message
        _close_all(registry)

    asyncio.run(scenario())


def test_a_finished_rehearsal_frees_its_slot_sooner_and_retry_after_says_so(monkeypatch):
    for module in (rehearsals, rehearsal_session):  # limits live in session.py
        monkeypatch.setattr(module, "IDLE_S", 60.0)

    async def scenario():
        registry = Registry(max_alive=5, per_visitor=1)
        registry.create(_scenario(), speed=10, start_events=False, creator="user:1")  # done at once
        with pytest.raises(RehearsalError) as refused:
            registry.create(_scenario(), speed=10, creator="user:1")
        assert refused.value.retry_after_s <= 60
        assert "You have 1 rehearsals" in refused.value.message
        _close_all(registry)

    asyncio.run(scenario())


def test_over_http_the_third_rehearsal_of_an_address_is_a_429_with_retry_after(tmp_path):
    with running_daphne("embedded", tmp_path, {"PLAYGROUND_REHEARSALS_PER_VISITOR": "2"}) as server:
        body = json.dumps({"scenario": vm_list_scenario(), "speed": 10}).encode()
        answers = [
            request(server.base_url + "/rehearsals/new.json", method="POST", data=body)
            for _ in range(3)
        ]
        assert [status for status, _, _ in answers] == [201, 201, 429]
        status, headers, text = answers[2]
        assert int(headers["Retry-After"]) >= 1
        assert "(the limit per visitor)" in json.loads(text)["error"]
