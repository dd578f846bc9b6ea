"""50 viewers on one large run while 20 users load pages and start runs: does anyone lose a
message, and how long do pages and messages take? Against the production-mode server.

    .venv/bin/python bench/load.py [--viewers 50] [--users 20] [--seconds 60] [--deadline 300]
                                   [--preset heartbleed] [--run-interval 4] [--url URL]
                                   [--client-procs 1]

Without ``--url`` it deploys the server itself, the way docs/deploy.md says (``deploy/serve
release``, ``web``, ``worker worker1``, ``worker worker2``: daphne on 127.0.0.1 and two Celery
workers), in production mode against a scratch PostgreSQL database next to ``DATABASE_URL``'s
(dropped at the end) and Redis ``REDIS_URL`` (database ``--redis-db``, flushed first), plain
HTTP on loopback (no HTTPS redirect, cookies without TLS), the production rate limits as they
are. ``--url`` points it at a server you started (same REDIS_URL: see message latency).

What it does, all from one asyncio client (raw HTTP/1.1 and ``websockets``), like browsers:

1. Accounts: an owner and ``--users`` users, each a real account made through the sign-up form
   (``/accounts/signup/``), then signed in through the login form (``signin``); a server
   without accounts: anonymous sessions (then ``accounts`` says so).
2. The owner starts the large run through the pages: a fleet from ``--preset`` (the preset
   button), its plan approved (POST). ``--viewers`` WebSockets open on it at once with the
   owner's session (a run is its owner's to watch: one browser, many tabs), and stay until it
   ends; a socket that closes early is reopened with ``?after=<last seq>`` (an error).
3. Meanwhile each user, for ``--seconds``, loops: the form page (``GET /``), the form posted with
   its CSRF token (``POST /runs/``, a single-VM run with a fresh seed), the run page, the run's
   WebSocket until ``done``, the run list, the fleet list; one loop per ``--run-interval``
   seconds at most (4 s: 15 runs a minute, under the default limit of 20).

``--client-procs N`` spreads the viewers over N client processes (their decoding competes with
daphne for the same CPUs; in one process it also delays the viewers' own reading): each reports
its frames (as hashes), receive times and its event loop's lag, which says how much of the
measured latency is the client's (``client_loop_lag_p99_ms`` and ``client_loop_lag_max_ms``:
how late the client's event loop ran a 10 ms timer, the worst of its processes). A client
process runs without Python's cyclic garbage collector: it keeps every frame it received (a
million objects at 200 viewers, nothing cyclic), and each full collection walked them all,
stalling the viewers read after it by 400-700 ms, the same frames in every run: that was the
bench's latency, not the server's.

Prints ONE JSON object:

- ``dropped_messages``: for every viewer, the stored frames (``messages.json``, every page)
  it did not receive, summed (must be 0); ``duplicate_messages`` (must be 0);
  ``payload_mismatches``: received frames that differ from the stored ones (must be 0);
- ``p50/p99/max_message_latency_ms``: from the moment a batch of frames published by the
  worker reached a subscriber of the run's channel-layer group in this process (a channels-redis
  layer on the same Redis: the publish, seen from outside) to the moment each viewer's WebSocket
  delivered it; live deliveries only (what a viewer replays on connect is counted in
  ``replayed_messages``, not timed);
- ``p50/p99/max_page_latency_ms``: every HTTP request the users make (request sent to the last
  byte read; a redirect is its own request), and ``page_p99_ms`` per page;
- ``errors`` (must be 0): any non-2xx/3xx answer, a run that does not end ``done``, a socket
  closed early, a timeout, an exception; ``error_samples`` shows the first few;
- viewers, users, runs_started, runs_done, p50/p99 of a run's POST-to-done, messages_received,
  the large run (frames, its stream time), viewer connect times, sign-in times, wall_s (the load
  phase) and setup_s.

Bounded: the users stop after ``--seconds``; everything is abandoned (and counted as errors)
at ``--deadline``. Ends every process it started, by PID. Needs the ``websockets`` and
``channels_redis`` packages of requirements-dev.txt (the venv ./test makes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlsplit, urlunparse

from loopback import (  # bench/ is on sys.path when a script here runs
    create_services,
    database_url,
    dechunk,
    drop_database,
    free_port,
)

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
SERVE = ROOT / "deploy" / "serve"
FORM = {
    "memory": "4GiB",
    "workload": "web",
    "bandwidth": "10Gbit/s",
    "policy": "qemu",
    "downtime_limit": "300ms",
    "resolution": "fluid",
    "speed": "10",
    "guest_watches": "on",
}
PASSWORD = secrets.token_urlsafe(18)  # nothing like a user name (Django's password validators)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


# --- a browser without a browser: HTTP/1.1 on asyncio sockets, cookies, CSRF --------------------


class Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, seconds: float):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    """Cookies, CSRF tokens, one connection per request (``Connection: close``)."""

    def __init__(self, base: str, stats: Stats, name: str):
        self.base = base
        self.host = urlsplit(base).netloc
        self.cookies: dict[str, str] = {}
        self.stats = stats
        self.name = name

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        referer: str = "/",
        timeout: float = 60,
        page: str | None = None,
    ) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}",
            "Connection: close",
            "User-Agent: bench-load",
            "Accept: text/html,application/json",
        ]
        if self.cookies:
            lines.append(f"Cookie: {self.cookie_header()}")
        if method == "POST":
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                f"Origin: {self.base}",
                f"Referer: {self.base}{referer}",
            ]
        started = time.perf_counter()
        parts = urlsplit(self.base)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port), timeout
        )
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.close()
        seconds = time.perf_counter() - started
        head, _, payload = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        if "chunked" in dict(headers).get("transfer-encoding", ""):
            payload = dechunk(payload)
        response = Response(int(status_line.split()[1]), headers, payload, seconds)
        for name, value in headers:
            if name == "set-cookie":
                self._set_cookie(value)
        label = f"{method} {page or re.sub(r'/[0-9]+/', '/<id>/', path.split('?')[0])}"
        self.stats.page(label, seconds)
        if response.status >= 400:
            self.stats.error(f"{self.name}: {label}: HTTP {response.status}")
        return response

    def _set_cookie(self, value: str) -> None:
        pair, *attrs = value.split(";")
        name, _, val = pair.strip().partition("=")
        expired = any(a.strip().lower() in ("max-age=0",) for a in attrs) or val in ('""', "")
        if expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = val

    async def get(self, path: str, page: str | None = None) -> Response:
        return await self.request("GET", path, page=page)

    async def post_form(
        self, form_path: str, action: str, data: dict, *, page: str | None = None
    ) -> Response:
        """Load the page that holds the form, post it with its CSRF token (no redirect
        followed: the caller reads ``Location``)."""
        html = (await self.get(form_path)).text
        match = CSRF.search(html)
        token = match.group(1) if match else self.cookies.get("csrftoken", "")
        return await self.request(
            "POST",
            action,
            form={"csrfmiddlewaretoken": token, **data},
            referer=form_path,
            page=page,
        )


def location(response: Response) -> str:
    return urlsplit(response.header("location")).path


# --- what is measured ----------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.pages: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.runs_started = 0
        self.run_done_s: list[float] = []
        self.signin_s: list[float] = []
        self.client_cpu_s = 0.0  # of the client processes (--client-procs)
        self.measuring = False  # page latencies count during the load phase only

    def page(self, label: str, seconds: float) -> None:
        if self.measuring:
            self.pages.setdefault(label, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors.append(what)


class Viewer:
    """One WebSocket on the large run. Keeps every frame it receives (the first replay apart
    from the live tail) and reopens with ``?after=`` if the socket closes early."""

    def __init__(self, index: int, url: str, origin: str, cookies: str, stats: Stats):
        self.index, self.url, self.origin, self.cookies, self.stats = (
            index,
            url,
            origin,
            cookies,
            stats,
        )
        self.frames: dict[int, dict] = {}
        self.duplicates = 0
        self.live: list[tuple[int, float]] = []  # (seq, wall time received), after the replay
        self.replayed = 0
        self.ws_messages = 0
        self.status = ""
        self.connect_s: float | None = None  # socket opened to first status (connect + replay)

    async def watch(self) -> None:
        after = 0
        import websockets

        while self.status not in ("done", "failed"):
            opened = time.perf_counter()
            greeted = False
            try:
                async with websockets.connect(
                    f"{self.url}?after={after}",
                    origin=self.origin,
                    max_size=None,
                    additional_headers={"Cookie": self.cookies},
                    open_timeout=60,
                ) as ws:
                    async for raw in ws:
                        now = time.time()
                        message = json.loads(raw)
                        self.ws_messages += 1
                        if message["type"] == "events":
                            for frame in message["events"]:
                                seq = frame["seq"]
                                if seq in self.frames:
                                    self.duplicates += 1
                                    continue
                                self.frames[seq] = frame
                                after = max(after, seq)
                                if greeted:
                                    self.live.append((seq, now))
                                else:
                                    self.replayed += 1
                        else:
                            if not greeted and self.connect_s is None:
                                self.connect_s = time.perf_counter() - opened
                            greeted = True
                            self.status = message["status"]
                            if self.status in ("done", "failed"):
                                return
                self.stats.error(f"viewer {self.index}: socket closed before the run ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - counted, reported, reconnected
                self.stats.error(f"viewer {self.index}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.5)

    def report(self) -> dict:
        """What the parent needs of this viewer (from a client process: as JSON, frames hashed)."""
        return {
            "index": self.index,
            "frames": {str(seq): frame_hash(frame) for seq, frame in self.frames.items()},
            "duplicates": self.duplicates,
            "live": self.live,
            "replayed": self.replayed,
            "ws_messages": self.ws_messages,
            "status": self.status,
            "connect_s": self.connect_s,
        }


def frame_hash(frame: dict) -> str:
    return hashlib.blake2b(json.dumps(frame, sort_keys=True).encode(), digest_size=8).hexdigest()


class LoopLag:
    """How late this process's event loop runs a 10 ms timer: the client's share of latency."""

    def __init__(self, every_s: float = 0.01):
        self.every_s = every_s
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.every_s)
            self.lags.append(max(0.0, time.perf_counter() - started - self.every_s))


async def viewer_process(url: str, origin: str, first: int, count: int, timeout: float) -> None:
    """``--viewer-proc``: ``count`` viewers in this process; prints one JSON line at the end."""
    gc.disable()  # the frames kept are no cycles; a full collection over them stalls the viewers
    stats = Stats()
    cookies = sys.stdin.readline().strip()  # the owner's session: not on the command line
    viewers = [Viewer(first + i, url, origin, cookies, stats) for i in range(count)]
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run())
    cpu_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    tasks = [asyncio.create_task(v.watch()) for v in viewers]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    lag_task.cancel()
    print(
        json.dumps(
            {
                "viewers": [v.report() for v in viewers],
                "errors": stats.errors,
                "loop_lag_p99_s": pct(lag.lags, 99),
                "loop_lag_max_s": max(lag.lags, default=None),
                "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu_before,
            }
        ),
        flush=True,
    )


async def client_process(
    url: str, origin: str, cookies: str, first: int, count: int, timeout: float
) -> dict:
    proc = await asyncio.create_subprocess_exec(
        *[str(PYTHON), __file__, "--viewer-proc", url, origin, str(first), str(count)],
        str(timeout),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await proc.communicate((cookies + "\n").encode())
    except asyncio.CancelledError:
        proc.terminate()  # our own child, by its handle
        await proc.wait()
        raise
    return json.loads(out)


async def listen(redis_url: str, group: str, layer_kind: str = "core") -> None:
    """``--listen``: subscribe to the run's group as a consumer does and print ``seq time`` for
    each frame as it arrives (its own process: the viewers' event loop would delay it)."""
    if layer_kind == "pubsub":
        from channels_redis.pubsub import RedisPubSubChannelLayer as RedisChannelLayer
    else:
        from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 15}])
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    print("ready", flush=True)
    while True:
        message = await layer.receive(channel)
        now = time.time()
        if "text" in message:  # encoded once by the publisher (what the viewers get)
            events = json.loads(message["text"])["events"]
        else:  # an older publisher
            events = message.get("events", ())
        lines = [f"{frame['seq']} {now:.6f}" for frame in events]
        if lines:
            print("\n".join(lines), flush=True)


