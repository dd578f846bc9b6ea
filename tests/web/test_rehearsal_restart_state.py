"""A rehearsal guest that was stopped and started again on another host says what stopped it:
it read "restarted" whether its host had failed under it or it had been terminated."""

from types import SimpleNamespace

from playground.rehearsals.session import Session


def _session(events):
    hosts = [SimpleNamespace(name="r1-h1"), SimpleNamespace(name="r1-h2")]
    vms = [SimpleNamespace(name="vm-1", host=0), SimpleNamespace(name="vm-2", host=0)]
    rehearsal = SimpleNamespace(
        run=SimpleNamespace(fleet=SimpleNamespace(hosts=hosts, vms=vms)),
        playback=SimpleNamespace(events=events),
    )
    return Session(id="s", token="t", name="class", speed=1.0, rehearsal=rehearsal, zone="z")


def test_a_crashed_guest_restarted_elsewhere_says_it_crashed_first():
    session = _session(
        [
            {"t_s": 1.0, "kind": "crashed", "vm": "vm-1", "host": "r1-h1"},
            {"t_s": 61.0, "kind": "restarted", "vm": "vm-1", "host": "r1-h2", "host_error": True},
            {"t_s": 2.0, "kind": "terminated", "vm": "vm-2", "host": "r1-h1"},
            {"t_s": 62.0, "kind": "restarted", "vm": "vm-2", "host": "r1-h2", "host_error": False},
        ]
    )
    session._follow()
    crashed, terminated = session.guests["vm-1"], session.guests["vm-2"]
    assert (crashed.state, crashed.host) == ("crashed, then restarted on another host", "r1-h2")
    assert terminated.state == "terminated, then restarted on another host"
