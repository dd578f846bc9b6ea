"""Secure settings in production: ``PLAYGROUND_MODE=production`` with only the required
variables passes ``manage.py check --deploy --fail-level WARNING`` (HTTPS redirect, HSTS,
secure cookies, DEBUG off, a real secret key), and a server really behaves that way. Each is
turned off only explicitly (the test suite's plain-HTTP loopback servers do:
``support.LOOPBACK_ENV``), and then the check says so. Run in subprocesses: the settings are
read once per process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from ..support import ROOT


def production_env(tmp_path, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PLAYGROUND_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "PLAYGROUND_MODE": "production",
            "PLAYGROUND_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",  # nothing connects for a check
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "DJANGO_ALLOWED_HOSTS": "playground.example",
        }
    )
    env.update(extra)
    return env


def _check(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_defaults(tmp_path):
    result = _check(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_complains_when_https_is_switched_off(tmp_path):
    """The check above can fail: the loopback test servers' settings are not deployable."""
    result = _check(
        production_env(
            tmp_path,
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_COOKIES="false",
            DJANGO_SECURE_HSTS_SECONDS="0",
        )
    )
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout, warning


PROBE = """
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="playground.example")
plain = client.get("/accounts/login/")
print("http", plain.status_code, plain.get("Location"))
tls = client.get("/accounts/login/", secure=True)
print("https", tls.status_code, tls["Strict-Transport-Security"])
print("cookie", tls.cookies["csrftoken"]["secure"], tls.cookies["csrftoken"]["samesite"])
"""


def test_a_production_server_redirects_to_https_and_sends_hsts_and_secure_cookies(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines.get("http") == "301 https://playground.example/accounts/login/", (
        result.stdout + result.stderr
    )
    assert lines["https"] == "200 max-age=31536000; includeSubDomains; preload"
    assert lines["cookie"] == "True Lax"