class PublishTimes:
    """The ``--listen`` subprocess for one run's group: the wall time each frame was seen."""

    def __init__(self, redis_url: str, run_id: int, layer: str):
        self.args = [str(PYTHON), __file__, "--listen", redis_url, f"fleet.{run_id}", layer]
        self.seen: dict[int, float] = {}

    async def __aenter__(self):
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise SystemExit("the channel-layer listener did not start")
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self):
        async for line in self.proc.stdout:
            seq, at = line.split()
            self.seen.setdefault(int(seq), float(at))

    async def __aexit__(self, *exc):
        self.proc.terminate()  # our own child, by its handle
        await self.proc.wait()
        await asyncio.gather(self.reader, return_exceptions=True)


# --- the people ----------------------------------------------------------------------------------


async def sign_in(browser: Browser, username: str, stats: Stats) -> bool:
    """A real account: sign up through the form, then sign in through the login form (a fresh
    session). False when the server has no accounts (anonymous sessions then)."""
    signup = await browser.get("/accounts/signup/")
    if signup.status == 404:
        return False
    response = await browser.post_form(
        "/accounts/signup/",
        "/accounts/signup/",
        {"username": username, "password1": PASSWORD, "password2": PASSWORD},
    )
    if response.status != 302:
        stats.error(f"{username}: sign-up answered {response.status}")
        return False
    browser.cookies.clear()  # a new browser session: sign in
    started = time.perf_counter()
    response = await browser.post_form(
        "/accounts/login/", "/accounts/login/", {"username": username, "password": PASSWORD}
    )
    stats.signin_s.append(time.perf_counter() - started)
    if response.status != 302 or "sessionid" not in browser.cookies:
        stats.error(f"{username}: sign-in answered {response.status}")
        return False
    return True


