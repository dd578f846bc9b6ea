"""For the rehearsal tests: daphne alone (a rehearsal needs no worker and no tables) as a real
subprocess on 127.0.0.1, in the embedded or the production mode, and a tiny HTTP client."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from .support import (
    BIN,
    ROOT,
    _clean_env,
    _stop,
    free_port,
    postgres_url,
    redis_url,
    redis_url_db,
    service_skip,
    wait_for_port,
)

META = "computeMetadata/v1/instance/"
FLAVOR = {"Metadata-Flavor": "Google"}


class Server:
    def __init__(self, base_url: str, proc: subprocess.Popen, log: Path, mode: str):
        self.base_url, self.proc, self.log, self.mode = base_url, proc, log, mode

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_daphne(mode: str, tmp_path: Path, extra_env: dict | None = None):
    """daphne on a free port in ``embedded`` or ``production`` mode; stopped by its PID."""
    env = _clean_env()
    env["PLAYGROUND_VAR_DIR"] = str(tmp_path / "var")
    if mode == "production":
        redis, postgres = redis_url(), postgres_url()
        if not redis:
            service_skip("Redis (set REDIS_URL to a running server)")
        if not postgres:
            service_skip("PostgreSQL (set DATABASE_URL=postgres://...)")
        env.update(
            {
                "PLAYGROUND_MODE": "production",
                "DJANGO_SECRET_KEY": "rh-" + uuid.uuid4().hex,
                "DATABASE_URL": postgres,
                "REDIS_URL": redis_url_db(redis, 4),
            }
        )
    env.update(extra_env or {})
    port = free_port()
    log = tmp_path / f"daphne-{mode}-{port}.log"
    proc = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, proc=proc)
        yield Server(f"http://127.0.0.1:{port}", proc, log, mode)
    finally:
        _stop(proc)


@pytest.fixture(scope="module", params=["embedded", "production"])
def server(request, tmp_path_factory):
    with running_daphne(
        request.param, tmp_path_factory.mktemp(f"rehearsal-{request.param}")
    ) as running:
        yield running


def request(
    url: str,
    *,
    method: str = "GET",
    headers: dict | None = None,
    data: bytes | None = None,
    timeout: float = 30,
    opener=None,
) -> tuple[int, dict, str]:
    """(status, headers, body) of one HTTP request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def vm_list_scenario(
    vms=(("web-1", "r1-h1"), ("db-1", "r1-h1"), ("cache-1", "r1-h2")), **extra
) -> dict:
    """A small fleet: two hosts, named VMs (2 GiB idle guests), one maintenance event."""
    return {
        "name": "rehearsal-test",
        "seed": 1,
        "fleet": {
            "zone": "zone-t",
            "racks": [{"name": "r", "count": 1, "hosts": 3}],
            "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
            "vm_list": [
                {"name": n, "host": h, "memory": "2GiB", "workload": "idle"} for n, h in vms
            ],
        },
        "caps": {"per_source_host": 2},
        "events": [{"kind": "kernel_upgrade", "scope": {"hosts": ["r1-h1"]}, "start": "20s"}],
        **extra,
    }


def create(server: Server, *, speed=20, start_events=False, scenario=None, preset=None) -> dict:
    body = {"speed": speed, "start_events": start_events}
    if preset:
        body["preset"] = preset
    else:
        body["scenario"] = scenario or vm_list_scenario()
    status, _, text = request(
        server.base_url + "/rehearsals/new.json",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 201, (status, text, server.log_tail())
    return json.loads(text)


def read(
    base: str,
    key: str = "maintenance-event",
    query: dict | None = None,
    timeout: float = 30,
    headers: dict | None = FLAVOR,
) -> tuple[int, dict, str]:
    url = base + META + key + ("?" + urllib.parse.urlencode(query) if query else "")
    return request(url, headers=headers or {}, timeout=timeout)


def simulate(
    created: dict, vm: str, zone: str = "zone-t", project: str = "p", query: str = ""
) -> tuple[int, dict, dict]:
    url = f"{created['compute']}projects/{project}/zones/{zone}/instances/{vm}/simulateMaintenanceEvent{query}"
    status, headers, text = request(url, method="POST", data=b"")
    return status, headers, json.loads(text)


def events(created: dict) -> dict:
    status, _, text = request(created["events"])
    assert status == 200, text
    return json.loads(text)


def wait_until(predicate, timeout: float = 10, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true after {timeout} s")


def browser():
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
