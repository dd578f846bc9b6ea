"""The production deployment, done from the repository the way docs/deploy.md says, with real
processes: ``deploy/serve release`` (migrate, load_presets, collectstatic into a fresh
STATIC_ROOT), ``deploy/serve web`` (daphne on 127.0.0.1) and ``deploy/serve worker worker1`` /
``worker2`` (two Celery workers, distinct node names), against PostgreSQL (a scratch database)
and Redis. Then: /healthz, the collected static files with their caching headers, a few runs
that both workers take a share of, a WebSocket, Celery's view of the workers, and a clean
shutdown of every process by its PID.

Needs PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL): skips without them, and
fails under CI=true (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import websockets

from .support import (
    ROOT,
    _clean_env,
    free_port,
    postgres_url,
    redis_url,
    redis_url_db,
    scratch_postgres_database,
    service_skip,
    wait_for_port,
)
from .test_many_viewers import cookie_header
from .test_stack import FORM, Browserless

SERVE = str(ROOT / "deploy" / "serve")
RUN = {**FORM, "memory": "64GiB", "resolution": "pages"}  # ~0.6 s of model time each
RUNS = 8
FOREVER = "max-age=315360000"  # WhiteNoise, for a file whose name carries its hash


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    redis, postgres = redis_url(), postgres_url()
    if not redis:
        service_skip("Redis (set REDIS_URL to a running server)")
    if not postgres:
        service_skip("PostgreSQL (set DATABASE_URL=postgres://...)")
    tmp = tmp_path_factory.mktemp("deploy")
    with contextlib.ExitStack() as cleanup:
        env = _clean_env()
        env.update(
            {
                "PLAYGROUND_MODE": "production",
                "DJANGO_SECRET_KEY": "deploy-" + uuid.uuid4().hex,
                "DATABASE_URL": cleanup.enter_context(scratch_postgres_database(postgres)),
                "REDIS_URL": redis_url_db(redis, 6),
                "PLAYGROUND_STATIC_ROOT": str(tmp / "static"),  # fresh: collectstatic fills it
                "PLAYGROUND_VAR_DIR": str(tmp / "var"),
                "HOST": "127.0.0.1",
                "PORT": str(free_port()),
                # plain HTTP on loopback: no redirect to https, cookies sent without TLS
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SECURE_COOKIES": "0",
            }
        )
        import redis as redis_client

        redis_client.Redis.from_url(env["REDIS_URL"]).flushdb()
        t0 = time.monotonic()
        release = subprocess.run(
            [SERVE, "release"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert release.returncode == 0, release.stdout + release.stderr
        procs: dict[str, subprocess.Popen] = {}
        logs: dict[str, Path] = {}
        cleanup.callback(_stop_all, procs)
        for name, args in (
            ("worker1", ["worker", "worker1"]),
            ("worker2", ["worker", "worker2"]),
            ("web", ["web"]),
        ):
            logs[name] = tmp / f"{name}.log"
            procs[name] = subprocess.Popen(
                [SERVE, *args],
                cwd=ROOT,
                env=env,
                stdout=logs[name].open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(int(env["PORT"]), proc=procs["web"])
        yield Deployment(env, procs, logs, release.stdout, t0)


class Deployment:
    def __init__(self, env, procs, logs, release_output, t0):
        self.env, self.procs, self.logs = env, procs, logs
        self.release_output, self.t0 = release_output, t0
        self.base_url = f"http://127.0.0.1:{env['PORT']}"
        self.static_root = Path(env["PLAYGROUND_STATIC_ROOT"])

    def get(self, path, headers=None):
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def sql(self, query, *params):
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            return list(conn.execute(query, params).fetchall())

    def log_tail(self, lines=30):
        return "\n".join(
            f"--- {name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for name, log in self.logs.items()
        )


def _stop_all(procs: dict[str, subprocess.Popen]) -> None:
    """SIGTERM each process we started (by PID: its own process group, pool children
    included), then wait; SIGKILL what is still there after 15 s."""
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(stat.parent.name))
    return out


def test_release_collects_static_files_with_a_manifest(deployment):
    root = deployment.static_root
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    for name in (
        "plotly/plotly.min.js",
        "django_htmx/htmx-2.min.js",
        "css/playground.css",
        "js/anatomy.js",
        "admin/css/base.css",
    ):
        hashed = manifest[name]
        assert hashed != name and (root / hashed).is_file() and (root / f"{hashed}.gz").is_file()
        assert (root / name).is_file()  # the plain name too
    assert "static files copied" in deployment.release_output


def test_health_and_static_files_with_caching_headers(deployment):
    # daphne borrows its PostgreSQL connections from a pool (deploy/serve's default)
    environ = Path(f"/proc/{deployment.procs['web'].pid}/environ").read_bytes().split(b"\0")
    assert b"DATABASE_POOL_MAX_SIZE=10" in environ
    status, _, body = deployment.get("/healthz")
    assert status == 200, deployment.log_tail()
    health = json.loads(body)
    assert health["status"] == "ok" and set(health["checks"]) == {
        "database",
        "broker",
        "channel_layer",
    }

    # the page links hashed names from the manifest, and those are cached for good
    status, _, html = deployment.get("/")
    assert status == 200
    html = html.decode()
    manifest = json.loads((deployment.static_root / "staticfiles.json").read_text())["paths"]
    for name in ("django_htmx/htmx-2.min.js", "css/playground.css"):
        url = f"/static/{manifest[name]}"
        assert url in html, f"{url} not linked from /"
        status, headers, body = deployment.get(url)
        assert status == 200
        assert body == (deployment.static_root / manifest[name]).read_bytes()
        cache = headers["Cache-Control"]
        assert FOREVER in cache and "public" in cache and "immutable" in cache, cache

    # plotly.min.js (from the plotly package): hashed, compressed on request, and by plain name
    plotly = f"/static/{manifest['plotly/plotly.min.js']}"
    status, headers, gz = deployment.get(plotly, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert FOREVER in headers["Cache-Control"] and "Accept-Encoding" in headers["Vary"]
    assert len(gz) < (deployment.static_root / "plotly/plotly.min.js").stat().st_size / 2
    status, headers, body = deployment.get("/static/plotly/plotly.min.js")
    assert status == 200 and len(body) > 1_000_000
    assert headers["Cache-Control"] == "max-age=60, public"  # a plain name may change
    assert headers["ETag"] and headers["Last-Modified"]
    status, _, _ = deployment.get("/static/no/such/file.js")
    assert status == 404


def test_both_workers_take_runs_and_celery_sees_both(deployment):
    client = Browserless(deployment.base_url)
    ids = []
    for _ in range(RUNS):
        status, url, _ = client.post_form("/runs/", RUN)
        assert status == 200 and re.search(r"/runs/\d+/$", url), deployment.log_tail()
        ids.append(int(url.rstrip("/").rsplit("/", 1)[1]))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = deployment.sql(
            "SELECT id, status, worker FROM playground_run WHERE id = ANY(%s)", ids
        )
        if all(status in ("done", "failed") for _, status, _ in rows):
            break
        time.sleep(0.2)
    assert [status for _, status, _ in sorted(rows)] == ["done"] * RUNS, deployment.log_tail()

    # Run.worker is host:pid of the pool process that claimed it; each worker's pool is its
    # children. Both workers took some.
    pools = {name: _children(deployment.procs[name].pid) for name in ("worker1", "worker2")}
    took = dict.fromkeys(pools, 0)
    for _, _, worker in rows:
        host, pid = worker.rsplit(":", 1)
        assert host == socket.gethostname()
        (owner,) = [name for name, children in pools.items() if int(pid) in children]
        took[owner] += 1
    assert all(took.values()) and sum(took.values()) == RUNS, took

    # the run page's WebSocket, through daphne and the Redis channel layer
    async def watch(run_id):
        async with websockets.connect(
            f"{deployment.base_url.replace('http', 'ws')}/ws/runs/{run_id}/",
            origin=deployment.base_url,
            additional_headers={"Cookie": cookie_header(client)},
        ) as ws:
            seqs = []
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "events":
                    seqs += [event["seq"] for event in message["events"]]
                elif message["status"] == "done":
                    return seqs

    seqs = asyncio.run(watch(ids[0]))
    assert seqs and seqs == list(range(1, len(seqs) + 1))

    # Celery's own view of the workers (docs/deploy.md, Workers): both answer, by node name
    status = subprocess.run(
        [str(ROOT / ".venv/bin/celery"), "-A", "playground", "status"],
        cwd=ROOT,
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    host = socket.gethostname()
    assert f"worker1@{host}: OK" in status.stdout and f"worker2@{host}: OK" in status.stdout, (
        status.stdout + status.stderr
    )
    assert "2 nodes online" in status.stdout


def test_every_process_stops_cleanly_by_pid(deployment):
    procs = deployment.procs
    assert all(proc.poll() is None for proc in procs.values()), deployment.log_tail()
    workers = {name: _children(procs[name].pid) for name in ("worker1", "worker2")}
    _stop_all(procs)
    codes = {name: proc.returncode for name, proc in procs.items()}
    assert codes == {"worker1": 0, "worker2": 0, "web": 0}, (codes, deployment.log_tail())
    for children in workers.values():  # the pool processes went with their worker
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    logs = {name: log.read_text(errors="replace") for name, log in deployment.logs.items()}
    assert "Warm shutdown" in logs["worker1"] and "Warm shutdown" in logs["worker2"]
    assert time.monotonic() - deployment.t0 < 60, "the whole deployment should take < 60 s"