async def watch_own_run(browser: Browser, run_id: int, stats: Stats, timeout: float) -> str:
    import websockets

    url = browser.base.replace("http://", "ws://") + f"/ws/runs/{run_id}/"
    async with websockets.connect(
        url,
        origin=browser.base,
        max_size=None,
        additional_headers={"Cookie": browser.cookie_header()},
    ) as ws:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message["type"] == "status" and message["status"] in ("done", "failed"):
                return message["status"]


async def user(
    index: int, browser: Browser, stats: Stats, until: float, interval: float, deadline: float
) -> None:
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, interval))  # users arrive spread out
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            form = {
                **FORM,
                "seed": str(rng.randint(1, 10**9)),
                "memory": rng.choice(["2GiB", "4GiB", "8GiB", "16GiB"]),
                "workload": rng.choice(["idle", "web", "oltp"]),
            }
            response = await browser.post_form("/", "/runs/", form, page="/runs/ (start)")
            if response.status != 302 or not re.fullmatch(r"/runs/\d+/", location(response)):
                stats.error(f"user {index}: starting a run answered {response.status}")
            else:
                stats.runs_started += 1
                run_path = location(response)
                run_id = int(run_path.strip("/").rsplit("/", 1)[1])
                posted = time.perf_counter()
                await browser.get(run_path, page="/runs/<id>/")
                status = await watch_own_run(
                    browser, run_id, stats, timeout=max(1.0, deadline - time.monotonic())
                )
                if status == "done":
                    stats.run_done_s.append(time.perf_counter() - posted)
                else:
                    stats.error(f"user {index}: run {run_id} ended {status}")
                await browser.get("/runs/")
                await browser.get("/fleets/")
        except Exception as exc:  # noqa: BLE001 - counted, reported
            stats.error(f"user {index}: {type(exc).__name__}: {exc}")
        rest = interval - (time.monotonic() - started)
        if rest > 0:
            await asyncio.sleep(rest * rng.uniform(1.0, 1.2))


