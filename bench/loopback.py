"""What the benchmark scripts share to talk to the servers they start on 127.0.0.1 (some speak
raw HTTP/1.1, to see every byte)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dechunk(data: bytes) -> bytes:
    """The body of a ``Transfer-Encoding: chunked`` response."""
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + rest[:size], rest[size + 2 :]
    return out
