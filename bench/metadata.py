"""Can one daphne process hold 500 guests' hanging GETs, and how fast does it release them?

    .venv/bin/python bench/metadata.py [--clients 500] [--hosts 10] [--hold 3] [--deadline 120]

Starts daphne (embedded mode, a scratch var dir) on 127.0.0.1, creates a rehearsal of
``--clients`` VMs on ``--hosts`` hosts with no maintenance, reads each VM's
``maintenance-event`` once (its ETag), then opens one hanging GET per VM
(``wait_for_change=true&last_etag=...&timeout_sec=60``), each on its own connection, from one
asyncio client (raw HTTP/1.1 on sockets: standard library only). When the server reports all of
them waiting (``events.json``), it holds them ``--hold`` seconds, then calls
``simulateMaintenanceEvent`` once per host: every VM of that host gets its notice at once
(they all polled), so every hanging GET must come back with ``MIGRATE_ON_HOST_MAINTENANCE``
and a new ETag. Release latency = from just before the host's simulateMaintenanceEvent request
is sent to the arrival of a VM's answer.

Prints one JSON object: clients, held (as counted by the server), errors (non-200, wrong
value, same ETag, early or missing answers), release p50/p99/max in ms, the server's thread
count and RSS while holding, wall seconds. Bounded by ``--deadline``; ends daphne by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from loopback import dechunk, free_port  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)


async def http(
    url: str,
    method: str = "GET",
    body: bytes = b"",
    headers: dict | None = None,
    timeout: float = 90,
) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on its own connection (Connection: close)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), 10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if "chunked" in found.get("transfer-encoding", ""):
        payload = dechunk(payload)
    return status, found, payload


def server_stats(pid: int) -> dict:
    stats = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                stats["threads"] = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                stats["rss_mib"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return stats


def scenario(clients: int, hosts: int) -> dict:
    per_host = -(-clients // hosts)
    vm_list = [
        {
            "name": f"vm-{i:04d}",
            "host": f"r1-h{i % hosts + 1}",
            "memory": "1GiB",
            "workload": "idle",
        }
        for i in range(clients)
    ]
    return {
        "name": "bench-metadata",
        "seed": 1,
        "fleet": {
            "zone": "zone-b",
            "racks": [{"name": "r", "count": 1, "hosts": hosts + 2}],
            "host": {"vcpus": 4 * per_host, "memory": f"{4 * per_host}GiB", "nic": "10Gbit/s"},
            "vm_list": vm_list,
        },
        "events": [{"kind": "kernel_upgrade", "scope": {"hosts": ["r1-h1"]}}],
    }


async def bench(base: str, args, pid: int) -> dict:
    status, _, body = await http(
        base + "/rehearsals/new.json",
        "POST",
        json.dumps(
            {"speed": 1, "start_events": False, "scenario": scenario(args.clients, args.hosts)}
        ).encode(),
        {"Content-Type": "application/json"},
    )
    if status != 201:
        raise SystemExit(f"could not create the rehearsal: HTTP {status} {body[:300]!r}")
    created = json.loads(body)
    vms = created["vms"]
    flavor = {"Metadata-Flavor": "Google"}
    path = "computeMetadata/v1/instance/maintenance-event"

    etags = {}
    for name, vm_base in vms.items():  # one plain read each: the ETag (and a poll: 60 s notice)
        status, headers, _ = await http(vm_base + path, headers=flavor)
        etags[name] = headers.get("etag") if status == 200 else None

    errors: list[str] = []
    arrived: dict[str, tuple[float, int, str, str]] = {}
    trigger_at: float | None = None

    async def hang(name: str) -> None:
        url = f"{vms[name]}{path}?wait_for_change=true&last_etag={etags[name]}&timeout_sec=60"
        try:
            status, headers, payload = await http(url, headers=flavor, timeout=90)
        except Exception as error:  # noqa: BLE001 - counted, reported
            errors.append(f"{name}: {type(error).__name__}: {error}")
            return
        arrived[name] = (time.perf_counter(), status, payload.decode(), headers.get("etag", ""))

    opened = time.perf_counter()
    tasks = [asyncio.create_task(hang(name)) for name in vms]
    held, stats = 0, {}
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        status, _, body = await http(created["events"])
        held = json.loads(body)["waiting"] if status == 200 else 0
        if held >= len(vms):
            break
        await asyncio.sleep(0.1)
    all_held_s = time.perf_counter() - opened
    await asyncio.sleep(args.hold)
    stats = server_stats(pid)
    early = len(arrived)  # nothing changed yet: any answer now came back too early

    host_of = {}
    for name in vms:
        host_of[name] = f"r1-h{int(name.split('-')[1]) % args.hosts + 1}"
    first_of_host = {}
    for name, host in host_of.items():
        first_of_host.setdefault(host, name)
    triggered: dict[str, float] = {}
    for host, name in first_of_host.items():
        trigger_at = time.perf_counter()
        status, _, body = await http(
            f"{created['compute']}projects/bench/zones/zone-b/instances/{name}"
            "/simulateMaintenanceEvent",
            "POST",
        )
        if status != 200:
            errors.append(f"simulateMaintenanceEvent {name}: HTTP {status} {body[:200]!r}")
        triggered[host] = trigger_at
    await asyncio.wait(tasks, timeout=30)

    latencies = []
    for name in vms:
        if name not in arrived:
            errors.append(f"{name}: no answer")
            continue
        at, status, value, etag = arrived[name]
        if status != 200 or value != "MIGRATE_ON_HOST_MAINTENANCE" or etag == etags[name]:
            errors.append(
                f"{name}: HTTP {status} {value!r} etag {'unchanged' if etag == etags[name] else 'new'}"
            )
            continue
        latencies.append((at - triggered[host_of[name]]) * 1000)
    for task in tasks:
        task.cancel()
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "clients": len(vms),
        "held": held,
        "all_held_after_s": round(all_held_s, 2),
        "held_for_s": args.hold,
        "early_answers": early,
        "released": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "release_p50_ms": pct(0.50),
        "release_p99_ms": pct(0.99),
        "release_max_ms": pct(1.0),
        "release_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "server_threads_while_holding": stats.get("threads"),
        "server_rss_mib_while_holding": stats.get("rss_mib"),
        "simulate_calls": len(first_of_host),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--hold", type=float, default=3.0, help="seconds to hold them all")
    parser.add_argument("--deadline", type=float, default=120.0, help="give up after (s)")
    parser.add_argument(
        "--all-async-middleware",
        action="store_true",
        help="compare: drop WhiteNoise (sync-only) so Django's chain stays async "
        "(a settings module in the scratch dir; static files are then not served)",
    )
    args = parser.parse_args()
    if not 1 <= args.hosts <= 20:
        raise SystemExit("--hosts: 1..20 (one simulateMaintenanceEvent per host; 20 per minute)")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.clients + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # daphne inherits it

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PLAYGROUND_MODE", "DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY")
        }
        env.update(
            {
                "PLAYGROUND_VAR_DIR": tmp,
                "DJANGO_SETTINGS_MODULE": "playground.settings",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if args.all_async_middleware:
            (Path(tmp) / "bench_async_settings.py").write_text(
                "from playground.settings import *  # noqa\n"
                "MIDDLEWARE = [m for m in MIDDLEWARE if 'whitenoise' not in m]\n"
            )
            env["DJANGO_SETTINGS_MODULE"] = "bench_async_settings"
            env["PYTHONPATH"] = os.pathsep.join(
                [tmp, str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
            )
        port = free_port()
        log = open(Path(tmp) / "daphne.log", "wb")  # noqa: SIM115 - closed after the server stops
        proc = subprocess.Popen(
            [
                str(PYTHON.parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "-v",
                "0",
                "playground.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for _ in range(300):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if proc.poll() is not None:
                    raise SystemExit("daphne exited early")
                time.sleep(0.1)
            result = asyncio.run(
                asyncio.wait_for(bench(f"http://127.0.0.1:{port}", args, proc.pid), args.deadline)
            )
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            log.close()
    result["middleware"] = (
        "all async (no WhiteNoise)" if args.all_async_middleware else "as configured"
    )
    result["wall_s"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
