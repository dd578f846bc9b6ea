"""The rate limiter is atomic on both databases: of 50 starts at once against a limit of 20,
exactly 20 pass and 20 hits are stored (it used to count, then insert: concurrent requests all
counted the same 19 and passed together). Each database in a process of its own (the settings
are read once per process), 50 threads each with its own connection, released together."""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest

from ..support import (
    PYTHON,
    ROOT,
    _clean_env,
    postgres_url,
    scratch_postgres_database,
    service_skip,
)

RACE = r"""
import json, threading
import django
django.setup()
from django.db import connection
from django.test import RequestFactory
from playground.accounts import limits
from playground.accounts.access import Visitor
from playground.accounts.models import RateLimitHit

N = 50
barrier = threading.Barrier(N)
accepted, refused, errors = [], [], []

def start(i):
    request = RequestFactory().post("/runs/", REMOTE_ADDR="10.1.2.3")
    request.visitor = Visitor(user_id=7, username="racer")  # one signed-in user: one budget
    try:
        barrier.wait()
        limits.check(request, limits.RUNS)
        accepted.append(i)
    except limits.RateLimited:
        refused.append(i)
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=start, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"accepted": len(accepted), "refused": len(refused), "errors": errors,
                  "stored": RateLimitHit.objects.filter(key="user:7").count(),
                  "vendor": connection.vendor}))
"""


@contextlib.contextmanager
def _database(kind: str, tmp_path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}"
        return
    url = postgres_url()
    if not url:
        service_skip("PostgreSQL (set DATABASE_URL=postgres://...)")
    with scratch_postgres_database(url) as scratch:
        yield scratch


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_fifty_concurrent_starts_at_a_limit_of_twenty_let_exactly_twenty_through(kind, tmp_path):
    with _database(kind, tmp_path) as url:
        env = {
            **_clean_env(),
            "PLAYGROUND_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "PLAYGROUND_RUNS_PER_MINUTE": "20",
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        out = subprocess.run(
            [PYTHON, "-c", RACE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["vendor"] == kind
    assert result["errors"] == []
    assert (result["accepted"], result["refused"], result["stored"]) == (20, 30, 20)
