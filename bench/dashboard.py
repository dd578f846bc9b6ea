"""What does a viewer of a big fleet run receive? Messages and bytes per second, and how soon.

    .venv/bin/python bench/dashboard.py [--preset heartbleed] [--redis redis://127.0.0.1:6379/0]

Starts daphne (the real ASGI app and the fleet consumer) as a subprocess with a scratch
database, creates a fleet run of the preset (with its plan, as the plan page does), opens a
WebSocket to it like the run page does, then runs the worker side in another subprocess: the
task's own service (``pipeline.execute_run``: the engine, the frames, storing and
publishing them). Embedded mode (SQLite channel layer) unless ``--redis`` or REDIS_URL.

Prints one JSON object: messages and bytes received by the viewer (in all, per second on
average and in the busiest second), frames, the time from the run's start (the worker's claim)
to the first message, and to the first chart update (first message + the page's playback of the
first frame at the run's default speed + one redraw interval). Targets: < 50 messages/s per
viewer, first update < 2 s. Ends everything it started, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loopback import free_port  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REDRAW_S = 0.25  # static/js/fleet.js redraws at most every 250 ms


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("daphne exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def create_run(preset: str) -> tuple[int, float, str, str]:
    """The run (a signed-in viewer's: the consumer lets only its owner watch), its bucket and
    speed, and the viewer's session cookie."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from migrationsim.fleet.plan import plan as plan_of
    from migrationsim.fleet.text import preset_scenario
    from playground.accounts.access import Visitor
    from playground.fleets import services as fleet_services
    from playground.fleets.run_views import _speed_for

    user = get_user_model().objects.create_user("viewer", password="bench-viewer-password-1")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    scenario = preset_scenario(preset)
    plan = plan_of(scenario)
    run = fleet_services.start_run(
        scenario=scenario, plan=plan, queue=False, visitor=Visitor(user.pk, username="viewer")
    )
    return run.pk, run.bucket_s, _speed_for(run), cookie


async def listen(url: str, origin: str, timeout: float, cookie: str):
    import websockets

    arrivals = []  # (wall time, bytes, frames)
    async with websockets.connect(
        url, origin=origin, max_size=None, additional_headers={"Cookie": cookie}
    ) as ws:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.time()))
            except TimeoutError:
                break
            msg = json.loads(raw)
            arrivals.append(
                (
                    time.time(),
                    len(raw.encode() if isinstance(raw, str) else raw),
                    len(msg.get("events", [])),
                    msg,
                )
            )
            if msg.get("type") == "status" and msg.get("status") in ("done", "failed"):
                break
    return arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="heartbleed")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PLAYGROUND_MODE", "DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY")
    }
    env.update(
        PLAYGROUND_VAR_DIR=str(tmp / "var"),
        DJANGO_SETTINGS_MODULE="playground.settings",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    if args.redis:
        env["REDIS_URL"] = args.redis
    os.environ.update(env)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    run_id, bucket_s, speed, cookie = create_run(args.preset)

    port = free_port()
    log = (tmp / "daphne.log").open("wb")
    daphne = subprocess.Popen(
        [
            str(Path(python).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "playground.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        wait_for_port(port, daphne)

        async def run():
            nonlocal worker
            listener = asyncio.create_task(
                listen(
                    f"ws://127.0.0.1:{port}/ws/fleet-runs/{run_id}/",
                    f"http://127.0.0.1:{port}",
                    args.timeout,
                    cookie,
                )
            )
            await asyncio.sleep(1.0)  # the viewer is connected and has the (empty) replay
            code = (
                "import django; django.setup(); from playground.runs.pipeline import execute_run; "
                f"execute_run(kind='fleet', run_id={run_id})"
            )
            worker = subprocess.Popen(
                [python, "-c", code], cwd=ROOT, env=env, start_new_session=True
            )
            return await listener

        arrivals = asyncio.run(run())
        worker.wait(timeout=args.timeout)
    finally:
        if worker is not None:
            stop(worker)
        stop(daphne)

    import django  # noqa: F401  (set up in create_run)

    from playground.fleets.models import FleetRun

    run = FleetRun.objects.get(pk=run_id)
    started = run.started.timestamp()
    frames = [a for a in arrivals if a[3].get("type") == "events"]
    if not frames:
        print(
            json.dumps({"error": "no frames arrived", "status": run.status, "run_error": run.error})
        )
        sys.exit(1)
    first, last = frames[0][0], arrivals[-1][0]
    span = max(last - started, 1e-9)
    per_second: dict[int, int] = {}
    bytes_per_second: dict[int, int] = {}
    for t, size, _, _ in arrivals:
        per_second[int(t - started)] = per_second.get(int(t - started), 0) + 1
        bytes_per_second[int(t - started)] = bytes_per_second.get(int(t - started), 0) + size
    first_frame_t = frames[0][3]["events"][0]["t_s"]
    playback_s = 0.0 if speed == "max" else first_frame_t / float(speed)
    summary = run.summary or {}
    print(
        json.dumps(
            {
                "preset": args.preset,
                "vms": summary.get("vms"),
                "status": run.status,
                "channel_layer": "redis" if args.redis else "sqlite (embedded)",
                "engine_and_publish_s": round(run.finished.timestamp() - started, 2),
                "messages": len(arrivals),
                "frame_messages": len(frames),
                "frames": sum(a[2] for a in frames),
                "bytes": sum(a[1] for a in arrivals),
                "messages_per_s_avg": round(len(arrivals) / span, 2),
                "messages_per_s_peak": max(per_second.values()),
                "bytes_per_s_avg": round(sum(a[1] for a in arrivals) / span),
                "bytes_per_s_peak": max(bytes_per_second.values()),
                "largest_message_bytes": max(a[1] for a in arrivals),
                "first_message_s": round(first - started, 3),
                "first_chart_update_s": round(first - started + playback_s + REDRAW_S, 3),
                "bucket_s": bucket_s,
                "playback_speed": speed,
                "targets": {"messages_per_s": "< 50", "first_chart_update_s": "< 2"},
            }
        )
    )


if __name__ == "__main__":
    main()
