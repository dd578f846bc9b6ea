"""End to end, with real processes: daphne and a Celery worker started as subprocesses, a form
posted over HTTP, the run's events read over a real WebSocket.

- embedded: SQLite, kombu's filesystem broker, the SQLite channel layer (no services);
- production: PostgreSQL, Redis as broker and channel layer (channels-redis), DEBUG off.
  Skips without Redis and PostgreSQL; under CI=true that skip is a failure.
"""

import asyncio
import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request

import websockets

FORM = {
    "memory": "2GiB",
    "workload": "oltp",
    "bandwidth": "10Gbit/s",
    "policy": "qemu",
    "downtime_limit": "300ms",
    "resolution": "fluid",
    "speed": "max",
    "seed": "5",
}


class Browserless:
    """Just enough of a browser: cookies, CSRF token, form posts."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def ws_headers(self) -> dict:
        """What this browser sends with a WebSocket handshake: its cookies (the session that
        owns what it made; the consumer checks). Pass as ``additional_headers``."""
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in self.cookies)}

    def get(self, path):
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post_form(self, path, data):
        _, html = self.get("/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        request = urllib.request.Request(
            self.base_url + path, data=body, headers={"Referer": self.base_url + "/"}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()

    def wait_for_plan(self, fleet_path, timeout=120):
        """Open a fleet's plan page and wait for a worker to compute the plan (the page says
        "planning..." until then)."""
        deadline = time.monotonic() + timeout
        while 'id="approve"' not in self.get(fleet_path + "plan/")[1]:
            assert time.monotonic() < deadline, "the plan was not computed in time"
            time.sleep(0.5)

    def approve_plan(self, fleet_path, timeout=120):
        """Approve a fleet's plan once it is computed; returns what ``post_form`` returns."""
        self.wait_for_plan(fleet_path, timeout)
        return self.post_form(fleet_path + "plan/", {})


async def _listen(ws_url, run_id, client, after=0, timeout=60):
    seqs, status, kinds = [], None, []
    async with websockets.connect(
        f"{ws_url}/ws/runs/{run_id}/?after={after}",
        origin=ws_url.replace("ws://", "http://"),
        additional_headers=client.ws_headers(),
    ) as ws:
        while status not in ("done", "failed"):
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message["type"] == "events":
                seqs += [e["seq"] for e in message["events"]]
                kinds += [e["kind"] for e in message["events"]]
            else:
                status = message["status"]
    return seqs, kinds, status


def test_a_posted_form_runs_on_the_worker_and_streams_to_a_websocket(stack):
    if True:
        client = Browserless(stack.base_url)
        status, url, _ = client.post_form("/runs/", FORM)
        assert status == 200 and re.search(r"/runs/\d+/$", url), stack.log_tail()
        run_id = int(url.rstrip("/").rsplit("/", 1)[1])

        seqs, kinds, final = asyncio.run(_listen(stack.ws_url, run_id, client))
        assert final == "done", stack.log_tail()
        assert seqs == list(range(1, len(seqs) + 1))
        assert kinds[-1] == "summary" and "round" in kinds

        # a viewer who comes back later resumes exactly where it left off
        later, _, _ = asyncio.run(_listen(stack.ws_url, run_id, client, after=len(seqs) - 3))
        assert later == seqs[-3:]

        # the run is listed, with a re-run link, and static files come from this server
        _, listing = client.get("/runs/")
        assert f"/?from={run_id}" in listing
        status, plotly_js = client.get("/static/plotly/plotly.min.js")
        assert status == 200 and len(plotly_js) > 1_000_000


def test_bad_input_over_http_is_a_422_with_the_reason(stack):
    if True:
        status, _, html = Browserless(stack.base_url).post_form(
            "/runs/", {**FORM, "memory": "lots"}
        )
        assert status == 422
        assert 'id="id_memory_error"' in html
