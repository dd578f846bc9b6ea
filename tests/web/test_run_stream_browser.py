"""static/js/run_stream.js in headless Chromium, on the anatomy and the fleet run page: a socket
the server refuses (close code 4404) is not reopened and the page says why; a socket dropped
mid-stream with an ordinary code is reopened with ``?after=<last seq>`` and the page ends with
every event once, even when events it already has are sent again."""

import json
import re
import time

import pytest

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)
from .test_fleet_browser import _start_demo_run

RUN_SOCKET = re.compile(r"/ws/(fleet-)?runs/\d+/")


def _start_anatomy_run(stack, tab, speed="max"):
    tab.goto(stack.base_url + "/?scenario=")
    tab.fill("#id_memory", "2GiB")
    tab.uncheck("#id_guest_watches")
    tab.select_option("#id_speed", speed)
    tab.click("#simulate")
    tab.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)


def _run_id(url):
    return int(re.search(r"/runs/(\d+)/$", url).group(1))


def _watch_another_run(tab, own_id, other_id):
    """Serve the page of the visitor's own run with its config (socket and JSON URLs) pointed at
    run ``other_id`` (another visitor's, or none), as the page of a run still running: what a
    page sees when its run is deleted, or its visitor signs out, after it loaded."""

    def rewrite(route):
        response = route.fetch()

        def config(match):
            text = match.group(0).replace(f"runs/{own_id}/", f"runs/{other_id}/")
            return re.sub(r'"status": "[a-z]+"', '"status": "running"', text, count=1)

        body = re.sub(
            r'<script id="(run|fleet)-config" type="application/json">.*?</script>',
            config,
            response.text(),
            count=1,
            flags=re.DOTALL,
        )
        route.fulfill(response=response, body=body)

    tab.route(re.compile(rf"/runs/{own_id}/$"), rewrite)


@pytest.mark.parametrize("kind", ["anatomy", "fleet"])
def test_a_refused_socket_is_not_reopened_and_the_page_says_why(stack, browser, page, kind):  # noqa: F811
    """The consumer refuses before accepting (daphne: 403, the browser: 1006), so the page asks
    the run's JSON URL once (404: gone or not yours) and stops; a 4404 close code after an
    accept would stop it the same way, without the question."""
    if kind == "anatomy":  # someone else's run: it exists, but not for this visitor
        other = browser.new_context()
        _start_anatomy_run(stack, other.new_page())
        other_id = _run_id(other.pages[0].url)
        other.close()
        _start_anatomy_run(stack, page)
        state = "window.anatomy.state()"
    else:  # a run that does not exist (any more)
        _start_demo_run(stack, page)
        other_id = 987654321
        state = "window.fleetRun.state()"
    url = page.url
    sockets, closed = [], []
    page.on(
        "websocket",
        lambda ws: (sockets.append(ws.url), ws.on("close", lambda _ws: closed.append(_ws.url))),
    )
    _watch_another_run(page, _run_id(url), other_id)
    page.goto(url)
    page.wait_for_selector("#stream-closed:not([hidden])", timeout=10_000)
    time.sleep(4)  # the old code retried within 0.5-1 s; the backoff starts at 0.5 s
    assert [s.split("/ws/")[1] for s in sockets] == [
        f"{'fleet-' * (kind == 'fleet')}runs/{other_id}/?after=0"
    ]
    assert len(closed) == 1
    assert page.inner_text("#stream-closed") == "This run does not exist or is not yours."
    assert page.is_visible("#stream-closed")
    stream = page.evaluate(state)["stream"]
    assert stream["closedForGood"]["code"] == 4404, stream
    assert stream["connections"] == 1 and stream["probes"] == 1 and stream["stopped"] is True
    assert page.errors == []


