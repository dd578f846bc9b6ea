"""Safe defaults: DEBUG off in every mode unless ``DJANGO_DEBUG=true``; the error answers
(400, 403, 404, 413, 429, 500) are the playground's pages (or JSON for JSON endpoints) with no
trace, setting or exception text; ``/healthz`` says what is down and leaves the why to the log.
``./run`` itself: ``test_run_script.py``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from django.test import Client

from ..support import ROOT, free_port

pytestmark = pytest.mark.django_db

SECRET = "kaboom-4f1d-secret"


def _debug_of(**env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "PLAYGROUND_MODE")}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_embedded_mode_runs_with_debug_off_unless_asked():
    assert _debug_of(DJANGO_SETTINGS_MODULE="playground.settings") == "False"
    assert _debug_of(DJANGO_SETTINGS_MODULE="playground.settings", DJANGO_DEBUG="true") == "True"


def _is_our_page(response, status: int) -> str:
    html = response.content.decode()
    assert response.status_code == status, html[:300]
    assert response["Content-Type"].startswith("text/html")
    assert 'class="brand"' in html and 'id="refused"' in html  # base.html, the message box
    for leak in ("Traceback", "URLconf", "SECRET_KEY", "settings.py", SECRET, "DEBUG = True"):
        assert leak not in html, leak
    return html


def test_a_missing_page_is_our_404_without_the_url_list(anon_client):
    _is_our_page(anon_client.get("/no/such/page/"), 404)


def test_a_missing_thing_on_a_json_endpoint_is_a_json_404(anon_client):
    response = anon_client.get("/rehearsals/" + "a" * 16 + "/" + "b" * 32 + "/events.json")
    assert response.status_code == 404 and response.json() == {
        "error": "There is nothing here: no such page, or it is not yours.",
        "field": "",
    }


def test_a_crash_is_our_500_without_the_exception(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr("playground.accounts.views.UserCreationForm", boom)
    client = Client(raise_request_exception=False)
    html = _is_our_page(client.get("/accounts/signup/"), 500)
    assert "Something went wrong on our side" in html


def test_a_form_without_its_csrf_token_is_our_403():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert "reload the page" in _is_our_page(response, 403)


def test_a_foreign_host_header_is_our_400():
    _is_our_page(Client(HTTP_HOST="evil.example").get("/"), 400)


def test_a_paste_over_djangos_form_limit_is_a_413_naming_the_limit():
    """The attacker's trial: a paste over 2.5 MB got a bare 400. As a browser sends it (with
    the CSRF check reading the form first) and without the CSRF check (the NUL check,
    ``refuse_nul``, reads every form, multipart too, before any view)."""
    big = {"scenario": "#" * (3 * 1024 * 1024)}
    browser = Client(enforce_csrf_checks=True)
    browser.get("/rehearsals/")  # the CSRF cookie: the check then reads the form
    html = _is_our_page(browser.post("/rehearsals/", big), 413)
    assert "at most 2.5 MiB" in html
    assert "at most 2.5 MiB" in _is_our_page(Client().post("/rehearsals/", big), 413)


def test_a_limit_page_is_a_429_in_our_style(client, form_data, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    client.post("/runs/", form_data)
    from playground.accounts import limits

    response = limits.too_many(
        client.get("/").wsgi_request, limits.RateLimited("You started 1 runs.", 30)
    )
    assert "You started 1 runs." in _is_our_page(response, 429) and response["Retry-After"] == "30"


def test_healthz_says_what_is_down_and_leaves_the_why_to_the_log(
    anon_client, settings, caplog, in_memory_layer
):
    port = free_port()
    settings.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:{port}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    with caplog.at_level(logging.WARNING, logger="playground.ops.health"):
        response = anon_client.get("/healthz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker == {
        "ok": False,
        "ms": broker["ms"],
        "error": "the Celery broker did not answer (the server log says why)",
    }
    assert str(port) not in response.content.decode() and SECRET not in response.content.decode()
    assert any(record.exc_info for record in caplog.records)  # the why, with its traceback


@pytest.mark.asyncio
async def test_a_body_over_the_servers_limit_on_a_page_is_our_413_page_in_words():
    from channels.testing import HttpCommunicator

    from playground.asgi import application

    communicator = HttpCommunicator(
        application,
        "POST",
        "/fleets/import/",
        body=b"x",
        headers=[(b"content-length", b"5000000000"), (b"host", b"127.0.0.1")],
    )
    response = await communicator.get_response(timeout=10)
    html = response["body"].decode()
    assert response["status"] == 413 and dict(response["headers"])[b"content-type"].startswith(
        b"text/html"
    )
    assert "Request body too large: at most 4 MiB." in html and 'class="brand"' in html


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("get", "/fleets/runs/1/vms/vm-1/anatomy/", "POST"),  # a VM's "open its anatomy" button
        ("get", "/fleets/import/", "POST"),
        ("get", "/fleets/1/delete/", "POST"),
        ("post", "/fleets/1/plan/status/", "GET, HEAD"),
    ],
)
def test_a_method_an_address_does_not_answer_is_our_405_in_words(method, path, allowed):
    """Django's require_POST answered with an empty body: a blank page for a copied link."""
    response = getattr(Client(), method)(path)
    html = _is_our_page(response, 405)
    said = allowed.replace(", ", " or ")
    assert f"This address answers {said}, not {method.upper()}" in html
    assert response["Allow"] == allowed


def test_a_405_on_a_json_endpoint_is_json():
    response = Client().post("/fleets/sweeps/1/results.json")
    assert response.status_code == 405 and "answers GET" in response.json()["error"]


@pytest.mark.parametrize(
    "path", ["/", "/healthz", "/runs/", "/fleets/", "/lessons/", "/rehearsals/"]
)
def test_a_page_answers_head_as_it_answers_get(path):
    """HEAD is GET without the body (monitors, link checkers, ``curl -I``): it was a 405,
    /healthz's included."""
    client = Client()
    assert client.head(path).status_code == client.get(path).status_code == 200


def test_head_on_a_form_address_reads_nothing_as_a_post():
    """A HEAD of the run form's address is its GET (the list), not an empty post (a 422)."""
    assert Client().head("/runs/").status_code == 200
