"""Runs one real migration: two QEMU processes (TCG) on loopback, driven over QMP.

The source boots the guest; the destination waits with `-incoming tcp:127.0.0.1:PORT`. Once the
guest has printed READY and written for a while, the harness sets `max-bandwidth` and
`downtime-limit`, the auto-converge capability if the case asks, starts `migrate` and polls
`query-migrate` until it completes or the case's time limit passes (then `migrate_cancel`).
What it returns is raw: the last `query-migrate` answer and the guest's serial reports, so that
the comparison can be recomputed (and tested) from a recording.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .cases import Case
from .qmp import Qmp, parse_edi, parse_guest_reports, parse_tsc_hz
from .sockets import SocketSampler

GUEST_DIR = Path(__file__).parent / "guest"
QEMU = "qemu-system-x86_64"
POLL_S = 0.02
SETTLE_S = 2.0  # the guest writes this long before the migration starts (its rate is measured)


def build_guest(out_dir: Path) -> Path:
    out = out_dir / "guest.elf"
    subprocess.run([str(GUEST_DIR / "build.sh"), str(out)], check=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(
    case: Case, guest: Path, qmp_path: Path, serial_path: Path, accel: str = "tcg"
) -> list[str]:
    """``accel``: ``tcg`` (the vCPU emulated, what every host can run) or ``kvm`` (the vCPU on
    the host's CPU, where ``/dev/kvm`` works)."""
    return [
        QEMU,
        "-accel",
        accel,
        "-m",
        f"{case.memory_mib}M",
        "-nodefaults",
        "-display",
        "none",
        "-kernel",
        str(guest),
        "-append",
        case.append,
        "-serial",
        f"file:{serial_path}",
        "-qmp",
        f"unix:{qmp_path},server=on,wait=off",
    ]


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def run_migration(case: Case, guest: Path, accel: str = "tcg", sample_socket: bool = False) -> dict:
    """``sample_socket``: also read the migration socket's buffers with `ss` every 20 ms
    (``sockets.py``; a calibration only: each read costs the host a few milliseconds of CPU)."""
    with tempfile.TemporaryDirectory(prefix="mig-validation-") as tmp:
        tmp_path = Path(tmp)
        port = free_port()
        src_serial, dst_serial = tmp_path / "src.txt", tmp_path / "dst.txt"
        src_cmd = qemu_command(case, guest, tmp_path / "src.sock", src_serial, accel)
        dst_cmd = qemu_command(case, guest, tmp_path / "dst.sock", dst_serial, accel) + [
            "-incoming",
            f"tcp:127.0.0.1:{port}",
        ]
        procs = []
        try:
            procs.append(subprocess.Popen(dst_cmd, stdout=subprocess.DEVNULL))
            procs.append(subprocess.Popen(src_cmd, stdout=subprocess.DEVNULL))
            dst = Qmp(str(tmp_path / "dst.sock"))
            src = Qmp(str(tmp_path / "src.sock"))
            _wait_for(
                lambda: src_serial.exists() and "READY" in src_serial.read_text(),
                60,
                "guest READY",
            )
            time.sleep(SETTLE_S)
            src.command(
                "migrate-set-parameters",
                **{
                    "max-bandwidth": case.max_bandwidth_bps,
                    "downtime-limit": case.downtime_limit_ms,
                },
            )
            src.command(
                "migrate-set-capabilities",
                capabilities=[
                    {"capability": "auto-converge", "state": case.auto_converge},
                    # MIGRATION events: the span to the microsecond (qmp.migration_span_s)
                    {"capability": "events", "state": True},
                ],
            )
            serial_at_start = src_serial.read_text()
            # the sequential writer's pointer (EDI, guest.c), read just before `migrate`
            read_at = time.monotonic()
            registers = src.command("human-monitor-command", **{"command-line": "info registers"})
            read_at = (read_at + time.monotonic()) / 2
            started = time.monotonic()
            src.command("migrate", uri=f"tcp:127.0.0.1:{port}")
            sampler = SocketSampler(port).start() if sample_socket else None
            setup_time_ms = 0
            polls = 0
            trace: list[list] = []  # per poll: seconds, ram.transferred, syncs, mbps, throttle
            cancelled = False
            while True:
                answer = src.command("query-migrate")
                polls += 1
                ram = answer.get("ram", {})
                trace.append(
                    [
                        round(time.monotonic() - started, 4),
                        ram.get("transferred", 0),
                        ram.get("dirty-sync-count", 0),
                        round(ram.get("mbps", 0.0), 3),
                        answer.get("cpu-throttle-percentage", 0),
                    ]
                )
                status = answer.get("status")
                if status == "active":
                    setup_time_ms = answer.get("setup-time", setup_time_ms)
                if status == "completed":
                    answer = completed_answer(src, answer)
                    break
                if status in ("failed", "cancelled"):
                    break
                if not cancelled and time.monotonic() - started > case.time_limit_s:
                    elapsed_at_cancel = time.monotonic() - started
                    last_active = answer
                    src.command("migrate_cancel")
                    cancelled = True
                time.sleep(POLL_S)
            elapsed = time.monotonic() - started
            socket_samples = sampler.stop() if sampler else None
            record = {
                "case": case.name,
                "query_migrate": answer,
                "host_elapsed_s": elapsed,
                "setup_time_ms_while_active": setup_time_ms,
                "polls": polls,
                "host_load_average": os.getloadavg()[0],
                "trace": trace,
                "guest_tsc_hz": parse_tsc_hz(serial_at_start),
                "serial_before": _reports_tail(serial_at_start, 40),
                "serial_source": _reports_tail(src_serial.read_text(), 400),
                "guest_pointer": {
                    "edi": parse_edi(registers),
                    "read_before_migrate_s": started - read_at,
                },
            }
            if socket_samples is not None:
                record["socket_samples"] = socket_samples
            if cancelled:
                record["cancelled_after_s"] = elapsed_at_cancel
                record["query_migrate_last_active"] = last_active
            if status == "completed":  # the destination resumes the guest once it has loaded it
                _wait_for(lambda: dst.command("query-status")["running"], 10, "guest resumed")
            record["events"] = {"source": src.events, "destination": dst.events}
            for qmp in (src, dst):
                with contextlib.suppress(OSError):  # a destination may have quit already
                    qmp.command("quit")
                qmp.close()
            return record
        finally:
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def completed_answer(src: Qmp, answer: dict, timeout_s: float = 1.0) -> dict:
    """The completed answer with its counters: QEMU marks the migration completed
    (``migration_completion``) a moment before it sets total-time and downtime
    (``migration_calculate_complete``), and a query in between reads them as 0."""
    deadline = time.monotonic() + timeout_s
    while answer.get("total-time", 0) <= 0 and time.monotonic() < deadline:
        time.sleep(0.002)
        answer = src.command("query-migrate")
    return answer


def _reports_tail(serial_text: str, count: int) -> list[list[int]]:
    return [list(report) for report in parse_guest_reports(serial_text)[-count:]]


def qemu_version() -> str:
    out = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def cpu_count() -> int:
    return os.cpu_count() or 0


def migrate_to_command(
    case: Case, guest: Path, command: str, max_bandwidth_bps: int, accel: str = "tcg"
) -> dict:
    """Migrate the guest into a shell command (`exec:`) with no destination QEMU; returns the
    final `query-migrate` answer. The command runs in a temporary folder ($PWD)."""
    with tempfile.TemporaryDirectory(prefix="mig-validation-") as tmp:
        answer = _migrate_alone(case, guest, f"exec:{command}", max_bandwidth_bps, accel, tmp)
        if command.startswith("cat > ") and not command[6:].startswith("/"):
            answer["stream_file_bytes"] = (Path(tmp) / command[6:]).stat().st_size
        return answer


def migrate_to_socket_sink(
    case: Case, guest: Path, max_bandwidth_bps: int, accel: str = "tcg"
) -> dict:
    """Migrate the guest into a TCP socket on loopback whose reader only counts the bytes (a
    reader that keeps up, as the socket's buffer is while it has room); returns the final
    `query-migrate` answer, with the bytes the reader got (``sink_bytes``)."""
    with socket.socket() as server, tempfile.TemporaryDirectory(prefix="mig-validation-") as tmp:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        received = [0]

        def read_all() -> None:
            conn, _ = server.accept()
            with conn:
                buffer = bytearray(4 * 1024 * 1024)
                while n := conn.recv_into(buffer):
                    received[0] += n

        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        uri = f"tcp:127.0.0.1:{server.getsockname()[1]}"
        answer = _migrate_alone(case, guest, uri, max_bandwidth_bps, accel, tmp)
        reader.join(timeout=10)
        answer["sink_bytes"] = received[0]
        return answer


def _migrate_alone(
    case: Case, guest: Path, uri: str, max_bandwidth_bps: int, accel: str, tmp: str
) -> dict:
    """Boot the guest and migrate it to ``uri`` (no destination QEMU); the final answer."""
    tmp_path = Path(tmp)
    serial = tmp_path / "src.txt"
    proc = subprocess.Popen(
        qemu_command(case, guest, tmp_path / "src.sock", serial, accel),
        stdout=subprocess.DEVNULL,
        cwd=tmp,
    )
    try:
        qmp = Qmp(str(tmp_path / "src.sock"))
        _wait_for(lambda: serial.exists() and "READY" in serial.read_text(), 60, "READY")
        qmp.command("migrate-set-parameters", **{"max-bandwidth": max_bandwidth_bps})
        qmp.command("migrate", uri=uri)
        while (answer := qmp.command("query-migrate"))["status"] not in ("completed", "failed"):
            time.sleep(POLL_S)
        time.sleep(0.5)  # the reader has the last bytes
        qmp.command("quit")
        qmp.close()
        return answer
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def device_state_bytes(case: Case, guest: Path, accel: str = "tcg") -> int:
    """The bytes a migration stream carries besides RAM: migrate the guest to a file
    (`exec:cat > file`) and subtract `ram.transferred` from the file's size."""
    answer = migrate_to_command(case, guest, "cat > stream.bin", case.max_bandwidth_bps, accel)
    return answer["stream_file_bytes"] - int(answer["ram"]["transferred"])


def sender_run(case: Case, guest: Path, max_bandwidth_bps: int, accel: str = "tcg") -> dict:
    """An uncapped migration into `cat > /dev/null`: how fast the source alone writes its stream
    into a pipe whose reader keeps up (the sensitivity table's sender)."""
    return migrate_to_command(case, guest, "cat > /dev/null", max_bandwidth_bps, accel)