@pytest.mark.parametrize("kind", ["anatomy", "fleet"])
def test_a_4xxx_close_code_after_the_accept_stops_at_once_with_its_reason(stack, page, kind):  # noqa: F811
    """The close codes themselves (a server that accepts, then closes), played by a routed
    socket: no retry, no question to the JSON URL, the reason of the code on the page."""
    if kind == "anatomy":
        _start_anatomy_run(stack, page)
    else:
        _start_demo_run(stack, page)
    state = "window.anatomy.state()" if kind == "anatomy" else "window.fleetRun.state()"
    url, code_of_the_next = page.url, []
    page.route_web_socket(RUN_SOCKET, lambda ws: ws.close(code=code_of_the_next[-1], reason="no"))
    for code, text in (
        (4404, "This run does not exist or is not yours."),
        (4400, "Bad request."),
        (4999, "The server closed the live stream (code 4999); reload the page to try again."),
    ):
        code_of_the_next.append(code)
        page.goto(url)
        page.wait_for_selector("#stream-closed:not([hidden])", timeout=10_000)
        time.sleep(1.5)  # more than the first retry's delay (at most 0.5 s)
        assert page.inner_text("#stream-closed") == text
        stream = page.evaluate(state)["stream"]
        assert stream["closedForGood"]["code"] == code, stream
        assert stream["connections"] == 1 and stream["probes"] == 0, stream
    assert page.errors == []


class DroppingProxy:
    """Between the page and the server: the first socket forwards the first half of the first
    events message, then closes with 1001 (going away) as a restarting server does; every later
    socket first sends those events again (duplicates the page must drop), then relays."""

    def __init__(self, tab):
        self.urls, self.sent = [], []
        tab.route_web_socket(RUN_SOCKET, self.handle)

    def handle(self, ws):
        self.urls.append(ws.url)
        first = len(self.urls) == 1
        server = ws.connect_to_server()
        if not first and self.sent:
            ws.send(json.dumps({"type": "events", "events": self.sent}))
        state = {"dropped": False}

        def from_server(message):
            if state["dropped"]:
                return
            data = json.loads(message)
            if first and data["type"] == "events":
                self.sent = data["events"][: max(1, len(data["events"]) // 2)]
                ws.send(json.dumps({"type": "events", "events": self.sent}))
                state["dropped"] = True
                ws.close(code=1001, reason="going away")
                server.close()
                return
            ws.send(message)

        server.on_message(from_server)


def _stored(tab, url):
    events, after = [], 0
    while True:
        data = tab.request.get(f"{url}?after={after}").json()
        events += data["events"]
        if data["complete"]:
            return events
        after = events[-1]["seq"]


@pytest.mark.parametrize("kind", ["anatomy", "fleet"])
def test_a_dropped_socket_resumes_after_the_last_seq_and_nothing_is_doubled(stack, page, kind):  # noqa: F811
    proxy = DroppingProxy(page)
    if kind == "anatomy":
        _start_anatomy_run(stack, page)
        state = "window.anatomy.state()"
        stored_url = page.evaluate(
            "JSON.parse(document.getElementById('run-config').textContent).events_url"
        )
    else:
        _start_demo_run(stack, page)
        page.select_option("#speed", "max")
        state = "window.fleetRun.state()"
        stored_url = page.evaluate(
            "JSON.parse(document.getElementById('fleet-config').textContent).messages_url"
        )
    page.wait_for_function(f"{state}.finished && {state}.status == 'done'", timeout=60_000)
    stored = _stored(page, stack.base_url + stored_url)
    seqs = [e["seq"] for e in stored]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 2
    resumed_after = proxy.sent[-1]["seq"]
    assert 0 < resumed_after < len(seqs)  # really dropped in the middle of the stream
    assert proxy.urls[0].endswith("?after=0")
    assert proxy.urls[1].endswith(f"?after={resumed_after}"), proxy.urls
    assert len(proxy.urls) == 2, proxy.urls  # done: the page closed its socket, no more
    final = page.evaluate(state)
    assert final["received"] == final["played"] == len(seqs), final  # each event once
    assert final["lastSeq"] == seqs[-1]
    assert final["stream"]["connections"] == 2 and final["stream"]["closedForGood"] is None
    assert final["stream"]["probes"] == 0  # it had opened: a drop, not a refusal
    if kind == "anatomy":
        page.wait_for_selector("#summary-table", timeout=10_000)
    else:
        page.wait_for_selector("#fleet-summary-table", timeout=10_000)
    assert page.is_hidden("#stream-closed")
    assert page.errors == []
