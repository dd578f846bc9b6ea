"""``./run`` as a visitor meets it: embedded mode with DEBUG off (no debug page, no URL list)
that still serves its static files (WhiteNoise); and as an operator stops it: SIGTERM or Ctrl-C
ends daphne, the Celery worker and every process they started within 10 s (the attacker's
trial: SIGTERM left daphne running, it had to be killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from ..rehearsal_support import request
from ..support import ROOT, _clean_env, free_port, wait_for_port


def _session_processes(sid: int) -> list[str]:
    """Processes of this session (./run started in a new one), zombies aside."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(f"{entry} {stat.split(')')[0].split('(', 1)[1]}")
    return found


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def started_run(tmp_path):
    port = free_port()
    env = {
        **_clean_env(),
        "PORT": str(port),
        "PLAYGROUND_VAR_DIR": str(tmp_path / "var"),
        "PLAYGROUND_NO_INSTALL": "1",
        "WORKERS": "1",
    }
    env.pop("DJANGO_DEBUG", None)
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / "run")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # as from a terminal: Ctrl-C at its default (a signal the parent ignores stays ignored
        # in the child, and bash cannot trap a signal ignored when it started)
        preexec_fn=_default_interrupt,
    )
    try:
        wait_for_port(port, timeout=120, proc=proc)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:  # the test failed before stopping it: everything goes
            os.killpg(proc.pid, signal.SIGKILL)
        for line in _session_processes(proc.pid):
            os.kill(int(line.split()[0]), signal.SIGKILL)
        proc.wait(timeout=10)


def _daphne(sid: int) -> int:
    for line in _session_processes(sid):
        pid = int(line.split()[0])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"daphne" in f.read():
                return pid
    raise AssertionError("no daphne")


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C", "SIGTERM, daphne stuck"])
def test_run_serves_without_debug_and_stops_everything_within_10_s(started_run, how):
    proc, base = started_run
    with urllib.request.urlopen(base + "/static/css/playground.css", timeout=20) as css:
        assert css.status == 200 and b"{" in css.read()
    status, _, html = request(base + "/no-such-page/")
    assert status == 404 and 'id="refused"' in html and "Migration playground" in html
    assert "URLconf" not in html and "DEBUG = True" not in html
    assert len(_session_processes(proc.pid)) >= 3  # ./run, daphne, the worker (and its pool)

    if how.endswith("stuck"):  # like a thread stuck in a request: SIGTERM alone does nothing
        os.kill(_daphne(proc.pid), signal.SIGSTOP)
    started = time.monotonic()
    if how == "Ctrl-C":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the foreground group
    else:
        proc.send_signal(signal.SIGTERM)  # what systemd or docker stop does
    while time.monotonic() - started < 10 and _session_processes(proc.pid):
        time.sleep(0.1)
    assert _session_processes(proc.pid) == [], "left behind after 10 s"
    assert proc.wait(timeout=1) is not None
