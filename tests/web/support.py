"""Helpers for the web tests: service probes, free ports, and full stacks (daphne + a Celery
worker as real subprocesses) in the embedded or the production mode."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SERVICE_UNAVAILABLE = "service unavailable:"  # tests/conftest.py fails these under CI=true
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MODE_VARS = (
    "PLAYGROUND_MODE",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "PLAYGROUND_VAR_DIR",
    "DJANGO_DEBUG",
)


def service_skip(what: str) -> None:
    pytest.skip(f"{SERVICE_UNAVAILABLE} {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# --- services ------------------------------------------------------------------------------------


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return None
    return url


def redis_url_db(url: str, db: int) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{db}"))


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    try:
        import psycopg

        with psycopg.connect(_conninfo(url, "postgres"), connect_timeout=3):
            pass
    except Exception:
        return None
    return url


def _conninfo(url: str, dbname: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{dbname}"))


@contextlib.contextmanager
def scratch_postgres_database(url: str):
    """A fresh database next to DATABASE_URL's, dropped afterwards. Yields its URL."""
    import psycopg

    name = f"playground_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _conninfo(url, name)
    finally:
        _drop_database(url, name)


def _drop_database(url: str, name: str, attempts: int = 20) -> None:
    """Drop a scratch database, ending its sessions. An autovacuum worker that happens to be in
    it belongs to no role ours may signal (InsufficientPrivilege, unless the role is a member of
    pg_signal_backend): it is done in moments, so the drop is tried again."""
    import psycopg

    for attempt in range(attempts):
        try:
            with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)


def session_cookie(user) -> str:
    """``sessionid=...`` of a fresh session signed in as ``user`` (what a browser that signed
    in sends with its requests and WebSocket handshakes)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def ws_headers(user=None, origin: str = "http://127.0.0.1:8000") -> list[tuple[bytes, bytes]]:
    """Handshake headers for ``channels.testing.WebsocketCommunicator``: the page's Origin, the
    Host it was served from (the same origin, as a browser sends them, in any mode) and, for
    ``user``, a signed-in session cookie (the consumers check who watches)."""
    headers = [(b"origin", origin.encode()), (b"host", origin.split("://", 1)[1].encode())]
    if user is not None:
        headers.append((b"cookie", session_cookie(user).encode()))
    return headers


class RecordingPublisher:
    """Stands in for the pipeline's publisher: records what a run would publish."""

    def __init__(self):
        self.batches = []
        self.statuses = []

    def events(self, events, texts=None):
        self.batches.append(list(events))

    def status(self, status, error=""):
        self.statuses.append((status, error))


async def close_code(communicator) -> int | None:
    """Connect, and return the close code the consumer answered with (it accepts, then closes
    with 4404 or 4400, so that a browser sees the code), or the code of a handshake refused
    before that (an Origin check); None when the socket stayed open."""
    connected, code = await communicator.connect()
    if not connected:
        return code
    message = await communicator.receive_output(timeout=2)
    return message.get("code") if message["type"] == "websocket.close" else None


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM)


# --- full stacks ---------------------------------------------------------------------------------


class Stack:
    def __init__(
        self,
        base_url: str,
        env: dict,
        procs: list[subprocess.Popen],
        logs: list[Path],
        tmp_path: Path | None = None,
        redis: RedisServer | None = None,
    ):
        self.base_url = base_url
        self.env = env
        self.procs = procs
        self.logs = logs
        self.tmp_path = tmp_path
        self.redis = redis  # a private redis-server this stack may restart (own_redis=True)

    # --- workers: the fault tests kill them and start new ones ---------------------------------

    def start_worker(self) -> subprocess.Popen:
        proc, log = _spawn("worker", WORKER_CMD, self.env, self.tmp_path, len(self.logs))
        self.procs.insert(0, proc)
        self.logs.append(log)
        return proc

    def workers(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.args[:1] == WORKER_CMD[:1] and p.poll() is None]

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """SIGKILL a worker and its pool processes (its own process group), like the OOM
        killer or a machine gone: no shutdown code runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    # --- the stack's own database, read directly -----------------------------------------------

    def sql(self, query: str, *params) -> list[tuple]:
        """Rows of a query on this stack's database (``%s`` placeholders)."""
        url = self.env.get("DATABASE_URL")
        if url:
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                return list(conn.execute(query, params).fetchall())
        import sqlite3

        with contextlib.closing(
            sqlite3.connect(Path(self.env["PLAYGROUND_VAR_DIR"]) / "playground.sqlite3", timeout=20)
        ) as conn:
            return list(conn.execute(query.replace("%s", "?"), params).fetchall())

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in self.logs:
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


