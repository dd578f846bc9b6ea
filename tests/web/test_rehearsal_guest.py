"""docs/guest_watch.py, run as a real guest would run it, against a rehearsal played in real
time: what it logged, and when, against the rehearsal's own event log."""

import json
import subprocess
import sys
import time

from .rehearsal_support import ROOT, create, events, server, simulate, vm_list_scenario  # noqa: F401

SPEED = 20.0
TOLERANCE_WALL_S = 0.3  # a log line may trail its event by this much wall time


def _start_guest(base: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "docs" / "guest_watch.py"),
            base,
            "--json",
            "--transitions",
            "2",
            "--duration",
            "30",
            "--timeout-sec",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _sim_clock(created):
    """Wall time (time.time) -> simulated seconds, from the server's own clock reading."""
    before = time.time()
    now_s = events(created)["sim_now_s"]
    after = time.time()
    zero = (before + after) / 2 - now_s / SPEED
    return lambda wall: (wall - zero) * SPEED


def _lines(guest: subprocess.Popen) -> list[dict]:
    out, err = guest.communicate(timeout=30)
    assert guest.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_a_watching_guest_logs_its_notice_60_s_before_its_migration_and_the_return_to_none(server):
    created = create(server, speed=SPEED)
    guest = _start_guest(created["vms"]["web-1"])
    try:
        first = guest.stdout.readline()  # the value at start: the guest has polled
        assert json.loads(first)["to"] == "NONE"
        time.sleep(0.2)
        assert simulate(created, "web-1")[0] == 200
        lines = [json.loads(first)] + _lines(guest)
    finally:
        if guest.poll() is None:
            guest.kill()
    to_sim = _sim_clock(created)
    log = events(created)["events"]

    def one(kind, vm, **match):
        found = [
            e
            for e in log
            if e["kind"] == kind
            and e.get("vm") == vm
            and all(e.get(k) == v for k, v in match.items())
        ]
        assert found, (kind, vm, [e["kind"] for e in log])
        return found[0]

    # what it logged, in order, each with a new ETag
    assert [(line["from"], line["to"]) for line in lines] == [
        (None, "NONE"),
        ("NONE", "MIGRATE_ON_HOST_MAINTENANCE"),
        ("MIGRATE_ON_HOST_MAINTENANCE", "NONE"),
    ]
    assert len({line["etag"] for line in lines}) == 3
    logged_notice, logged_none = to_sim(lines[1]["time"]), to_sim(lines[2]["time"])

    # the engine gave it the 60 s notice, because it polled
    notice = one("notice", "web-1", value="MIGRATE_ON_HOST_MAINTENANCE")
    start = one("migration_start", "web-1")
    blackout = one("blackout_start", "web-1")
    back = one("notice", "web-1", value="NONE")
    assert notice["lead_s"] == 60.0 and abs(start["t_s"] - notice["t_s"] - 60.0) < 1e-6

    # when it logged: right at the notice, at least 60 s before the blackout, right after NONE
    tolerance = TOLERANCE_WALL_S * SPEED
    assert notice["t_s"] - 0.05 * SPEED <= logged_notice <= notice["t_s"] + tolerance
    assert blackout["t_s"] - logged_notice >= 60.0 - tolerance
    assert back["t_s"] - 0.05 * SPEED <= logged_none <= back["t_s"] + tolerance
    assert logged_notice < blackout["t_s"] < logged_none

    # its neighbour on the same host never polled: no warning, moved at once
    silent = one("notice", "db-1", value="MIGRATE_ON_HOST_MAINTENANCE")
    assert silent["lead_s"] == 0.0 and one("migration_start", "db-1")["t_s"] == silent["t_s"]


def test_a_guest_that_polls_before_a_scheduled_maintenance_gets_its_notice(server):
    # the scenario's own event starts at 40 s (2 s of wall time at 20x)
    scenario = vm_list_scenario()
    scenario["events"][0]["start"] = "40s"
    created = create(server, speed=SPEED, start_events=True, scenario=scenario)
    guest = _start_guest(created["vms"]["db-1"])
    try:
        lines = _lines(guest)
    finally:
        if guest.poll() is None:
            guest.kill()
    log = events(created)["events"]
    to_sim = _sim_clock(created)
    notices = {e["vm"]: e for e in log if e["kind"] == "notice" and e["value"] != "NONE"}
    assert notices["db-1"]["lead_s"] == 60.0 and notices["web-1"]["lead_s"] == 0.0
    assert notices["db-1"]["t_s"] == 40.0
    assert [line["to"] for line in lines] == ["NONE", "MIGRATE_ON_HOST_MAINTENANCE", "NONE"]
    assert abs(to_sim(lines[1]["time"]) - 40.0) <= TOLERANCE_WALL_S * SPEED
