"""``/healthz``: in-process (the checks' logic) and against real daphne processes whose
database or broker is really unreachable."""

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from .support import BIN, ROOT, _clean_env, _stop, free_port, wait_for_port


@pytest.mark.django_db
def test_healthy_is_200_with_one_entry_per_check(client, in_memory_layer):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "channel_layer"}
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_an_unreachable_broker_is_a_503_naming_it(client, in_memory_layer, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["error"] == "the Celery broker did not answer (the server log says why)"
    assert checks["database"]["ok"] and checks["channel_layer"]["ok"]


@pytest.mark.django_db
def test_a_missing_queue_folder_is_a_503(client, in_memory_layer, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "gone"),
        "data_folder_out": str(tmp_path / "gone"),
    }
    response = client.get("/healthz")
    assert response.status_code == 503 and not response.json()["checks"]["broker"]["ok"]


def _healthz_of_daphne(tmp_path, env_changes):
    env = _clean_env()
    env["PLAYGROUND_VAR_DIR"] = str(tmp_path / "var")
    env["PLAYGROUND_HEALTH_TIMEOUT_S"] = "2"
    env.update(env_changes)
    port = free_port()
    log = tmp_path / "daphne.log"
    proc = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, proc=proc)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=20) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
    finally:
        _stop(proc)


def test_a_real_server_whose_database_is_gone_answers_503(tmp_path):
    status, body = _healthz_of_daphne(
        tmp_path, {"DATABASE_URL": f"postgres://nobody:x@127.0.0.1:{free_port()}/nothing"}
    )
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["broker"]["ok"] and body["checks"]["channel_layer"]["ok"]


def test_a_real_server_whose_redis_is_gone_answers_503_for_broker_and_layer(tmp_path):
    status, body = _healthz_of_daphne(tmp_path, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_the_running_stacks_are_healthy(stack):
    with urllib.request.urlopen(f"{stack.base_url}/healthz", timeout=20) as response:
        body = json.loads(response.read())
    assert response.status == 200 and body["status"] == "ok", body
