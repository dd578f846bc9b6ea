"""The run's notes (the live page's 'What happened') name a maintenance event's kind in words,
as the plan page does ('kernel upgrade'), never by its scenario code ('kernel_upgrade')."""

import pytest

from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.scenario import EVENT_KIND_WORDS, EVENT_KINDS

from .fleet_support import scenario


def test_every_event_kind_has_words():
    assert set(EVENT_KIND_WORDS) == set(EVENT_KINDS)


@pytest.mark.parametrize("kind", ["kernel_upgrade", "bios_rollout", "urgent_patch"])
def test_a_maintenance_start_note_names_its_kind_in_words(kind):
    event = {"name": "patch-1", "kind": kind, "scope": {"hosts": ["r1-h1"]}}
    if kind == "urgent_patch":
        event["deadline"] = "12h"
    data = scenario(hosts=2, vms=[("a", "r1-h1", "2GiB", "idle")], events=[event])
    notes = [text for f in FleetStream(data, bucket_s=60).frames() for _, text in f["notes"]]
    (start,) = [n for n in notes if n.startswith("maintenance patch-1 ")]
    assert start == f"maintenance patch-1 ({EVENT_KIND_WORDS[kind]}) starts: 1 host"
    assert kind not in start
