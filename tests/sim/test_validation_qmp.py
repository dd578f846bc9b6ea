"""validation/qmp.py: the QMP client and the parsing of QEMU's answers (docs/validation.md).

The answers are recorded from the real runs (tests/sim/validation_fixtures/); the client talks
to a fake QMP server on a unix socket.
"""

import json
import socket
import threading

import pytest

from validation.qmp import (
    PM_TIMER_HZ,
    Qmp,
    QmpError,
    guest_pause_s,
    parse_guest_reports,
    parse_query_migrate,
    parse_tsc_hz,
    rate_between,
    with_elapsed,
)

from .validation_support import recorded


def test_a_completed_migration_is_read_from_query_migrate():
    answer = recorded("write-once-64M")["query_migrate"]
    result = parse_query_migrate(answer)
    assert result.status == "completed" and result.converged
    assert result.total_time_s == answer["total-time"] / 1000
    assert result.setup_time_s == answer["setup-time"] / 1000
    assert result.migration_time_s == pytest.approx(
        (answer["total-time"] - answer["setup-time"]) / 1000
    )
    assert result.downtime_s == answer["downtime"] / 1000
    assert result.ram_transferred_bytes == answer["ram"]["transferred"]
    assert result.zero_pages == answer["ram"]["duplicate"]
    assert result.dirty_sync_count == answer["ram"]["dirty-sync-count"]
    assert result.ram_total_bytes == answer["ram"]["total"]


def test_a_cancelled_migration_has_no_downtime_and_takes_the_harness_time():
    record = recorded("seq-16M-never")
    result = parse_query_migrate(record["query_migrate"])
    assert result.status == "cancelled" and not result.converged
    assert result.downtime_s is None
    timed = with_elapsed(result, record["cancelled_after_s"], 0.004)
    assert timed.total_time_s == record["cancelled_after_s"]
    assert timed.migration_time_s == pytest.approx(record["cancelled_after_s"] - 0.004)


def test_guest_reports_are_read_and_a_cut_line_is_ignored():
    serial = (
        "READY pattern=3 rate=2000 ws=4096\nTSC_HZ 2605183490\nT 10 W 0\nT 3579555 W 2000\nT 71"
    )
    assert parse_tsc_hz(serial) == 2605183490
    assert parse_guest_reports(serial) == [(10, 0), (3579555, 2000)]
    rate = rate_between((10, 0), (3579555, 2000))
    assert rate.seconds == pytest.approx(1.0) and rate.page_writes_per_s == pytest.approx(2000)
    assert rate_between((0, 0), (0, 0)).page_writes_per_s == 0.0
    assert PM_TIMER_HZ == 3_579_545


class FakeQmp:
    """A QMP server that greets, accepts qmp_capabilities, sends an event before each answer,
    and answers `query-migrate` from a recording and anything else with an error."""

    def __init__(self, path, answer):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.answer = answer
        self.received = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.server.accept()
        f = conn.makefile("rwb")
        f.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
        f.flush()
        for line in f:
            message = json.loads(line)
            self.received.append(message)
            f.write(b'{"event": "MIGRATION", "data": {"status": "active"}}\n')
            if message["execute"] == "qmp_capabilities":
                f.write(b'{"return": {}}\n')
            elif message["execute"] == "query-migrate":
                f.write(json.dumps({"return": self.answer}).encode() + b"\n")
            else:
                f.write(b'{"error": {"class": "GenericError", "desc": "no such thing"}}\n')
            f.flush()
        conn.close()


def test_the_client_negotiates_keeps_events_and_raises_on_errors(tmp_path):
    answer = recorded("idle")["query_migrate"]
    server = FakeQmp(tmp_path / "qmp.sock", answer)
    qmp = Qmp(str(tmp_path / "qmp.sock"))
    assert qmp.command("query-migrate") == answer
    with pytest.raises(QmpError, match="no such thing"):
        qmp.command("migrate", uri="tcp:127.0.0.1:1")
    qmp.close()
    server.thread.join(timeout=5)
    assert [m["execute"] for m in server.received] == [
        "qmp_capabilities",
        "query-migrate",
        "migrate",
    ]
    assert server.received[2]["arguments"] == {"uri": "tcp:127.0.0.1:1"}
    # the event sent before each answer, kept in order
    assert [e["event"] for e in qmp.events] == ["MIGRATION"] * 3


def _event(name, seconds, microseconds):
    return {"event": name, "timestamp": {"seconds": seconds, "microseconds": microseconds}}


def test_the_guests_pause_runs_from_the_sources_stop_to_the_destinations_resume():
    source = [_event("STOP", 1_700_000_000, 990_000), _event("SHUTDOWN", 1_700_000_001, 0)]
    destination = [_event("RESUME", 1_700_000_001, 2_500), _event("SHUTDOWN", 1_700_000_001, 9)]
    assert guest_pause_s(source, destination) == pytest.approx(0.0125)
    # a migration that did not complete: the guest never resumed on the destination
    assert guest_pause_s(source, []) is None