async def large_run(owner: Browser, preset: str, stats: Stats) -> int:
    response = await owner.post_form("/fleets/", "/fleets/from-preset/", {"preset": preset})
    fleet_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/\d+/", fleet_path):
        raise SystemExit(f"could not create the {preset} fleet: HTTP {response.status}")
    deadline = time.monotonic() + 300
    while 'id="approve"' not in (await owner.get(fleet_path + "plan/")).text:  # a worker plans
        if time.monotonic() > deadline:
            raise SystemExit(f"the plan of the {preset} fleet was not computed in 300 s")
        await asyncio.sleep(1.0)
    response = await owner.post_form(fleet_path + "plan/", fleet_path + "plan/", {})
    run_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/runs/\d+/", run_path):
        raise SystemExit(
            f"could not approve the plan: HTTP {response.status} {response.text[:300]}"
        )
    return int(run_path.strip("/").rsplit("/", 1)[1])


async def stored_frames(owner: Browser, run_id: int) -> tuple[dict[int, dict], str]:
    frames, after, status = {}, 0, ""
    while True:
        response = await owner.get(f"/fleets/runs/{run_id}/messages.json?after={after}")
        data = json.loads(response.body)
        status = data["status"]
        for frame in data["events"]:
            frames[frame["seq"]] = frame
        if data["complete"] or not data["events"]:
            return frames, status
        after = data["events"][-1]["seq"]


