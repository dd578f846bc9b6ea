"""How fast do a run's events get from the worker to a browser's WebSocket?

    .venv/bin/python bench/stream.py [--rate 2500] [--seconds 5] [--redis redis://127.0.0.1:6379/0]

Starts daphne (the real ASGI app and consumer) as a subprocess with the Redis channel layer and a
scratch SQLite database, opens a WebSocket to a run like a browser does, and runs the worker-side
path in another subprocess: the task's own ``EventSink`` (stores each batch with
``bulk_create``, then publishes it with ``RunEventPublisher`` through channels-redis), fed with
the model's real events (memory maps included) at ``--rate`` events/s. Each event carries the
wall time it was produced; the client notes when it arrives.

Prints one JSON object: events/s sustained (events received / time from the first produced to
the last received), p50/p99/max latency in ms, the batch settings, and the targets.
Needs a Redis server (REDIS_URL or --redis); ends everything it started, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loopback import free_port  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def publish(run_id: int, rate: float, seconds: float) -> None:
    """The worker side (a subprocess): produce events at ``rate`` and stream them."""
    import django

    django.setup()
    from django.conf import settings

    from playground.anatomy import runner as simulation
    from playground.anatomy.models import RunEvent
    from playground.runs.models import group_name_for
    from playground.runs.pipeline import EventSink
    from playground.runs.publisher import RunEventPublisher

    template = [
        e
        for e in simulation.events_for(
            {
                "memory": "4GiB",
                "workload": "oltp",
                "bandwidth": "10Gbit/s",
                "policy": "qemu",
                "resolution": "fluid",
                "seed": 1,
            }
        )
        if e["kind"] != "summary"
    ]
    sink = EventSink(
        RunEvent,
        run_id,
        RunEventPublisher(group_name_for("run", run_id)),
        batch_size=settings.PLAYGROUND_PUBLISH_BATCH_SIZE,
        interval_s=settings.PLAYGROUND_PUBLISH_INTERVAL_S,
    )
    total = int(rate * seconds)
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        event = dict(template[n % len(template)])
        event["bench_produced_at"] = time.time()
        sink.add(event)
        # the real task flushes on size or age; while idle between events, age counts too
        if sink.pending and time.monotonic() - sink.last_flush >= sink.interval_s:
            sink.flush()
    sink.flush()
    sink.publisher.status("done")


async def listen(url: str, origin: str, expected: int, timeout: float, cookie: str = ""):
    import websockets

    latencies, last, first_produced = [], 0.0, float("inf")
    headers = {"Cookie": cookie} if cookie else {}
    async with websockets.connect(
        url, origin=origin, max_size=None, additional_headers=headers
    ) as ws:
        time.time()
        while len(latencies) < expected:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            now = time.time()
            if message["type"] == "events":
                for event in message["events"]:
                    latencies.append(now - event["bench_produced_at"])
                    first_produced = min(first_produced, event["bench_produced_at"])
                last = now
    return latencies, last, first_produced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2500, help="events/s offered (default 2500)")
    parser.add_argument("--seconds", type=float, default=5, help="how long (default 5)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--publish", type=int, help=argparse.SUPPRESS)  # the worker subprocess
    args = parser.parse_args()

    if args.publish:
        publish(args.publish, args.rate, args.seconds)
        return

    import redis

    redis.Redis.from_url(args.redis, socket_connect_timeout=2).ping()
    workdir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PLAYGROUND_MODE", "DATABASE_URL", "DJANGO_SECRET_KEY")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "REDIS_URL": args.redis,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "PLAYGROUND_VAR_DIR": str(workdir / "var"),
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.update(env)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from playground.accounts.access import VISITOR_SESSION_KEY
    from playground.anatomy.models import Run

    # the viewer is the run's owner: an anonymous visitor whose session holds its key
    session = SessionStore()
    session[VISITOR_SESSION_KEY] = "bench-stream"
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    run = Run.objects.create(
        params={"memory": "4GiB"}, status="running", visitor_key="bench-stream"
    )
    port = free_port()
    daphne = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "playground.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    publisher = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        expected = int(args.rate * args.seconds)
        url = f"ws://127.0.0.1:{port}/ws/runs/{run.pk}/"

        async def both():
            listener = asyncio.create_task(
                listen(url, f"http://127.0.0.1:{port}", expected, timeout=30, cookie=cookie)
            )
            await asyncio.sleep(0.5)  # connected and subscribed before the first event
            nonlocal publisher
            publisher = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--publish",
                str(run.pk),
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
                cwd=ROOT,
                env=env,
            )
            latencies, last, first_produced = await listener
            await publisher.wait()
            return latencies, last, first_produced

        latencies, last, first_produced = asyncio.run(both())
        latencies_ms = sorted(x * 1000 for x in latencies)
        window = last - first_produced  # first event produced to last event received
        from django.conf import settings

        print(
            json.dumps(
                {
                    "events": len(latencies),
                    "offered_events_per_s": args.rate,
                    "events_per_s": round(len(latencies) / window, 1),
                    "window_s": round(window, 3),
                    "latency_ms": {
                        "p50": round(statistics.median(latencies_ms), 2),
                        "p99": round(latencies_ms[int(0.99 * (len(latencies_ms) - 1))], 2),
                        "max": round(latencies_ms[-1], 2),
                    },
                    "path": "worker subprocess (EventSink: bulk_create + RunEventPublisher) -> "
                    "channels-redis -> daphne RunEventsConsumer -> WebSocket client",
                    "batch": {
                        "max_events": settings.PLAYGROUND_PUBLISH_BATCH_SIZE,
                        "max_age_s": settings.PLAYGROUND_PUBLISH_INTERVAL_S,
                    },
                    "targets": {"events_per_s": ">= 2000", "p99_ms": "< 100"},
                }
            )
        )
    finally:
        for proc in (daphne,):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
