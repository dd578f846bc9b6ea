"""A channel layer in a SQLite file, for the embedded mode: the web process (consumers) and the
Celery worker process (publisher) share it, so group messages cross processes without Redis.

Why not ``channels-lite``: see README.md ("Embedded mode"). In short, this layer keeps its own
file (no write contention with the app's database), delivers in insertion order, claims and
deletes rows atomically, and fetches in batches, in about 200 lines we test ourselves.

Layout: one ``messages`` row per message and receiving channel, one ``groups`` row per
membership. Process-local channels (``specific.<prefix>!<id>``) are polled by one task per
process and event loop, which routes each row to the waiting ``receive`` by its full name.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import msgpack
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,   -- the name receivers poll: the channel, or 'prefix!' for local ones
    channel TEXT NOT NULL,  -- the full channel name
    expires REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target, id);
CREATE TABLE IF NOT EXISTS groups (
    grp TEXT NOT NULL,
    channel TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (grp, channel)
);
"""


class SQLiteChannelLayer(BaseChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(
        self,
        path: str,
        expiry: int = 60,
        group_expiry: int = 86400,
        capacity: int = 100,
        channel_capacity=None,
        poll_interval: float = 0.01,
        batch: int = 200,
        **kwargs,
    ):
        super().__init__(
            expiry=expiry, capacity=capacity, channel_capacity=channel_capacity, **kwargs
        )
        self.path = str(path)
        self.group_expiry = group_expiry
        self.poll_interval = poll_interval
        self.batch = batch
        self.client_prefix = uuid.uuid4().hex
        self._local = threading.local()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffers: dict[str, asyncio.Queue] = {}
        self._waiting = 0
        self._poller: asyncio.Task | None = None

    # --- the database, one connection per thread and process -------------------------------

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, fn):
        """Run ``fn(conn)`` in one IMMEDIATE transaction (the write lock taken up front)."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _run(self, fn):
        return await asyncio.to_thread(self._write, fn)

    def _target(self, channel: str) -> str:
        return self.non_local_name(channel) if "!" in channel else channel

    def _pending(self, conn: sqlite3.Connection, target: str, now: float) -> int:
        return conn.execute(
            "SELECT COUNT(*) FROM messages WHERE target = ? AND expires >= ?", (target, now)
        ).fetchone()[0]

    def _insert(self, conn, channel: str, body: bytes, now: float, strict: bool) -> None:
        target = self._target(channel)
        if self._pending(conn, target, now) >= self.get_capacity(channel):
            if strict:
                raise ChannelFull(channel)
            return  # group sends drop silently at capacity, as the spec says
        conn.execute(
            "INSERT INTO messages (target, channel, expires, body) VALUES (?, ?, ?, ?)",
            (target, channel, now + self.expiry, body),
        )

    def _maybe_clean(self, conn, now: float) -> None:
        if random.random() < 0.01:
            conn.execute("DELETE FROM messages WHERE expires < ?", (now,))
            conn.execute("DELETE FROM groups WHERE expires < ?", (now,))

    # --- the channel layer interface -----------------------------------------------------------

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        body = msgpack.packb(message, use_bin_type=True)

        def op(conn):
            now = time.time()
            self._maybe_clean(conn, now)
            self._insert(conn, channel, body, now, strict=True)

        await self._run(op)

    async def new_channel(self, prefix: str = "specific") -> str:
        return f"{prefix}.{self.client_prefix}!{uuid.uuid4().hex}"

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        if "!" not in channel:
            while True:
                found = await self._run(lambda conn: self._claim(conn, channel, limit=1))
                if found:
                    return found[0][1]
                await asyncio.sleep(self.poll_interval)
        assert self.non_local_name(channel).endswith(self.client_prefix + "!"), (
            "Wrong client prefix"
        )
        self._bind_loop()
        queue = self._buffers.setdefault(channel, asyncio.Queue())
        self._waiting += 1
        try:
            if self._poller is None or self._poller.done():
                self._poller = asyncio.get_running_loop().create_task(self._poll())
            return await queue.get()
        finally:
            self._waiting -= 1
            if queue.empty() and self._buffers.get(channel) is queue:
                del self._buffers[channel]  # the poller makes a new one if more arrives

    def _bind_loop(self) -> None:
        """Queues and the poller belong to one event loop; start afresh on a new one
        (``async_to_sync`` and test runners create loops as they go)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._buffers, self._poller, self._waiting = loop, {}, None, 0

    def _claim(self, conn, target: str, limit: int) -> list[tuple[str, dict]]:
        now = time.time()
        rows = conn.execute(
            "SELECT id, channel, body FROM messages WHERE target = ? AND expires >= ? "
            "ORDER BY id LIMIT ?",
            (target, now, limit),
        ).fetchall()
        if rows:
            conn.execute(
                f"DELETE FROM messages WHERE id IN ({','.join('?' * len(rows))})",
                [row[0] for row in rows],
            )
        return [(channel, msgpack.unpackb(body, raw=False)) for _, channel, body in rows]

    async def _poll(self) -> None:
        while self._waiting > 0:
            targets = {self.non_local_name(name) for name in self._buffers}
            got = False
            for target in targets:
                found = await self._run(
                    lambda conn, t=target: self._claim(conn, t, limit=self.batch)
                )
                for channel, message in found:
                    self._buffers.setdefault(channel, asyncio.Queue()).put_nowait(message)
                got = got or bool(found)
            if not got:
                await asyncio.sleep(self.poll_interval)

    # --- groups ------------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await self._run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO groups (grp, channel, expires) VALUES (?, ?, ?)",
                (group, channel, time.time() + self.group_expiry),
            )
        )

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM groups WHERE grp = ? AND channel = ?", (group, channel)
            )
        )

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        body = msgpack.packb(message, use_bin_type=True)

        def op(conn):
            now = time.time()
            self._maybe_clean(conn, now)
            members = conn.execute(
                "SELECT channel FROM groups WHERE grp = ? AND expires >= ?", (group, now)
            ).fetchall()
            for (channel,) in members:
                self._insert(conn, channel, body, now, strict=False)

        await self._run(op)

    # --- flush extension ---------------------------------------------------------------------

    async def flush(self) -> None:
        def op(conn):
            conn.execute("DELETE FROM messages")
            conn.execute("DELETE FROM groups")

        await self._run(op)
        self._buffers = {}

    async def close(self) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
        self._poller = None
