"""A hostile mix while 20 visitors load pages: is every attack answered fast and bounded, and do
the visitors notice? Issue 13's acceptance.

    .venv/bin/python bench/abuse.py [--url URL] [--server-pid PID] [--preset heartbleed]
                                    [--visitors 20] [--logs DIR]

Without ``--url`` it deploys the embedded server itself, as a user would: ``./run`` (SQLite,
the filesystem broker, daphne and a Celery worker with 2 processes) with
``PLAYGROUND_NO_INSTALL=1``, a scratch ``PLAYGROUND_VAR_DIR`` and a free ``PORT`` on 127.0.0.1
(``./run`` migrates and loads the presets first), and stops it at the end with SIGTERM to
``./run`` (which must stop daphne and the worker: what is left after 15 s is killed, and said).
With ``--url`` it uses your server (``--server-pid``: daphne's PID, for its RSS).

Setup (not measured): the owner (an anonymous session) makes a ``--preset`` fleet, waits for the
worker's plan, approves it and waits for the run to end (heartbleed: 25,600 VMs, its event log
~80 MB); each visitor makes a ``demo`` fleet of its own (a fleet page is its owner's).

Then, at once, while the visitors loop over ``/``, ``/fleets/``, ``/runs/``, ``/fleets/runs/``
and their fleet's page:

- ``export events.jsonl #1..4``: four concurrent downloads of the large run's event log (time to
  the first byte; the whole download is read and its size and time reported);
- ``never-ending: ...``: a 2-VM scenario (qemu, ``completion_timeout`` 1e30 s, ``max_bandwidth``
  1 bit/s) imported as a paste, its plan page, approve (409 while the worker plans: polled,
  bounded), the run (waited for, bounded; not an HTTP answer, reported apart in
  ``never_ending_run``), its event-log export;
- ``deep JSON``: 100,000 nested ``[`` to ``POST /rehearsals/new.json``;
- ``alias bomb: ...``: a YAML billion-laughs as a fleet import paste and as a rehearsal scenario;
- ``oversized body``: 5 MiB to ``POST /rehearsals/new.json`` and to ``POST /fleets/import/``
  (the cap is 4 MiB);
- ``sign-ups x10``: 10 sign-ups from one address (expect 429 after the hourly limit), then
  ``wrong passwords x40``: 40 failed sign-ins for the first of those users (expect 429, the
  lockout, after django-axes' limit);
- ``rehearsals x25``: 25 ``POST /rehearsals/new.json`` (the demo preset) from one visitor.

A group of requests is one case: ``status`` is its last answer, ``seconds`` its slowest, and
``statuses`` counts them. Prints ONE JSON object as its last line: ``cases``, ``errors_5xx``
(every 5xx seen, visitors' pages included), ``rss_growth_mib`` (daphne's VmRSS, max during the
mix minus before), ``page_p99_s`` (the visitors' pages during the mix), ``targets`` (each one
met or not) and details; exits 1 when a target is missed. Bounded: every request has a
timeout, the large run ``--setup-timeout``, the mix ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from load import CSRF, PASSWORD, Browser, Response, Stats, children, location, pct
from loopback import free_port  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
MiB = 1024 * 1024

NEVER_ENDING = """\
name: never-ending
seed: 1
fleet:
  zone: abuse-zone
  host: {vcpus: 16, memory: 64GiB, nic: 10Gbit/s}
  racks:
    - {name: r, count: 1, hosts: 2}
  vms:
    per_host: 1
    memory: [4GiB, 4GiB]
    vcpus: [1, 1]
    mix: {web: 1.0}
policy: {name: qemu, completion_timeout: 1e30s, max_bandwidth: 1bit/s}
caps: {per_source_host: 1, per_target_host: 1}
events:
  - name: drain
    kind: kernel_upgrade
    scope: {racks: [r1]}
    max_hosts_in_maintenance: 1
    host_downtime: 10min
