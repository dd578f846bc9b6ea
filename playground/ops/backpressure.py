"""Backpressure for streamed HTTP responses under daphne.

Daphne hands every ``http.response.body`` message straight to Twisted's transport and returns at
once, so an application streaming a large body (an 80 MB event log) fills the process's send
buffer as fast as it can read, whatever the client takes: four slow downloads held 4 x 80 MB.
Twisted already knows when a connection's buffer is full: it calls ``pauseProducing`` on the
producer registered for the request, and ``resumeProducing`` once the buffer has drained.

``install()`` wraps daphne's ``Server.handle_reply`` so that, while a response body is streaming,
the request has such a producer (``SendGate``) and the application's ``send`` waits for the gate
after each chunk. A stalled client then costs one buffered chunk plus Twisted's buffer, not the
whole body. A closed connection opens the gate for good (daphne drops what comes after).
"""

from __future__ import annotations

import asyncio

from daphne.server import Server
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer


@implementer(IPushProducer)
class SendGate:
    """A Twisted push producer that an asyncio coroutine can wait on."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self._open.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self._open.set()

    def stopProducing(self) -> None:  # noqa: N802 - the connection is gone
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()


def _gate_for(protocol) -> SendGate | None:
    gate = getattr(protocol, "_playground_send_gate", None)
    if gate is None and protocol.producer is None:
        gate = SendGate()
        protocol.registerProducer(gate, True)
        protocol._playground_send_gate = gate
    return gate


def _release(protocol) -> None:
    if getattr(protocol, "_playground_send_gate", None) is not None:
        protocol._playground_send_gate = None
        if protocol.producer is not None and getattr(protocol, "channel", None) is not None:
            protocol.unregisterProducer()


def install() -> None:
    """Patch daphne's reply path (once)."""
    if getattr(Server.handle_reply, "_playground_backpressure", False):
        return
    original = Server.handle_reply

    async def handle_reply(self, protocol, message):
        streaming = message.get("type") == "http.response.body" and message.get("more_body")
        if message.get("type") == "http.response.body" and not streaming:
            _release(protocol)  # before finish(): Twisted wants producers gone by then
        await original(self, protocol, message)
        if streaming and not protocol.finished and getattr(protocol, "channel", None) is not None:
            gate = _gate_for(protocol)
            if gate is not None:
                await gate.wait()

    handle_reply._playground_backpressure = True
    Server.handle_reply = handle_reply