# --- one load test --------------------------------------------------------------------------------


async def load(base: str, redis_url: str, args, cpu=None) -> dict:
    stats = Stats()
    tag = uuid.uuid4().hex[:6]
    setup_started = time.perf_counter()
    owner = Browser(base, stats, "owner")
    signed_in = await sign_in(owner, f"load-{tag}-owner", stats)
    users = [Browser(base, stats, f"user {i}") for i in range(args.users)]
    results = await asyncio.gather(
        *(sign_in(b, f"load-{tag}-{i}", stats) for i, b in enumerate(users))
    )
    accounts = "signed-in accounts" if signed_in and all(results) else "anonymous sessions"
    setup_s = time.perf_counter() - setup_started

    stats.measuring = True
    cpu_before = cpu() if cpu else {}
    bench_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    machine_before = machine_busy_seconds()
    loop_started = time.monotonic()
    deadline = loop_started + args.deadline
    run_id = await large_run(owner, args.preset, stats)
    publish = PublishTimes(redis_url, run_id, args.layer)
    await publish.__aenter__()
    ws_base = base.replace("http://", "ws://")
    viewer_url = f"{ws_base}/ws/fleet-runs/{run_id}/"
    procs = max(1, min(args.client_procs, args.viewers))
    viewers = []
    if procs == 1:  # in this process
        viewers = [
            Viewer(i, viewer_url, base, owner.cookie_header(), stats) for i in range(args.viewers)
        ]
        viewer_tasks = [asyncio.create_task(v.watch()) for v in viewers]
    else:  # spread over client processes, as evenly as they go
        shares = [args.viewers // procs + (k < args.viewers % procs) for k in range(procs)]
        firsts = [sum(shares[:k]) for k in range(procs)]
        viewer_tasks = [
            asyncio.create_task(
                client_process(
                    viewer_url,
                    base,
                    owner.cookie_header(),
                    first,
                    share,
                    max(1.0, deadline - time.monotonic()),
                )
            )
            for first, share in zip(firsts, shares, strict=True)
        ]
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run())
    until = loop_started + args.seconds
    user_tasks = [
        asyncio.create_task(user(i, b, stats, until, args.run_interval, deadline))
        for i, b in enumerate(users)
    ]

    everything = viewer_tasks + user_tasks
    done, pending = await asyncio.wait(everything, timeout=max(1.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    if pending:
        stats.error(f"deadline: {len(pending)} viewers/users still busy after {args.deadline} s")
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            stats.error(f"task: {type(task.exception()).__name__}: {task.exception()}")
    wall_s = time.monotonic() - loop_started
    lag_task.cancel()
    reports = [v.report() for v in viewers]
    loop_lags = [pct(lag.lags, 99)]
    loop_lags_max = [max(lag.lags, default=None)]
    for task in viewer_tasks if procs > 1 else ():
        if task.done() and not task.cancelled() and task.exception() is None:
            client = task.result()
            reports += client["viewers"]
            stats.errors += client["errors"]
            loop_lags.append(client["loop_lag_p99_s"])
            loop_lags_max.append(client["loop_lag_max_s"])
            stats.client_cpu_s += client["cpu_s"]
    cpu_used = {f"{k}_cpu_s": round(v - cpu_before[k], 1) for k, v in cpu().items()} if cpu else {}
    cpu_used["bench_cpu_s"] = round(
        sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - bench_before, 1
    )
    cpu_used["client_procs_cpu_s"] = round(stats.client_cpu_s, 1)  # --client-procs
    # everything else busy meanwhile: PostgreSQL, Redis, the listener, and whatever else runs
    # on this machine (another test suite would show here)
    cpu_used["machine_busy_cpu_s"] = round(machine_busy_seconds() - machine_before, 1)
    cpu_used["other_cpu_s"] = round(
        cpu_used["machine_busy_cpu_s"]
        - sum(v for k, v in cpu_used.items() if k != "machine_busy_cpu_s"),
        1,
    )
    stats.measuring = False
    await publish.__aexit__()
    seen = publish.seen

    stored, large_status = await stored_frames(owner, run_id)
    if large_status != "done":
        stats.error(f"the large run ended {large_status!r}")
    expected = set(stored)
    if expected != set(range(1, len(stored) + 1)):
        stats.error("the stored stream has a gap")
    dropped = duplicates = mismatches = 0
    latencies, replayed = [], 0
    stored_hashes = {str(seq): frame_hash(frame) for seq, frame in stored.items()}
    for viewer in reports:
        dropped += len(set(stored_hashes) - set(viewer["frames"]))
        duplicates += viewer["duplicates"]
        mismatches += sum(
            1 for seq, digest in viewer["frames"].items() if stored_hashes.get(seq) != digest
        )
        replayed += viewer["replayed"]
        if viewer["status"] != "done":
            stats.error(f"viewer {viewer['index']}: last status {viewer['status']!r}")
        latencies += [received - seen[seq] for seq, received in viewer["live"] if seq in seen]
    dropped += len(stored_hashes) * (args.viewers - len(reports))  # a client process lost
    pages = [s for values in stats.pages.values() for s in values]
    connects = [v["connect_s"] for v in reports if v["connect_s"] is not None]
    response = await owner.get(f"/fleets/runs/{run_id}/summary.json")
    summary = (json.loads(response.body).get("summary") or {}) if response.status == 200 else {}
    return {
        "server": base,
        "accounts": accounts,
        "viewers": args.viewers,
        "users": args.users,
        "seconds": args.seconds,
        "dropped_messages": dropped,
        "duplicate_messages": duplicates,
        "payload_mismatches": mismatches,
        "p50_message_latency_ms": ms(pct(latencies, 50)),
        "p99_message_latency_ms": ms(pct(latencies, 99)),
        "max_message_latency_ms": ms(max(latencies)) if latencies else None,
        "message_latency": "worker's publish (as a channel-layer subscriber in the bench sees "
        "it) to each viewer's WebSocket; live deliveries only",
        "message_latency_samples": len(latencies),
        "messages_received": sum(len(v["frames"]) for v in reports),
        "ws_messages_received": sum(v["ws_messages"] for v in reports),
        "client_procs": procs,
        "client_loop_lag_p99_ms": ms(max((x for x in loop_lags if x is not None), default=None)),
        "client_loop_lag_max_ms": ms(
            max((x for x in loop_lags_max if x is not None), default=None)
        ),
        "replayed_messages": replayed,
        "large_run": {
            "id": run_id,
            "preset": args.preset,
            "vms": summary.get("vms"),
            "frames": len(stored),
            "status": large_status,
            "stream_s": round(max(seen.values()) - min(seen.values()), 1) if seen else None,
        },
        "p50_viewer_connect_ms": ms(pct(connects, 50)),
        "p99_viewer_connect_ms": ms(pct(connects, 99)),
        "pages_loaded": len(pages),
        "p50_page_latency_ms": ms(pct(pages, 50)),
        "p99_page_latency_ms": ms(pct(pages, 99)),
        "max_page_latency_ms": ms(max(pages)) if pages else None,
        "page_p99_ms": {
            label: ms(pct(values, 99)) for label, values in sorted(stats.pages.items())
        },
        "runs_started": stats.runs_started,
        "runs_done": len(stats.run_done_s),
        "p50_run_done_s": round(pct(stats.run_done_s, 50), 2) if stats.run_done_s else None,
        "p99_run_done_s": round(pct(stats.run_done_s, 99), 2) if stats.run_done_s else None,
        "p99_signin_ms": ms(pct(stats.signin_s, 99)),
        "errors": len(stats.errors),
        "error_samples": stats.errors[:8],
        "wall_s": round(wall_s, 1),
        "setup_s": round(setup_s, 1),
        **cpu_used,  # during the load phase (wall_s), on os.cpu_count() CPUs
    }


# --- the server -----------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds this machine spent busy (all CPUs, everything on it), from /proc/stat."""
    with contextlib.suppress(OSError):
        user, nice, system, idle, iowait, irq, softirq, steal = (
            int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        )
        return (user + nice + system + irq + softirq + steal) / TICK
    return 0.0


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (a worker's pool processes)."""

    def parse(stat: Path) -> tuple[int, float]:  # (parent pid, CPU seconds)
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK

    total = 0.0
    with contextlib.suppress(OSError):
        total += parse(Path(f"/proc/{pid}/stat"))[1]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent, seconds = parse(stat)
            if parent == pid:
                total += seconds
    return total


class Deployment:
    """deploy/serve release, web, two workers; a scratch PostgreSQL database; plain HTTP."""

    def __init__(self, args, workdir: Path):
        database_url = os.environ.get("DATABASE_URL", "")
        redis_url = os.environ.get("REDIS_URL", "")
        if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
            raise SystemExit(
                "bench/load.py needs DATABASE_URL=postgres://... and REDIS_URL "
                "(or --url of a running server)"
            )
        self.admin_url = database_url
        self.dbname = f"playground_load_{uuid.uuid4().hex[:8]}"
        self.redis_url = urlunparse(urlparse(redis_url)._replace(path=f"/{args.redis_db}"))
        self.port = free_port()
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []
        self.worker_nice = args.worker_nice
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DJANGO_"))}
        env.update(
            {
                "PLAYGROUND_MODE": "production",
                "DJANGO_SECRET_KEY": "load-" + uuid.uuid4().hex,
                "DATABASE_URL": self._db_url(self.dbname),
                "REDIS_URL": self.redis_url,
                "PLAYGROUND_STATIC_ROOT": str(workdir / "static"),
                "PLAYGROUND_VAR_DIR": str(workdir / "var"),
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WORKERS": "2",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if args.layer == "pubsub":  # an experiment: channels-redis's pub/sub layer
            (workdir / "bench_pubsub_settings.py").write_text(
                "from playground.settings import *  # noqa\n"
                "CHANNEL_LAYERS['default']['BACKEND'] = "
                "'channels_redis.pubsub.RedisPubSubChannelLayer'\n"
                "for key in ('capacity', 'expiry'):\n"
                "    CHANNEL_LAYERS['default']['CONFIG'].pop(key, None)\n"
            )
            env["DJANGO_SETTINGS_MODULE"] = "bench_pubsub_settings"
            env["PYTHONPATH"] = os.pathsep.join([str(workdir), str(ROOT)])
        env.update(dict(kv.split("=", 1) for kv in args.server_env))
        self.env = env

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: daphne, and the two workers with their pool processes."""
        web, *workers = self.procs[-1:] + self.procs[:-1]
        return {"web": cpu_seconds(web.pid), "workers": sum(cpu_seconds(w.pid) for w in workers)}

    def _db_url(self, name: str) -> str:
        return database_url(self.admin_url, name)

    def __enter__(self):
        try:
            create_services(
                self.admin_url, self.dbname, self.redis_url, self.env, self.workdir, 180
            )
            for name, argv in (
                ("worker1", ["worker", "worker1"]),
                ("worker2", ["worker", "worker2"]),
                ("web", ["web"]),
            ):
                self.procs.append(
                    subprocess.Popen(
                        [str(SERVE), *argv],
                        cwd=ROOT,
                        env=self.env,
                        start_new_session=True,
                        stdout=(self.workdir / f"{name}.log").open("wb"),
                        stderr=subprocess.STDOUT,
                    )
                )
            deadline = time.monotonic() + 60
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        break
                if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                    raise SystemExit(f"daphne did not start: see {self.workdir / 'web.log'}")
                time.sleep(0.1)
            if self.worker_nice:  # the workers (and their pool processes) yield the CPU
                time.sleep(3)  # their pools are forked by now
                for worker in self.procs[:-1]:
                    for pid in [worker.pid, *children(worker.pid)]:
                        with contextlib.suppress(OSError):
                            os.setpriority(os.PRIO_PROCESS, pid, self.worker_nice)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        drop_database(self.admin_url, self.dbname)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="users start runs this long")
    parser.add_argument(
        "--deadline",
        type=float,
        default=300,
        help="abandon (and count as errors) whatever is still busy after this",
    )
    parser.add_argument("--preset", default="heartbleed", help="the large fleet run's preset")
    parser.add_argument(
        "--run-interval",
        type=float,
        default=4.0,
        help="seconds between one user's runs, at least (default 4: 15/min)",
    )
    parser.add_argument("--url", help="a running server (default: deploy one on 127.0.0.1)")
    parser.add_argument(
        "--redis-db",
        type=int,
        default=8,
        help="Redis database of the deployed server (flushed first)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the deployed server (repeatable)",
    )
    parser.add_argument(
        "--logs", metavar="DIR", help="keep the deployed server's logs (and static files) in DIR"
    )
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="core",
        help="the deployed server's channel layer: channels-redis's default "
        "(core, what settings.py configures) or, as an experiment, its "
        "pub/sub layer",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        metavar="N",
        help="run the deployed workers at this nice level (they yield the CPU to daphne)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=1,
        metavar="N",
        help="spread the viewers over N client processes (default 1: this one)",
    )
    parser.add_argument("--listen", nargs=3, help=argparse.SUPPRESS)  # the listener subprocess
    parser.add_argument("--viewer-proc", nargs=5, help=argparse.SUPPRESS)  # a client process
    args = parser.parse_args()
    if args.viewer_proc:
        url, origin, first, count, timeout = args.viewer_proc
        asyncio.run(viewer_process(url, origin, int(first), int(count), float(timeout)))
        return
    if args.listen:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(listen(*args.listen))
        return

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    started = time.perf_counter()
    if args.url:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        result = asyncio.run(load(args.url.rstrip("/"), redis_url, args))
    else:
        with contextlib.ExitStack() as stack:
            if args.logs:
                tmp = Path(args.logs)
                tmp.mkdir(parents=True, exist_ok=True)
            else:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
            with Deployment(args, tmp) as server:
                result = asyncio.run(
                    load(f"http://127.0.0.1:{server.port}", server.redis_url, args, cpu=server.cpu)
                )
                result["server"] = (
                    "deploy/serve: daphne on 127.0.0.1 + worker1 + worker2, "
                    "PostgreSQL, Redis, production mode"
                )
                if args.server_env:
                    result["server_env"] = args.server_env
    result["total_s"] = round(time.perf_counter() - started, 1)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result))
    sys.exit(0 if result["errors"] == 0 and result["dropped_messages"] == 0 else 1)


if __name__ == "__main__":
    main()