"""


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each anchor a list of ``width`` aliases of the one before
    (9 ** 9 = 387 million strings, expanded)."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    lines.append(f"fleet: *a{levels}")
    return "\n".join(lines) + "\n"


# --- requests that Browser (bench/load.py) does not make ----------------------------------------


class Mix:
    """What the hostile cases saw."""

    def __init__(self):
        self.cases: list[dict] = []
        self.errors_5xx = 0
        self.samples_5xx: list[str] = []
        self.notes: dict[str, object] = {}

    def answer(self, name: str, status: int | str, seconds: float, **extra) -> None:
        if isinstance(status, int) and status >= 500:
            self.errors_5xx += 1
            self.samples_5xx.append(f"{name}: {status}")
        self.cases.append({"name": name, "status": status, "seconds": round(seconds, 3), **extra})

    def group(self, name: str, answers: list[tuple[int, float]], **extra) -> None:
        statuses: dict[str, int] = {}
        slowest: dict[str, float] = {}
        for status, seconds in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            slowest[str(status)] = round(max(seconds, slowest.get(str(status), 0.0)), 3)
            if isinstance(status, int) and status >= 500:
                self.errors_5xx += 1
                self.samples_5xx.append(f"{name}: {status}")
        self.cases.append(
            {
                "name": name,
                "status": answers[-1][0] if answers else "none",
                "seconds": round(max(s for _, s in answers), 3) if answers else None,
                "statuses": statuses,
                "slowest_by_status": slowest,
                **extra,
            }
        )


async def raw_request(
    base: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict | None = None,
    cookies: str = "",
    timeout: float = 30,
    declared_length: int | None = None,
    keep_body: bool = True,
) -> tuple[int, float, int, float, bytes]:
    """One request on its own connection: (status, seconds to the first byte, bytes received,
    seconds to the last byte, the body when ``keep_body``). The answer may come before the
    body is all sent (a 413): sending stops at the first error and the answer is read."""
    parts = urlsplit(base)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: close",
        "User-Agent: bench-abuse",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    if cookies:
        lines.append(f"Cookie: {cookies}")
    if method == "POST":
        lines.append(
            f"Content-Length: {declared_length if declared_length is not None else len(body)}"
        )
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port), timeout
    )

    async def send():
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            for i in range(0, len(body), 256 * 1024):
                writer.write(body[i : i + 256 * 1024])
                await writer.drain()
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        first = await asyncio.wait_for(reader.read(65536), timeout)
        ttfb = time.perf_counter() - started
        received, kept = len(first), [first]
        while True:
            chunk = await asyncio.wait_for(reader.read(1 << 20), timeout)
            if not chunk:
                break
            received += len(chunk)
            if keep_body:
                kept.append(chunk)
        total = time.perf_counter() - started
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        writer.close()
    head, _, payload = b"".join(kept).partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n", 1)[0].split()[1]) if head.startswith(b"HTTP/") else 0
    return status, ttfb, received, total, payload


async def csrf_token(browser: Browser, page: str) -> str:
    match = CSRF.search((await browser.get(page)).text)
    return match.group(1) if match else browser.cookies.get("csrftoken", "")


async def post_form_timed(browser: Browser, form_page: str, action: str, data: dict) -> Response:
    """Browser.post_form, with the POST alone timed (``Response.seconds``)."""
    return await browser.request(
        "POST",
        action,
        form={"csrfmiddlewaretoken": await csrf_token(browser, form_page), **data},
        referer=form_page,
    )


# --- setup ------------------------------------------------------------------------------------


async def large_run(owner: Browser, preset: str, timeout: float) -> tuple[int, float]:
    """A ``preset`` fleet's run, done: (run id, seconds from the fleet to the run's end)."""
    started = time.monotonic()
    response = await owner.post_form("/fleets/", "/fleets/from-preset/", {"preset": preset})
    fleet_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/\d+/", fleet_path):
        raise SystemExit(f"could not create the {preset} fleet: HTTP {response.status}")
    deadline = started + timeout
    while 'id="approve"' not in (await owner.get(fleet_path + "plan/")).text:
        if time.monotonic() > deadline:
            raise SystemExit(f"the {preset} plan was not computed in {timeout:.0f} s")
        await asyncio.sleep(1.0)
    response = await owner.post_form(fleet_path + "plan/", fleet_path + "plan/", {})
    run_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/runs/\d+/", run_path):
        raise SystemExit(f"could not approve the {preset} plan: HTTP {response.status}")
    run_id = int(run_path.strip("/").rsplit("/", 1)[1])
    status = await run_end(owner, run_id, deadline)
    if status["status"] != "done":
        raise SystemExit(f"the {preset} run ended {status}")
    return run_id, time.monotonic() - started


async def run_end(browser: Browser, run_id: int, deadline: float) -> dict:
    """Poll the run's summary until it is done or failed, or the deadline: its status/error."""
    while True:
        response = await browser.get(f"/fleets/runs/{run_id}/summary.json")
        data = json.loads(response.body) if response.status == 200 else {}
        if data.get("status") in ("done", "failed") or time.monotonic() > deadline:
            return {
                "status": data.get("status", f"HTTP {response.status}"),
                "error": data.get("error", ""),
            }
        await asyncio.sleep(1.0)


