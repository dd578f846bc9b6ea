"""A minimal QMP client and the parsing of QEMU's `query-migrate` answers.

QMP is JSON lines on a socket: a greeting, then `qmp_capabilities`, then one answer per command
(events may arrive in between: they are kept, with QEMU's timestamps, in ``Qmp.events``). Only
what the harness needs is here.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass


class QmpError(RuntimeError):
    """QEMU answered a command with an error."""


class Qmp:
    """One QMP connection over a unix socket."""

    def __init__(self, path: str, connect_timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + connect_timeout_s
        while True:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.connect(path)
                break
            except OSError:
                self._sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._file = self._sock.makefile("rwb")
        self.events: list[dict] = []  # {"event": "STOP", "timestamp": {...}, ...} as received
        self._read_message()  # the greeting
        self.command("qmp_capabilities")

    def _read_message(self) -> dict:
        line = self._file.readline()
        if not line:
            raise ConnectionError("QMP connection closed")
        return json.loads(line)

    def command(self, name: str, **arguments) -> object:
        message: dict = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self._file.write(json.dumps(message).encode() + b"\n")
        self._file.flush()
        while True:
            answer = self._read_message()
            if "return" in answer:
                return answer["return"]
            if "error" in answer:
                raise QmpError(f"{name}: {answer['error'].get('desc', answer['error'])}")
            if "event" in answer:
                self.events.append(answer)

    def close(self) -> None:
        """Close; a peer that already quit (a destination whose incoming migration was
        cancelled exits by itself) is no error."""
        try:
            self._file.close()
        except OSError:
            pass
        finally:
            self._sock.close()


@dataclass(frozen=True)
class MigrationResult:
    """What one real migration measured, read from the source's final `query-migrate`."""

    status: str  # completed, cancelled, failed
    total_time_s: float  # QEMU's total-time: from `migrate` to completion, setup included
    setup_time_s: float
    downtime_s: float | None  # QEMU's downtime: VM stopped on the source until the copy ended
    ram_transferred_bytes: int  # page headers, pages, zero-page markers: RAM's wire bytes
    ram_total_bytes: int
    zero_pages: int  # QEMU's "duplicate": pages sent as a zero marker
    normal_pages: int
    dirty_sync_count: int  # bitmap syncs, the one at setup and the one at completion included
    precopy_bytes: int | None
    downtime_bytes: int | None
    throttle_percentage: int

    @property
    def converged(self) -> bool:
        return self.status == "completed"

    @property
    def migration_time_s(self) -> float:
        """Pre-copy plus blackout, QEMU's setup (bitmap allocation, first sync) excluded: the
        span the model's `total_time_s` covers."""
        return self.total_time_s - self.setup_time_s


def parse_query_migrate(answer: dict) -> MigrationResult:
    """A `query-migrate` answer (the `return` object) as a MigrationResult.

    A completed migration reports total-time and downtime; a cancelled one neither: the harness
    then records the elapsed time itself (`with_elapsed`).
    """
    ram = answer.get("ram", {})
    return MigrationResult(
        status=answer["status"],
        total_time_s=answer.get("total-time", 0) / 1000.0,
        setup_time_s=answer.get("setup-time", 0) / 1000.0,
        downtime_s=answer["downtime"] / 1000.0 if "downtime" in answer else None,
        ram_transferred_bytes=int(ram.get("transferred", 0)),
        ram_total_bytes=int(ram.get("total", 0)),
        zero_pages=int(ram.get("duplicate", 0)),
        normal_pages=int(ram.get("normal", 0)),
        dirty_sync_count=int(ram.get("dirty-sync-count", 0)),
        precopy_bytes=ram.get("precopy-bytes"),
        downtime_bytes=ram.get("downtime-bytes"),
        throttle_percentage=int(answer.get("cpu-throttle-percentage", 0)),
    )


def with_elapsed(result: MigrationResult, elapsed_s: float, setup_time_s: float) -> MigrationResult:
    """A cancelled migration's result with the time the harness let it run (QEMU reports no
    total-time for it) and the setup time read while it was active."""
    from dataclasses import replace

    return replace(result, total_time_s=elapsed_s, setup_time_s=setup_time_s)


@dataclass(frozen=True)
class GuestRate:
    """The write rate the guest reported on its serial port between two of its reports."""

    seconds: float
    page_writes: int

    @property
    def page_writes_per_s(self) -> float:
        return self.page_writes / self.seconds if self.seconds > 0 else 0.0


