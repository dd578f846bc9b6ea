"""A 16-member sweep on 1, 2 and 4 Celery workers: how much faster does the heat map complete
with more workers, and what do the database and Redis see? Against the production-mode server.

    .venv/bin/python bench/sweep.py [--workers 1,2,4] [--preset gce-calibrated]
                                    [--x-param P --x-values V --y-param P --y-values V]
                                    [--redis-db 9] [--logs DIR] [--deadline 900]

Needs ``DATABASE_URL=postgres://...`` (a role that may create databases: a scratch one is made
next to it and dropped at the end) and ``REDIS_URL`` (database ``--redis-db`` of it, flushed
first). It deploys the way docs/deploy.md says: ``deploy/serve release``, ``deploy/serve web``
(daphne on 127.0.0.1, plain HTTP), then for each worker count N: ``deploy/serve worker
sweepK`` N times (``WORKER_CONCURRENCY=1``: one pool process each, one task at a time), waits
until every one says it is ready, and, like a browser:

1. posts the sweep form of a fleet made from ``--preset`` (made once, through the preset
   button): a two-parameter grid, 4 x 4 values by default (16 fleet runs, one Celery task each);
2. polls the sweep's ``results.json`` (what the heat map draws) every 0.5 s until it says
   ``complete``. ``seconds`` runs from the POST to that answer;
3. stops the workers (SIGTERM: a warm shutdown, they are idle by then).

Prints one JSON line per worker count (the round's details), then ONE JSON object as the last
line: ``{"seconds": {"1": s, "2": s, "4": s}, "speedup": {"2": x, "4": x}, ...}`` (speedup:
the 1-worker seconds over N workers' seconds), with the machine's cores and load average.

A round's details: members done (every one must be), the spread of one member's seconds
(claimed to done), how many distinct pool processes took members (every worker should),
tasks sent twice by the reaper (a member queued longer than ``PLAYGROUND_REQUEUE_AFTER_S``);
CPU seconds of the workers (with their pool processes), of daphne, of the PostgreSQL cluster
(every process of it: other users' too) and of Redis (its ``INFO``), and the machine's busy
CPU share; PostgreSQL's transactions, rows written and database growth
(``pg_stat_database``) and Redis's commands, each per member and per second. The load average
before and after: on a shared machine the speedup is only as good as the idle cores.

Exit status 1 if a member of any round did not end ``done``. Ends every process it started, by
PID.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from loopback import (  # bench/ is on sys.path when a script here runs
    create_services,
    database_url,
    drop_database,
    free_port,
)

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "deploy" / "serve"
TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
POLL_S = 0.5  # often enough for a round of tens of seconds; cheap for daphne

# the default grid: 16 members of the gce-calibrated preset (3,072 VMs each: a few seconds of
# one core per member)
SWEEP = {
    "x_param": "policy.downtime_limit",
    "x_values": "30ms, 60ms, 120ms, 300ms",
    "y_param": "network.migration_share",
    "y_values": "0.25, 0.5, 0.75, 1.0",
    "metric": "blackout_p99_s",
}


# --- a browser, just enough of one ----------------------------------------------------------------


class Browser:
    """Cookies, the CSRF token, form posts, JSON gets."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post_form(self, path: str, data: dict) -> str:
        """POST like the page's form does; returns the path it redirected to."""
        _, html = self.get("/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + "/"}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
                return urlparse(response.geturl()).path
        except urllib.error.HTTPError as error:
            raise SystemExit(f"POST {path}: {error.code}\n{error.read().decode()[:2000]}") from None


# --- what the machine, PostgreSQL and Redis spent -----------------------------------------------


def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def machine_busy_seconds() -> float:
    """CPU seconds this machine spent busy (all CPUs, everything on it), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / TICK


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(_stat_fields(stat.parent.name)[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (a worker's pool processes)."""
    total = 0.0
    for p in [pid, *children(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(p)
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def postgres_cpu_seconds() -> float | None:
    """CPU of every PostgreSQL process on this machine, with the backends that exited (counted
    in the postmaster's children's time): the whole cluster's, other users' included. None when
    /proc does not show them (another user's processes, hidden)."""
    total, seen = 0.0, False
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if comm.read_text().strip() != "postgres":
                continue
            fields = _stat_fields(comm.parent.name)
            total += sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime
            seen = True
    return total if seen else None


def pg_counters(conn, dbname: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, pg_database_size(datname) "
        "FROM pg_stat_database WHERE datname = %s",
        (dbname,),
    ).fetchone()
    return dict(
        zip(("commits", "rows_inserted", "rows_updated", "rows_deleted", "bytes"), row, strict=True)
    )


def redis_counters(client) -> dict[str, float]:
    stats, cpu = client.info("stats"), client.info("cpu")
    return {
        "commands": stats["total_commands_processed"],
        "cpu_s": cpu["used_cpu_user"] + cpu["used_cpu_sys"],
    }


# --- the deployment ---------------------------------------------------------------------------


class Deployment:
    """deploy/serve release and web once; workers per round; a scratch PostgreSQL database."""

    def __init__(self, args, workdir: Path):
        database_url = os.environ.get("DATABASE_URL", "")
        redis_url = os.environ.get("REDIS_URL", "")
        if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
            raise SystemExit("bench/sweep.py needs DATABASE_URL=postgres://... and REDIS_URL")
        self.admin_url = database_url
        self.dbname = f"playground_sweep_{uuid.uuid4().hex[:8]}"
        self.redis_url = urlunparse(urlparse(redis_url)._replace(path=f"/{args.redis_db}"))
        self.port = free_port()
        self.workdir = workdir
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DJANGO_"))}
        env.update(
            {
                "PLAYGROUND_MODE": "production",
                "DJANGO_SECRET_KEY": "sweep-" + uuid.uuid4().hex,
                "DATABASE_URL": self.db_url(self.dbname),
                "REDIS_URL": self.redis_url,
                "PLAYGROUND_STATIC_ROOT": str(workdir / "static"),
                "PLAYGROUND_VAR_DIR": str(workdir / "var"),
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WORKER_CONCURRENCY": "1",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
                "PLAYGROUND_SWEEPS_PER_HOUR": "1000",  # this bench starts a few
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(dict(kv.split("=", 1) for kv in args.server_env))
        self.env = env

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def db_url(self, name: str) -> str:
        return database_url(self.admin_url, name)

    def _spawn(self, name: str, *argv: str) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs.append(log)
        return subprocess.Popen(
            [str(SERVE), *argv],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def __enter__(self):
        try:
            create_services(
                self.admin_url, self.dbname, self.redis_url, self.env, self.workdir, 300
            )
            self.web = self._spawn("web", "web")
            deadline = time.monotonic() + 120
            while True:
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(self.base + "/healthz", timeout=5),
                ):
                    break
                if time.monotonic() > deadline or self.web.poll() is not None:
                    raise SystemExit(f"daphne did not start: see {self.workdir / 'web.log'}")
                time.sleep(0.2)
        except BaseException:
            self.__exit__()
            raise
        return self

    def start_workers(self, count: int, round_no: int, timeout: float = 180) -> None:
        """``deploy/serve worker NAME`` ``count`` times; back when each logged that it is
        ready (connected to Redis, its pool process forked)."""
        names = [f"sweep{k}" for k in range(1, count + 1)]
        logs = []
        for name in names:
            self.workers.append(self._spawn(f"{name}-round{round_no}", "worker", name))
            logs.append(self.logs[-1])
        deadline = time.monotonic() + timeout
        for name, log, proc in zip(names, logs, self.workers, strict=True):
            while f"{name}@" not in log.read_text(errors="replace") or " ready." not in (
                log.read_text(errors="replace")
            ):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"worker {name} did not start: see {log}")
                time.sleep(0.2)

    def stop_workers(self) -> None:
        _stop_all(self.workers)
        self.workers = []

    def __exit__(self, *exc):
        _stop_all([*self.workers, *([self.web] if self.web else [])])
        self.workers, self.web = [], None

        drop_database(self.admin_url, self.dbname)


def _stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --- one round --------------------------------------------------------------------------------


def members(conn, sweep_id: int) -> list[tuple]:
    return conn.execute(
        "SELECT status, attempts, worker, extract(epoch FROM finished - started) "
        "FROM playground_fleetrun WHERE sweep_id = %s ORDER BY id",
        (sweep_id,),
    ).fetchall()


def one_round(server: Deployment, browser: Browser, fleet_path: str, sweep: dict, n: int, args):
    import psycopg
    import redis

    server.start_workers(n, round_no=n)
    workers_cpu0 = sum(cpu_seconds(w.pid) for w in server.workers)  # their start: not counted
    log_marks = {log: log.stat().st_size for log in server.logs if log.exists()}
    db = psycopg.connect(server.db_url(server.dbname), autocommit=True)
    admin = psycopg.connect(server.db_url("postgres"), autocommit=True)
    broker = redis.Redis.from_url(server.redis_url)
    load_before = os.getloadavg()
    pg0, redis0 = pg_counters(admin, server.dbname), redis_counters(broker)
    pg_cpu0, busy0 = postgres_cpu_seconds(), machine_busy_seconds()
    web_cpu0 = cpu_seconds(server.web.pid)

    started = time.perf_counter()
    sweep_path = browser.post_form(fleet_path + "sweep/", sweep)
    if not re.fullmatch(r"/fleets/sweeps/\d+/", sweep_path):
        raise SystemExit(f"the sweep form did not start a sweep: {sweep_path}")
    while True:
        status, body = browser.get(sweep_path + "results.json")
        results = json.loads(body)
        if status == 200 and results["complete"]:
            break
        if time.perf_counter() - started > args.deadline:
            raise SystemExit(f"{n} worker(s): the sweep did not complete in {args.deadline} s")
        time.sleep(POLL_S)
    seconds = time.perf_counter() - started

    workers_cpu = sum(cpu_seconds(w.pid) for w in server.workers) - workers_cpu0
    web_cpu = cpu_seconds(server.web.pid) - web_cpu0
    pg_cpu1, busy1 = postgres_cpu_seconds(), machine_busy_seconds()
    pg1, redis1 = pg_counters(admin, server.dbname), redis_counters(broker)
    load_after = os.getloadavg()
    sweep_id = int(sweep_path.rstrip("/").rsplit("/", 1)[1])
    rows = members(db, sweep_id)
    db.close()
    admin.close()
    server.stop_workers()

    logs = "".join(
        log.read_bytes()[log_marks.get(log, 0) :].decode(errors="replace") for log in server.logs
    )
    count = len(rows)
    member_s = sorted(float(r[3]) for r in rows if r[3] is not None)
    pg = {k: pg1[k] - pg0[k] for k in pg0}
    commands = redis1["commands"] - redis0["commands"]
    return {
        "workers": n,
        "seconds": round(seconds, 2),
        "members": count,
        "members_done": sum(1 for r in rows if r[0] == "done"),
        "attempts": sum(r[1] for r in rows),
        "pool_processes_used": len({r[2] for r in rows}),
        "tasks_sent_again": logs.count("queued too long; task sent again"),
        "member_seconds": {
            "min": round(member_s[0], 2),
            "median": round(member_s[len(member_s) // 2], 2),
            "max": round(member_s[-1], 2),
            "sum": round(sum(member_s), 1),
        },
        "cpu_s": {
            "workers": round(workers_cpu, 1),
            "daphne": round(web_cpu, 1),
            "postgres_cluster": None if pg_cpu0 is None else round(pg_cpu1 - pg_cpu0, 1),
            "redis": round(redis1["cpu_s"] - redis0["cpu_s"], 2),
        },
        "machine_busy_share": round((busy1 - busy0) / (seconds * CORES), 2),
        "postgres": {
            **pg,
            "commits_per_member": round(pg["commits"] / count),
            "rows_written_per_member": round(
                (pg["rows_inserted"] + pg["rows_updated"] + pg["rows_deleted"]) / count
            ),
            "commits_per_s": round(pg["commits"] / seconds, 1),
            "rows_written_per_s": round(
                (pg["rows_inserted"] + pg["rows_updated"] + pg["rows_deleted"]) / seconds
            ),
        },
        "redis": {
            "commands": commands,
            "commands_per_member": round(commands / count),
            "commands_per_s": round(commands / seconds, 1),
        },
        "loadavg_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, in order (1,2,4)")
    parser.add_argument("--preset", default="gce-calibrated", help="the fleet every member runs")
    for axis in ("x", "y"):
        parser.add_argument(f"--{axis}-param", default=SWEEP[f"{axis}_param"])
        parser.add_argument(f"--{axis}-values", default=SWEEP[f"{axis}_values"])
    parser.add_argument("--metric", default=SWEEP["metric"])
    parser.add_argument(
        "--redis-db", type=int, default=9, help="Redis database of the server (flushed first)"
    )
    parser.add_argument(
        "--deadline", type=float, default=900, help="give up on a round after this (seconds)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the deployed server (repeatable)",
    )
    parser.add_argument("--logs", metavar="DIR", help="keep the server's logs in DIR")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    sweep = {
        "x_param": args.x_param,
        "x_values": args.x_values,
        "y_param": args.y_param,
        "y_values": args.y_values,
        "metric": args.metric,
    }

    started = time.perf_counter()
    rounds: dict[int, dict] = {}
    with contextlib.ExitStack() as stack:
        if args.logs:
            workdir = Path(args.logs)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sweep-")))
        server = stack.enter_context(Deployment(args, workdir))
        browser = Browser(server.base)
        fleet_path = browser.post_form("/fleets/from-preset/", {"preset": args.preset})
        if not re.fullmatch(r"/fleets/\d+/", fleet_path):
            raise SystemExit(f"the preset button did not make a fleet: {fleet_path}")
        for n in counts:
            rounds[n] = one_round(server, browser, fleet_path, sweep, n, args)
            print(json.dumps(rounds[n]), flush=True)

    base = rounds.get(1)
    result = {
        "seconds": {str(n): r["seconds"] for n, r in rounds.items()},
        "speedup": {
            str(n): round(base["seconds"] / r["seconds"], 2)
            for n, r in rounds.items()
            if base is not None and n != 1
        },
        "members": base["members"] if base else None,
        "preset": args.preset,
        "cores": CORES,
        "loadavg_1m_before": {str(n): r["loadavg_1m"]["before"] for n, r in rounds.items()},
        "all_members_done": all(r["members_done"] == r["members"] for r in rounds.values()),
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))
    sys.exit(0 if result["all_members_done"] else 1)


if __name__ == "__main__":
    main()