# --- the visitors --------------------------------------------------------------------------------


async def visitor(
    browser: Browser, fleet_path: str, stop: asyncio.Event, mix: Mix, think_s: float
) -> None:
    pages = ["/", "/fleets/", "/runs/", "/fleets/runs/", fleet_path]
    i = 0
    while not stop.is_set():
        try:
            response = await browser.get(pages[i % len(pages)])
            if response.status >= 500:
                mix.errors_5xx += 1
                mix.samples_5xx.append(f"{browser.name}: {pages[i % len(pages)]}: 5xx")
        except Exception as exc:  # noqa: BLE001 - counted, reported
            browser.stats.error(f"{browser.name}: {type(exc).__name__}: {exc}")
        i += 1
        await asyncio.sleep(think_s)


# --- the hostile cases ---------------------------------------------------------------------------


async def export(base: str, owner: Browser, run_id: int, n: int, mix: Mix) -> None:
    status, ttfb, size, total, _ = await raw_request(
        base,
        "GET",
        f"/fleets/runs/{run_id}/events.jsonl",
        cookies=owner.cookie_header(),
        timeout=120,
        keep_body=False,
    )
    mix.answer(
        f"export events.jsonl #{n}",
        status,
        ttfb,
        download_mib=round(size / MiB, 1),
        download_s=round(total, 2),
    )


async def never_ending(base: str, owner: Browser, mix: Mix, deadline: float) -> None:
    response = await post_form_timed(owner, "/fleets/", "/fleets/import/", {"text": NEVER_ENDING})
    mix.answer("never-ending: import", response.status, response.seconds)
    fleet_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/\d+/", fleet_path):
        errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', response.text)
        mix.notes["never_ending_import_refused"] = [e.strip() for e in errors][:3]
        return
    plan = fleet_path + "plan/"
    response = await owner.get(plan)
    mix.answer("never-ending: plan page", response.status, response.seconds)
    token = await csrf_token(owner, plan)
    approvals: list[tuple[int, float]] = []
    while True:
        response = await owner.request(
            "POST", plan, form={"csrfmiddlewaretoken": token}, referer=plan
        )
        approvals.append((response.status, response.seconds))
        if response.status != 409 or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    mix.group("never-ending: approve", approvals)
    run_path = location(response)
    if response.status != 302 or not re.fullmatch(r"/fleets/runs/\d+/", run_path):
        mix.notes["never_ending_approve"] = re.sub(r"\s+", " ", response.text)[-600:]
        return
    run_id = int(run_path.strip("/").rsplit("/", 1)[1])
    started = time.monotonic()
    response = await owner.get(run_path)
    mix.answer("never-ending: run page", response.status, response.seconds)
    end = await run_end(owner, run_id, deadline)
    response = await owner.get(f"/fleets/runs/{run_id}/summary.json")
    summary = (json.loads(response.body).get("summary") or {}) if response.status == 200 else {}
    mix.notes["never_ending_run"] = {
        **end,
        "seconds": round(time.monotonic() - started, 2),
        "outcomes": {k: v for k, v in (summary.get("outcomes") or {}).items() if v},
        "unfinished_reasons": summary.get("unfinished_reasons"),
        "makespan_s": summary.get("makespan_s"),
    }
    status, ttfb, size, total, body = await raw_request(
        base, "GET", f"/fleets/runs/{run_id}/events.jsonl", cookies=owner.cookie_header()
    )
    mix.answer("never-ending: export events.jsonl", status, ttfb, download_bytes=size)


