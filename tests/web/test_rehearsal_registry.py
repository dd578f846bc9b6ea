"""The in-process registry: how many rehearsals may live, when they are dropped, who owns one.
No server: the registry is driven on an event loop of its own."""

import asyncio
import json
import time

import pytest
from django.test import RequestFactory

from migrationsim.fleet import parse_scenario
from playground.rehearsals import creating
from playground.rehearsals import registry as rehearsals
from playground.rehearsals import session as rehearsal_session
from playground.rehearsals.registry import Registry, RehearsalError

from .rehearsal_support import vm_list_scenario


def _scenario():
    return parse_scenario(vm_list_scenario())


def test_a_process_runs_at_most_its_limit_of_rehearsals_and_says_why_when_full():
    async def scenario():
        registry = Registry(max_alive=2)
        first = registry.create(_scenario(), speed=10)
        registry.create(_scenario(), speed=10)
        with pytest.raises(RehearsalError) as refused:
            registry.create(_scenario(), speed=10)
        assert refused.value.status == 429 and "2 rehearsals" in refused.value.message
        assert refused.value.retry_after_s >= 1
        registry.close(first)
        assert registry.get(first.id) is None
        registry.create(_scenario(), speed=10)  # room again
        for session in list(registry.sessions.values()):
            registry.close(session)

    asyncio.run(scenario())


def test_a_finished_idle_rehearsal_is_dropped_and_a_busy_one_is_kept(monkeypatch):
    for module in (rehearsals, rehearsal_session):  # limits live in session.py
        monkeypatch.setattr(module, "IDLE_S", 0.2)
    for module in (rehearsals, rehearsal_session):  # limits live in session.py
        monkeypatch.setattr(module, "MAX_SLEEP_S", 0.05)

    async def scenario():
        registry = Registry(max_alive=5)
        quiet = registry.create(_scenario(), speed=10, start_events=False)  # nothing to play
        busy = registry.create(_scenario(), speed=1, start_events=True)  # maintenance at 20 s
        await asyncio.sleep(0.6)
        assert registry.get(quiet.id) is None and quiet.task.done()
        assert registry.get(busy.id) is busy and not busy.finished
        registry.close(busy)
        await asyncio.wait([busy.task], timeout=1)
        assert busy.task.done() and registry.get(busy.id) is None

    asyncio.run(scenario())


def test_every_rehearsal_is_dropped_after_its_maximum_age(monkeypatch):
    async def scenario():
        registry = Registry(max_alive=5)
        session = registry.create(_scenario(), speed=1)
        session.created = time.monotonic() - rehearsals.MAX_AGE_S - 1
        registry.sweep()
        assert registry.get(session.id) is None

    asyncio.run(scenario())


def test_only_the_token_of_the_rehearsal_opens_it():
    async def scenario():
        registry = Registry(max_alive=5)
        a = registry.create(_scenario())
        b = registry.create(_scenario())
        factory = RequestFactory()
        assert rehearsals.owns(factory.get("/"), a, a.token)
        assert not rehearsals.owns(factory.get("/"), a, b.token)
        assert not rehearsals.owns(factory.get("/"), a)  # no cookie
        with_cookie = factory.get("/")
        with_cookie.COOKIES[rehearsals.cookie_name(a)] = a.token
        assert rehearsals.owns(with_cookie, a) and not rehearsals.owns(with_cookie, b)
        assert a.id != b.id and a.token != b.token and len(a.token) >= 32
        for session in (a, b):
            registry.close(session)

    asyncio.run(scenario())


def test_the_scenario_and_speed_are_checked_before_anything_runs():
    with pytest.raises(RehearsalError, match="2,000"):
        rehearsals.scenario_from(preset="heartbleed")
    with pytest.raises(RehearsalError, match="one of"):
        rehearsals.scenario_from(preset="demo", text="seed: 1")
    with pytest.raises(RehearsalError, match="no preset"):
        rehearsals.scenario_from(preset="nope")
    assert rehearsals.parse_speed("10x") == 10.0
    for bad in ("fast", "0", "101"):
        with pytest.raises(RehearsalError):
            rehearsals.parse_speed(bad)
    slashed = vm_list_scenario(vms=(("a/b", "r1-h1"),))
    with pytest.raises(RehearsalError, match="no '/'"):  # the engine's rule (vm_list names)
        rehearsals.scenario_from(data=slashed)
    assert "heartbleed" not in [name for name, _, _ in rehearsals.small_presets()]


def test_a_key_given_twice_in_the_json_body_is_refused_naming_it():
    """`{"scenario": {..., "seed": 1, "seed": 2}}` ran with seed 2; a scenario sent as text
    was already refused (the one text reader)."""
    scenario = json.dumps(vm_list_scenario(seed=1))[:-1] + ', "seed": 2}'

    def refused(body: str) -> RehearsalError:
        request = RequestFactory().post("/", body, content_type="application/json")
        with pytest.raises(RehearsalError) as error:
            creating._read_json(request)
        return error.value

    in_scenario = refused('{"speed": 10, "scenario": ' + scenario + "}")
    assert (in_scenario.field, in_scenario.status) == ("scenario", 422)
    assert in_scenario.message.startswith('seed: the key "seed" is given twice')
    in_body = refused('{"preset": "demo", "speed": 1, "speed": 100}')
    assert (in_body.field, in_body.status) == ("", 400)
    assert in_body.message.startswith('speed: the key "speed" is given twice')
    as_text = refused(json.dumps({"scenario": scenario}))
    assert as_text.field == "scenario" and 'seed: the key "seed" is given twice' in as_text.message


def test_an_operation_is_found_by_its_number_and_a_made_up_name_by_none():
    """``operations/<name>`` searched the whole list (on the event loop) for every GET: one
    operation per VM every 30 s, for hours. The n-th is found by its number now, and a name
    that is not one of them (another prefix, 5,000 digits, another script's digits) by none."""

    async def scenario():
        registry = Registry(max_alive=2)
        session = registry.create(_scenario(), speed=10)
        first = session.simulate("web-1")
        second = session.simulate("db-1")

        class Unscanned(list):
            def __iter__(self):
                raise AssertionError("the operations were searched one by one")

        session.rehearsal.operations = Unscanned(session.rehearsal.operations)
        assert session.operation(first["name"]) is first
        assert session.operation(second["name"]) is second
        for name in (
            "operation-simulate-3",
            "operation-simulate-0",
            "operation-simulate-" + "9" * 5000,
            "operation-simulate-\u0661",
            "operation-simulate--1",
            "other-1",
            "",
        ):
            assert session.operation(name) is None, name
        registry.close(session)

    asyncio.run(scenario())
