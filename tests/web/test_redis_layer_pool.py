"""A classroom connecting at once gets its sockets: the channel layer's Redis pool is not the
limit (redis-py 8 fails the 101st connection at once, which refused viewers with HTTP 500)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layer_settings(**env) -> dict:
    code = (
        "import json, playground.settings as s; "
        "print(json.dumps({'hosts': s.CHANNEL_LAYERS['default']['CONFIG'].get('hosts'), "
        "'per_client': s.PLAYGROUND_WEBSOCKETS_PER_CLIENT}))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "REDIS"))}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_layer_pool_holds_more_connections_than_one_client_may_open_sockets():
    found = _layer_settings(REDIS_URL="redis://127.0.0.1:6379/0")
    (host,) = found["hosts"]
    assert host["max_connections"] >= found["per_client"] >= 200  # a lecture hall, one address


def test_the_pool_size_is_a_setting():
    found = _layer_settings(
        REDIS_URL="redis://127.0.0.1:6379/0", PLAYGROUND_REDIS_LAYER_MAX_CONNECTIONS="2500"
    )
    assert found["hosts"][0]["max_connections"] == 2500
