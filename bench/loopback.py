"""What the benchmark scripts share to talk to the servers they start on 127.0.0.1 (some speak
raw HTTP/1.1, to see every byte), and to set up production mode for them."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse, urlunparse


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


# --- production mode on this machine: a database of the bench's own, Redis, ``serve release``

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "deploy" / "serve"


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` (a PostgreSQL URL) pointing at database ``name``."""
    return urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))


def create_services(
    admin_url: str, dbname: str, redis_url: str, env: dict, workdir: Path, timeout_s: float
) -> None:
    """A new empty database ``dbname``, an empty Redis database, and the release step (the
    migrations) run against them with ``env``; its output goes to ``workdir/release.log``."""
    import psycopg
    import redis

    with psycopg.connect(database_url(admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    redis.Redis.from_url(redis_url).flushdb()
    subprocess.run(
        [str(SERVE), "release"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=(workdir / "release.log").open("wb"),
        stderr=subprocess.STDOUT,
        timeout=timeout_s,
    )


def drop_database(admin_url: str, dbname: str) -> None:
    import psycopg

    with psycopg.connect(database_url(admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
