"""The migration socket's buffers, read with `ss` while a migration runs.

QEMU's `downtime` counter stops once the final copy is written into the source's socket
(docs/validation.md, point 2), so how much the socket takes before the source must wait for the
destination is a property of the host, measured like the link: the source socket's send buffer
(`skmem` `tb`, the kernel's sk_sndbuf, which TCP grows as the stream goes) plus the window the
destination advertises (`snd_wnd` as the source sees it: what the receiver's queue takes).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import threading
import time

SAMPLE_EVERY_S = 0.02
_TB = re.compile(r"skmem:\([^)]*\btb(\d+)")
_QUEUED = re.compile(r"skmem:\([^)]*\bw(\d+)")
_SND_WND = re.compile(r"\bsnd_wnd:(\d+)")


def parse_ss(text: str) -> dict | None:
    """The source socket's figures from `ss -tmiH` output for it (one connection), or None
    when the output has no connection (not yet connected, or closed)."""
    tb = _TB.search(text)
    if tb is None:
        return None
    queued = _QUEUED.search(text)
    window = _SND_WND.search(text)
    return {
        "send_buffer_bytes": int(tb.group(1)),
        "queued_bytes": int(queued.group(1)) if queued else 0,
        "peer_window_bytes": int(window.group(1)) if window else 0,
    }


def buffer_bytes(sample: dict) -> int:
    """What the socket takes before the source must wait: its send buffer and the window the
    destination advertises."""
    return sample["send_buffer_bytes"] + sample["peer_window_bytes"]


def send_buffer_from_runs(records: list[dict]) -> float:
    """The buffer as each calibration stream left it (its last sample: TCP grows the buffer as
    the stream goes), the median over the runs."""
    last = [buffer_bytes(r["socket_samples"][-1][1]) for r in records if r.get("socket_samples")]
    if not last:
        raise ValueError("no socket sample was taken: is `ss` (iproute2) installed?")
    return float(statistics.median(last))


class SocketSampler:
    """Reads the socket connected to ``port`` on 127.0.0.1 every ``SAMPLE_EVERY_S`` in a thread,
    from ``start`` to ``stop``: ``samples`` is a list of [seconds since start, figures]."""

    def __init__(self, port: int):
        self.port = port
        self.samples: list[list] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SocketSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> list[list]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def _run(self) -> None:
        query = ["ss", "-tmiH", "state", "established", f"( dport = :{self.port} )"]
        while not self._stop.is_set():
            out = subprocess.run(query, capture_output=True, text=True, check=False).stdout
            figures = parse_ss(out)
            if figures is not None:
                self.samples.append([round(time.monotonic() - self._started, 4), figures])
            self._stop.wait(SAMPLE_EVERY_S)
