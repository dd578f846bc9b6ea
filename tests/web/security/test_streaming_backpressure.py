"""A streamed download costs the web process one chunk, not the whole body, however slowly the
client reads (daphne has no backpressure of its own; playground.ops.backpressure adds it)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.web.support import free_port

ROOT = Path(__file__).resolve().parents[3]
STREAM_MIB = 200


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def wait_for_port(port: int, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("daphne did not start")


def growth_while_clients_stall(backpressure: str, clients: int = 2) -> tuple[float, int]:
    """Start daphne on the streaming app, let ``clients`` downloads stall for a while without
    reading, then read them whole; return daphne's RSS growth (MiB) and the bytes read."""
    port = free_port()
    env = {
        **os.environ,
        "BACKPRESSURE": backpressure,
        "STREAM_MIB": str(STREAM_MIB),
        "PYTHONPATH": str(ROOT),
    }
    daphne = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "tests.web.security.streaming_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socks = []
    try:
        wait_for_port(port)
        before = rss_mib(daphne.pid)
        for _ in range(clients):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /export HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            socks.append(s)
        peak = before
        for _ in range(30):  # 3 s of clients that read nothing
            time.sleep(0.1)
            peak = max(peak, rss_mib(daphne.pid))
        received = 0
        for s in socks:
            s.settimeout(30)
            tail = b""
            while not tail.endswith(b"\r\n0\r\n\r\n"):  # the chunked body's end
                chunk = s.recv(1 << 20)
                assert chunk, "the server closed the download early"
                received += len(chunk)
                tail = (tail + chunk)[-16:]
        return peak - before, received
    finally:
        for s in socks:
            s.close()
        daphne.kill()
        daphne.wait(10)


def test_a_stalled_download_costs_the_server_a_chunk_not_the_body():
    growth_mib, received = growth_while_clients_stall("on")
    assert growth_mib < 50, f"daphne grew {growth_mib:.0f} MiB for 2 stalled downloads"
    assert received >= 2 * STREAM_MIB * (1 << 20), "every byte still arrives"


@pytest.mark.parametrize("backpressure", ["off"])
def test_without_backpressure_daphne_buffers_the_whole_body(backpressure):
    """The control: the measurement above can fail (plain daphne buffers what it is sent)."""
    growth_mib, _ = growth_while_clients_stall(backpressure)
    assert growth_mib > 150