# The test servers speak plain HTTP on 127.0.0.1: production mode's HTTPS redirect and
# HTTPS-only cookies are switched off for them (explicitly, see README "Operations"), and the
# per-visitor rate limits are raised (these tests are not about them; tests/web/test_security.py
# is). An ``extra_env`` of a stack overrides any of these.
LOOPBACK_ENV = {
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "PLAYGROUND_RUNS_PER_MINUTE": "10000",
    "PLAYGROUND_SWEEPS_PER_HOUR": "10000",
    "PLAYGROUND_REHEARSALS_PER_VISITOR": "1000",
}


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in MODE_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in LOOPBACK_ENV.items():
        env.setdefault(name, value)
    return env


def _stop(proc: subprocess.Popen) -> None:
    """End one process we started, by its PID (its own process group, so Celery's pool
    children go too)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


WORKER_CMD = [
    str(BIN / "celery"),
    "-A",
    "playground",
    "worker",
    "--loglevel=INFO",
    "--concurrency=1",
    "--without-gossip",
    "--without-mingle",
]


def _spawn(name: str, cmd: list[str], env: dict, tmp_path: Path, n: int):
    log = tmp_path / f"{name}-{n}.log"
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


class RedisServer:
    """A private redis-server on a free loopback port (no persistence, like CI's), which a
    test may kill and start again on the same port."""

    def __init__(self, tmp_path: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = tmp_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=(self.dir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, proc=self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, down_s: float = 0.5) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()


@contextlib.contextmanager
def running_stack(
    mode: str, tmp_path: Path, *, extra_env: dict | None = None, own_redis: bool = False
):
    """Start daphne and a Celery worker as subprocesses on a free port, in ``embedded`` or
    ``production`` mode, each with its own database; yield a ``Stack``; stop them by PID.
    ``own_redis`` (production): a private redis-server the test may restart."""
    env = _clean_env()
    env["PLAYGROUND_VAR_DIR"] = str(tmp_path / "var")
    env.update(extra_env or {})
    private_redis = None
    with contextlib.ExitStack() as cleanup:
        if mode == "production":
            redis, postgres = redis_url(), postgres_url()
            if own_redis:
                if not which("redis-server"):
                    service_skip("redis-server (the fault tests restart their own)")
                private_redis = RedisServer(tmp_path)
                private_redis.start()
                cleanup.callback(private_redis.kill)
                redis = private_redis.url
            if not redis:
                service_skip("Redis (set REDIS_URL to a running server)")
            if not postgres:
                service_skip("PostgreSQL (set DATABASE_URL=postgres://...)")
            env.update(
                {
                    "PLAYGROUND_MODE": "production",
                    "DJANGO_SECRET_KEY": "e2e-" + uuid.uuid4().hex,
                    "DATABASE_URL": cleanup.enter_context(scratch_postgres_database(postgres)),
                    "REDIS_URL": redis if own_redis else redis_url_db(redis, 3),
                    # its own keys: another test run on this Redis cannot take its tasks
                    "PLAYGROUND_REDIS_PREFIX": f"stack-{uuid.uuid4().hex[:12]}:",
                }
            )
            if own_redis:
                _flush_redis(env["REDIS_URL"])
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        if mode == "production":
            env["PLAYGROUND_STATIC_ROOT"] = str(tmp_path / "static")
            subprocess.run(
                manage + ["collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
            )
        port = free_port()
        procs, logs = [], []
        for name, cmd in (
            ("worker", WORKER_CMD),
            (
                "daphne",
                [
                    str(BIN / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "playground.asgi:application",
                ],
            ),
        ):
            proc, log = _spawn(name, cmd, env, tmp_path, 0)
            procs.append(proc)
            logs.append(log)
        stack = Stack(f"http://127.0.0.1:{port}", env, procs, logs, tmp_path, private_redis)
        try:
            wait_for_port(port, proc=procs[1])
            yield stack
        finally:
            for proc in reversed(stack.procs):
                _stop(proc)


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def which(name: str) -> str | None:
    return shutil.which(name)
