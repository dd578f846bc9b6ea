"""A bare ASGI app for the backpressure test: it streams ``STREAM_MIB`` fresh 1 MiB chunks as fast
as daphne lets it, and installs the playground's backpressure unless ``BACKPRESSURE=off``."""

import os

from playground.ops import backpressure

CHUNK = bytes(range(256)) * 4096  # 1 MiB

if os.environ.get("BACKPRESSURE") != "off":
    backpressure.install()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    for i in range(int(os.environ.get("STREAM_MIB", "200"))):
        # a new object each time, as a real export's decompressed slice is
        await send(
            {"type": "http.response.body", "body": CHUNK[:-1] + bytes([i % 256]), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})