async def deep_json(base: str, mix: Mix) -> None:
    status, ttfb, _, _, body = await raw_request(
        base,
        "POST",
        "/rehearsals/new.json",
        body=b"[" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    mix.answer("deep JSON (100,000 [)", status, ttfb, said=body[:160].decode("utf-8", "replace"))


async def alias_bombs(base: str, stats: Stats, mix: Mix) -> None:
    bomb = alias_bomb()
    importer = Browser(base, stats, "bomber")
    response = await post_form_timed(importer, "/fleets/", "/fleets/import/", {"text": bomb})
    said = re.findall(r"alias[^<]{0,160}", response.text)
    mix.answer(
        "alias bomb: fleet import paste",
        response.status,
        response.seconds,
        said=said[0] if said else "",
    )


async def oversized(base: str, stats: Stats, mix: Mix) -> None:
    body = b"x" * (5 * MiB)
    status, ttfb, _, _, said = await raw_request(
        base,
        "POST",
        "/rehearsals/new.json",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    mix.answer(
        "oversized body 5 MiB: new.json", status, ttfb, said=said[:160].decode("utf-8", "replace")
    )
    browser = Browser(base, stats, "oversized")
    token = await csrf_token(browser, "/fleets/")
    form = urlencode({"csrfmiddlewaretoken": token, "text": "x" * (5 * MiB)}).encode()
    status, ttfb, _, _, _ = await raw_request(
        base,
        "POST",
        "/fleets/import/",
        body=form,
        cookies=browser.cookie_header(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": base,
            "Referer": base + "/fleets/",
        },
    )
    mix.answer("oversized body 5 MiB: fleet import", status, ttfb)


async def accounts(base: str, stats: Stats, mix: Mix, tag: str) -> None:
    """10 sign-ups from one address (each a fresh browser), then 40 wrong passwords for the
    first user made (a fresh browser each time, like a script)."""
    answers, made = [], []
    for i in range(10):
        browser = Browser(base, stats, f"signup {i}")
        name = f"abuse-{tag}-{i}"
        response = await post_form_timed(
            browser,
            "/accounts/signup/",
            "/accounts/signup/",
            {"username": name, "password1": PASSWORD, "password2": PASSWORD},
        )
        answers.append((response.status, response.seconds))
        if response.status == 302:
            made.append(name)
    mix.group("sign-ups x10 (one address)", answers, accounts_made=len(made))
    victim = made[0] if made else f"abuse-{tag}-nobody"
    answers = []
    for i in range(40):
        browser = Browser(base, stats, f"guesser {i}")
        response = await post_form_timed(
            browser,
            "/accounts/login/",
            "/accounts/login/",
            {"username": victim, "password": f"wrong-{i}"},
        )
        answers.append((response.status, response.seconds))
    first_429 = next((i + 1 for i, (s, _) in enumerate(answers) if s == 429), None)
    mix.group("wrong passwords x40 (one user)", answers, first_429_at=first_429)


async def rehearsals(base: str, mix: Mix) -> None:
    """The alias bomb as a rehearsal's scenario first (the room per visitor is checked before
    the body is read: after the 25 it would be a 429 unread), then 25 rehearsals."""
    status, ttfb, _, _, body = await raw_request(
        base,
        "POST",
        "/rehearsals/new.json",
        body=json.dumps({"scenario": alias_bomb()}).encode(),
        headers={"Content-Type": "application/json"},
    )
    mix.answer(
        "alias bomb: rehearsal scenario", status, ttfb, said=body[:200].decode("utf-8", "replace")
    )
    answers = []
    cookies = ""
    for _ in range(25):
        status, ttfb, _, _, _ = await raw_request(
            base,
            "POST",
            "/rehearsals/new.json",
            body=json.dumps({"preset": "demo", "speed": 10}).encode(),
            headers={"Content-Type": "application/json"},
            cookies=cookies,
        )
        answers.append((status, ttfb))
    mix.group("rehearsals x25 (one visitor)", answers)


# --- the server's memory -------------------------------------------------------------------------


def rss_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


async def sample_rss(pid: int, out: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        value = rss_mib(pid)
        if value is not None:
            out.append(value)
        await asyncio.sleep(0.1)


# --- one mix -------------------------------------------------------------------------------------


async def abuse(base: str, args, daphne_pid: int | None) -> dict:
    stats = Stats()  # the attacker's and the owner's requests (not the visitors' pages)
    seen = Stats()  # the visitors' pages
    mix = Mix()
    tag = uuid.uuid4().hex[:6]
    setup_started = time.monotonic()
    owner = Browser(base, stats, "owner")
    run_id, large_s = await large_run(owner, args.preset, args.setup_timeout)
    visitors = [Browser(base, seen, f"visitor {i}") for i in range(args.visitors)]
    fleet_paths = []
    for browser in visitors:
        response = await browser.post_form("/fleets/", "/fleets/from-preset/", {"preset": "demo"})
        fleet_paths.append(location(response) if response.status == 302 else "/fleets/")
    setup_s = time.monotonic() - setup_started
    # one download alone, nobody else busy: what one costs (first byte, daphne's memory)
    solo_rss: list[float] = []
    solo_stop = asyncio.Event()
    solo_before = rss_mib(daphne_pid) if daphne_pid else None
    solo_sampler = (
        asyncio.create_task(sample_rss(daphne_pid, solo_rss, solo_stop)) if daphne_pid else None
    )
    status, ttfb, size, total, _ = await raw_request(
        base,
        "GET",
        f"/fleets/runs/{run_id}/events.jsonl",
        cookies=owner.cookie_header(),
        timeout=120,
        keep_body=False,
    )
    solo_stop.set()
    if solo_sampler:
        await solo_sampler
    solo = {
        "status": status,
        "first_byte_s": round(ttfb, 3),
        "download_s": round(total, 2),
        "download_mib": round(size / MiB, 1),
        "rss_growth_mib": round(max(solo_rss) - solo_before, 1)
        if solo_rss and solo_before is not None
        else None,
    }
    await asyncio.sleep(2.0)

    stop = asyncio.Event()
    walkers = [
        asyncio.create_task(visitor(b, p, stop, mix, args.think))
        for b, p in zip(visitors, fleet_paths, strict=True)
    ]
    # the baseline: the visitors alone, what the machine gives them without the mix
    await asyncio.sleep(2.0)
    seen.measuring = True
    await asyncio.sleep(args.baseline)
    seen.measuring = False
    baseline = [s for values in seen.pages.values() for s in values]
    seen.pages.clear()
    rss: list[float] = []
    rss_before = rss_mib(daphne_pid) if daphne_pid else None
    sampler = asyncio.create_task(sample_rss(daphne_pid, rss, stop)) if daphne_pid else None
    load_before = round(os.getloadavg()[0], 2)
    seen.measuring = True
    started = time.monotonic()
    deadline = started + args.deadline
    cases = [
        *(export(base, owner, run_id, n + 1, mix) for n in range(args.exports)),
        never_ending(base, owner, mix, deadline),
        deep_json(base, mix),
        alias_bombs(base, stats, mix),
        oversized(base, stats, mix),
        accounts(base, stats, mix, tag),
        rehearsals(base, mix),
    ]
    tasks = [asyncio.create_task(c) for c in cases]
    done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    problems = [f"{type(t.exception()).__name__}: {t.exception()}" for t in done if t.exception()]
    if pending:
        problems.append(f"deadline: {len(pending)} cases still busy after {args.deadline} s")
    remaining = args.min_seconds - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    stop.set()
    await asyncio.gather(*walkers, return_exceptions=True)
    if sampler:
        await sampler
    mix_s = time.monotonic() - started
    seen.measuring = False

    pages = [s for values in seen.pages.values() for s in values]
    page_p99 = pct(pages, 99)
    rss_growth = round(max(rss) - rss_before, 1) if rss and rss_before is not None else None
    slow = [c["name"] for c in mix.cases if c["seconds"] is None or c["seconds"] > 1.0]
    unbounded = [
        c["name"]
        for c in mix.cases
        if not (isinstance(c["status"], int) and 200 <= c["status"] < 500)
    ]
    targets = {
        "every_case_within_1s": not slow,
        "every_case_4xx_or_bounded": not unbounded,
        "no_5xx": mix.errors_5xx == 0,
        "rss_growth_under_200_mib": rss_growth is not None and rss_growth < 200,
        "page_p99_under_0_5_s": page_p99 is not None and page_p99 < 0.5,
    }
    return {
        "cases": mix.cases,
        "errors_5xx": mix.errors_5xx,
        "rss_growth_mib": rss_growth,
        "page_p99_s": round(page_p99, 3) if page_p99 is not None else None,
        "targets": targets,
        "slow_cases": slow,
        "not_4xx_or_bounded": unbounded,
        "page_p50_s": round(pct(pages, 50), 3) if pages else None,
        "page_max_s": round(max(pages), 3) if pages else None,
        "pages_loaded": len(pages),
        "page_p99_s_by_page": {k: round(pct(v, 99), 3) for k, v in sorted(seen.pages.items())},
        "baseline_page_p50_s": round(pct(baseline, 50), 3) if baseline else None,
        "baseline_page_p99_s": round(pct(baseline, 99), 3) if baseline else None,
        "baseline_pages_loaded": len(baseline),
        "rss_before_mib": round(rss_before, 1) if rss_before is not None else None,
        "rss_max_mib": round(max(rss), 1) if rss else None,
        "samples_5xx": mix.samples_5xx[:8],
        "other_errors": (problems + [e for e in stats.errors + seen.errors if "HTTP 4" not in e])[
            :8
        ],
        "visitor_4xx": len([e for e in seen.errors if "HTTP 4" in e]),
        **mix.notes,
        "solo_export": solo,
        "load_average_1min": {"before_mix": load_before, "after_mix": round(os.getloadavg()[0], 2)},
        "large_run": {"preset": args.preset, "id": run_id, "fleet_to_done_s": round(large_s, 1)},
        "visitors": args.visitors,
        "think_s": args.think,
        "mix_s": round(mix_s, 1),
        "setup_s": round(setup_s, 1),
    }


# --- the server ----------------------------------------------------------------------------------


class Embedded:
    """``./run`` in embedded mode on a free port, in a process group of its own."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PLAYGROUND_", "DJANGO_"))
            and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            {
                "PLAYGROUND_NO_INSTALL": "1",
                "PLAYGROUND_VAR_DIR": str(workdir / "var"),
                "PORT": str(self.port),
                "HOST": "127.0.0.1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.stopped: dict = {}

    def daphne_pid(self) -> int | None:
        for pid in children(self.proc.pid):
            with contextlib.suppress(OSError):
                if b"daphne" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
        return None

    def __enter__(self):
        self.log = (self.workdir / "run.log").open("wb")
        self.proc = subprocess.Popen(
            [str(ROOT / "run")],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise SystemExit(f"./run did not start: see {self.workdir / 'run.log'}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        if self.proc is None or self.proc.poll() is not None:
            return
        group = self.proc.pid
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)  # ./run stops daphne and the worker
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        left = session_members(group)
        self.stopped = {
            "stop_s": round(time.monotonic() - started, 1),
            "run_exited": self.proc.poll() is not None,
            "processes_left": len(left),
        }
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        # ./run gives daphne and the worker process groups of their own (set -m): whatever is
        # left of them is ours too
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()


def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid``: ./run leads a session of its own (``start_new_session``)
    and every process it starts stays in it, whatever process group ``set -m`` gives it."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(stat.parent.name))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: deploy ./run on 127.0.0.1)")
    parser.add_argument("--server-pid", type=int, help="with --url: daphne's PID, for its RSS")
    parser.add_argument("--preset", default="heartbleed", help="the large run to export")
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument(
        "--exports", type=int, default=4, help="concurrent downloads of the large run's log"
    )
    parser.add_argument(
        "--think", type=float, default=0.5, help="a visitor's pause between pages (seconds)"
    )
    parser.add_argument(
        "--baseline", type=float, default=10, help="seconds of visitors alone, before the mix"
    )
    parser.add_argument(
        "--setup-timeout", type=float, default=300, help="for the large run's plan and run"
    )
    parser.add_argument(
        "--deadline", type=float, default=150, help="the mix is abandoned after this"
    )
    parser.add_argument(
        "--min-seconds", type=float, default=15, help="the visitors load pages this long at least"
    )
    parser.add_argument("--logs", metavar="DIR", help="keep the deployed server's files in DIR")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.url:
        result = asyncio.run(abuse(args.url.rstrip("/"), args, args.server_pid))
        result["server"] = args.url
    else:
        with contextlib.ExitStack() as stack:
            if args.logs:
                tmp = Path(args.logs)
                tmp.mkdir(parents=True, exist_ok=True)
            else:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-abuse-")))
            server = Embedded(tmp)
            with server:
                result = asyncio.run(
                    abuse(f"http://127.0.0.1:{server.port}", args, server.daphne_pid())
                )
            result["server"] = "./run, embedded (SQLite, filesystem broker), 127.0.0.1"
            result["stopped"] = server.stopped
    result["total_s"] = round(time.perf_counter() - started, 1)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result))
    sys.exit(0 if all(result["targets"].values()) else 1)


if __name__ == "__main__":
    main()
