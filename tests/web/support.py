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
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
MODE_VARS = ("PLAYGROUND_MODE", "DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY",
             "PLAYGROUND_VAR_DIR", "DJANGO_DEBUG")


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
        with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM)


# --- full stacks ---------------------------------------------------------------------------------

class Stack:
    def __init__(self, base_url: str, env: dict, procs: list[subprocess.Popen], logs: list[Path]):
        self.base_url = base_url
        self.env = env
        self.procs = procs
        self.logs = logs

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in self.logs:
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in MODE_VARS}
    env["PYTHONUNBUFFERED"] = "1"
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


@contextlib.contextmanager
def running_stack(mode: str, tmp_path: Path):
    """Start daphne and a Celery worker as subprocesses on a free port, in ``embedded`` or
    ``production`` mode, each with its own database; yield a ``Stack``; stop them by PID."""
    env = _clean_env()
    env["PLAYGROUND_VAR_DIR"] = str(tmp_path / "var")
    with contextlib.ExitStack() as cleanup:
        if mode == "production":
            redis, postgres = redis_url(), postgres_url()
            if not redis:
                service_skip("Redis (set REDIS_URL to a running server)")
            if not postgres:
                service_skip("PostgreSQL (set DATABASE_URL=postgres://...)")
            env.update({
                "PLAYGROUND_MODE": "production",
                "DJANGO_SECRET_KEY": "e2e-" + uuid.uuid4().hex,
                "DATABASE_URL": cleanup.enter_context(scratch_postgres_database(postgres)),
                "REDIS_URL": redis_url_db(redis, 3),
            })
            _flush_redis(env["REDIS_URL"])
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        if mode == "production":
            env["PLAYGROUND_STATIC_ROOT"] = str(tmp_path / "static")
            subprocess.run(manage + ["collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                           check=True)
        port = free_port()
        procs, logs = [], []
        for name, cmd in (
            ("worker", [str(BIN / "celery"), "-A", "playground", "worker", "--loglevel=INFO",
                        "--concurrency=1", "--without-gossip", "--without-mingle"]),
            ("daphne", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                        "playground.asgi:application"]),
        ):
            log = tmp_path / f"{name}.log"
            logs.append(log)
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"),
                                          stderr=subprocess.STDOUT, start_new_session=True))
        try:
            wait_for_port(port, proc=procs[1])
            yield Stack(f"http://127.0.0.1:{port}", env, procs, logs)
        finally:
            for proc in reversed(procs):
                _stop(proc)


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def which(name: str) -> str | None:
    return shutil.which(name)
