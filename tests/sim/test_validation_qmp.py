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
    migration_span_s,
    parse_edi,
    parse_guest_reports,
    parse_query_migrate,
    parse_tsc_hz,
    rate_between,
    stop_span_s,
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


def _status(status, seconds, microseconds):
    return {**_event("MIGRATION", seconds, microseconds), "data": {"status": status}}


def test_the_migrations_span_runs_from_active_to_completed_to_the_microsecond():
    source = [
        _status("setup", 1_700_000_000, 100_000),
        _status("active", 1_700_000_000, 101_250),  # setup done: the first sync is made
        {**_event("MIGRATION_PASS", 1_700_000_000, 150_000), "data": {"pass": 2}},
        _event("STOP", 1_700_000_000, 300_000),
        _status("completed", 1_700_000_000, 311_750),
    ]
    assert migration_span_s(source) == pytest.approx(0.2105)
    # without the events capability (older recordings), or a migration that did not complete
    assert migration_span_s([]) is None
    assert migration_span_s(source[:-1]) is None


def test_the_stop_runs_from_the_sources_stop_event_to_completed_to_the_microsecond():
    source = [
        _status("active", 1_700_000_000, 101_250),
        _event("STOP", 1_700_000_000, 999_400),
        _status("completed", 1_700_000_001, 400),  # across a whole second
    ]
    assert stop_span_s(source) == pytest.approx(0.001)
    assert stop_span_s(source[:-1]) is None  # cancelled: never completed
    assert stop_span_s([source[0], source[2]]) is None  # no STOP event (older recordings)


INFO_REGISTERS = (
    "EAX=00000000 EBX=0010a000 ECX=00000002 EDX=00000000\r\n"
    "ESI=00000000 EDI=00000673 EBP=0010ffc8 ESP=0010ff70\r\n"
    "EIP=001004ed EFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\r\n"
)


def test_the_guests_pointer_is_read_from_edi():
    assert parse_edi(INFO_REGISTERS) == 0x673
    with pytest.raises(ValueError, match="EDI"):
        parse_edi("unknown command")


def test_a_completed_answer_is_read_again_until_qemu_has_set_its_counters():
    from validation.harness import completed_answer

    class Source:  # QEMU says completed before migration_calculate_complete sets the times
        def __init__(self):
            self.answers = [
                {"status": "completed", "total-time": 0, "downtime": 0, "setup-time": 0},
                {"status": "completed", "total-time": 517, "downtime": 11, "setup-time": 0},
            ]

        def command(self, name):
            assert name == "query-migrate"
            return self.answers.pop(0)

    first = {"status": "completed", "total-time": 0, "downtime": 0, "setup-time": 0}
    assert completed_answer(Source(), first)["downtime"] == 11
    settled = {"status": "completed", "total-time": 210, "downtime": 1}
    assert completed_answer(Source(), settled) is settled  # nothing asked again