def parse_tsc_hz(serial_text: str) -> int | None:
    """The guest's TSC frequency, calibrated against the PIT ("TSC_HZ <hz>")."""
    for line in serial_text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "TSC_HZ" and parts[1].isdigit():
            return int(parts[1])
    return None


def parse_guest_reports(serial_text: str) -> list[tuple[int, int]]:
    """The guest's "T <PM timer ticks> W <page writes>" lines as (ticks, writes), in order; a line cut
    short by the end of the file is ignored."""
    reports = []
    for line in serial_text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "T" and parts[2] == "W":
            try:
                reports.append((int(parts[1]), int(parts[3])))
            except ValueError:
                continue
    return reports


PM_TIMER_HZ = 3_579_545  # the ACPI PM timer the guest reports in


def rate_between(first: tuple[int, int], last: tuple[int, int]) -> GuestRate:
    """The guest's rate between two of its reports, in guest time (the ACPI PM timer, which
    under TCG follows the host's clock)."""
    return GuestRate(seconds=(last[0] - first[0]) / PM_TIMER_HZ, page_writes=last[1] - first[1])


def event_time_us(events: list[dict], name: str) -> int | None:
    """The host time (whole microseconds) QEMU stamped on the first event ``name`` (QMP events
    carry ``{"seconds", "microseconds"}`` of the host's clock), or None if it never came."""
    for event in events:
        if event.get("event") == name:
            stamp = event["timestamp"]
            return stamp["seconds"] * 1_000_000 + stamp["microseconds"]
    return None


def migration_span_s(source_events: list[dict]) -> float | None:
    """Pre-copy and blackout to the microsecond, from the source's MIGRATION events (sent when
    the `events` capability is on): the change to ``active`` (``migration_thread``, once setup
    has allocated the bitmap and made the first sync) to the change to ``completed``
    (``migration_completion``, once the final copy is in the socket). It is the span that
    QEMU's whole-millisecond `total-time` minus `setup-time` counts, without its rounding and
    without the connection's set-up before the thread starts. None without both events."""
    stamps = {}
    for event in source_events:
        if event.get("event") == "MIGRATION":
            status = event.get("data", {}).get("status")
            if status in ("active", "completed") and status not in stamps:
                stamp = event["timestamp"]
                stamps[status] = stamp["seconds"] * 1_000_000 + stamp["microseconds"]
    if "active" not in stamps or "completed" not in stamps:
        return None
    return (stamps["completed"] - stamps["active"]) / 1e6


def stop_span_s(source_events: list[dict]) -> float | None:
    """The source's stop to the microsecond: its ``STOP`` event (``vm_stop``, inside
    ``migration_completion``, whose downtime clock started just before) to its MIGRATION
    ``completed`` (the last byte in the socket). QEMU's `downtime` counts the same span in
    whole milliseconds. None without both events."""
    stop = completed = None
    for event in source_events:
        stamp = event.get("timestamp", {})
        at = stamp.get("seconds", 0) * 1_000_000 + stamp.get("microseconds", 0)
        if event.get("event") == "STOP" and stop is None:
            stop = at
        elif (
            event.get("event") == "MIGRATION"
            and event.get("data", {}).get("status") == "completed"
            and completed is None
        ):
            completed = at
    if stop is None or completed is None or completed < stop:
        return None
    return (completed - stop) / 1e6


_EDI = re.compile(r"\bEDI=([0-9a-fA-F]+)")


def parse_edi(info_registers: str) -> int:
    """EDI from HMP's `info registers` (the guest keeps its sequential writer's pointer there)."""
    match = _EDI.search(info_registers)
    if match is None:
        raise ValueError("no EDI in the answer to 'info registers'")
    return int(match.group(1), 16)


def guest_pause_s(source_events: list[dict], destination_events: list[dict]) -> float | None:
    """How long the guest did not run: from the source's STOP (``migration_completion`` stops
    the VM) to the destination's RESUME (``process_incoming_migration_bh`` starts it once every
    page and the device state are loaded). QEMU's own ``downtime`` ends earlier, when the
    source has written its last byte into the socket."""
    stop = event_time_us(source_events, "STOP")
    resume = event_time_us(destination_events, "RESUME")
    if stop is None or resume is None:
        return None
    return (resume - stop) / 1e6
