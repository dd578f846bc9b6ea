"""Creating rehearsals, simulateMaintenanceEvent and its operations, and the page, over real
HTTP against daphne."""

import json
import re
import urllib.parse
import uuid

from .rehearsal_support import (  # noqa: F401
    browser,
    create,
    events,
    request,
    server,
    simulate,
    vm_list_scenario,
    wait_until,
)


def test_simulate_maintenance_event_returns_an_operation_that_is_done_when_the_host_is_back(server):
    created = create(server, speed=50)
    status, _, operation = simulate(created, "web-1")
    assert status == 200, operation
    assert operation["kind"] == "compute#operation"
    assert operation["operationType"] == "simulateMaintenanceEvent"
    assert operation["status"] == "RUNNING" and operation["targetLink"].endswith("/instances/web-1")
    assert operation["host"] == "r1-h1"

    def poll():
        status, _, text = request(operation["selfLink"])
        assert status == 200, text
        body = json.loads(text)
        return body if body["status"] == "DONE" else None

    done = wait_until(poll, timeout=15, every=0.1)  # 60 s of host downtime at 50x, plus the moves
    log = events(created)["events"]
    back = [e for e in log if e["kind"] == "host_back" and e["host"] == "r1-h1"]
    assert back and done["progress"] == 100 and done["endTime"]
    assert done["simulatedEndTime_s"] >= back[0]["t_s"] >= done["simulatedInsertTime_s"] + 60
    # both VMs of the host left it; the third VM (other host) was never touched
    moved = {e["vm"] for e in log if e["kind"] == "migrated"}
    assert moved == {"web-1", "db-1"}


def test_simulate_maintenance_event_is_rate_limited_per_vm(server):
    created = create(server)
    assert simulate(created, "cache-1")[0] == 200
    status, headers, body = simulate(created, "cache-1")
    assert status == 429
    assert body["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert "cache-1" in body["error"]["message"] and int(headers["Retry-After"]) > 0
    starts = [e for e in events(created)["events"] if e["kind"] == "maintenance_start"]
    assert len(starts) == 1  # the refused request started nothing


def test_a_retry_with_the_same_request_id_returns_the_same_operation(server):
    created = create(server)
    rid = f"?requestId={uuid.uuid4()}"
    first = simulate(created, "web-1", query=rid)
    again = simulate(created, "web-1", query=rid)
    assert first[0] == again[0] == 200 and first[2]["name"] == again[2]["name"]
    assert simulate(created, "web-1", query="?requestId=not-a-uuid")[0] == 400


def test_the_compute_api_is_404_for_another_zone_or_an_unknown_vm(server):
    created = create(server)
    assert simulate(created, "web-1", zone="zone-elsewhere")[0] == 404
    status, _, body = simulate(created, "nope")
    assert status == 404 and body["error"]["errors"][0]["reason"] == "notFound"
    status, _, _ = request(
        f"{created['compute']}projects/p/zones/zone-t/operations/operation-simulate-9"
    )
    assert status == 404
    status, _, _ = request(
        f"{created['compute']}projects/p/zones/zone-t/instances/web-1/simulateMaintenanceEvent"
    )
    assert status == 405


def test_creating_with_bad_input_is_4xx_naming_the_field(server):
    url = server.base_url + "/rehearsals/new.json"

    def post(body):
        status, _, text = request(
            url,
            method="POST",
            data=json.dumps(body).encode() if not isinstance(body, bytes) else body,
        )
        return status, json.loads(text)

    status, body = post({"scenario": {**vm_list_scenario(), "caps": {"per_source_host": 0}}})
    assert status == 422 and body["field"] == "scenario" and "caps.per_source_host" in body["error"]
    status, body = post({"preset": "heartbleed"})
    assert status == 422 and "2,000" in body["error"]
    status, body = post({"preset": "demo", "speed": 1000})
    assert status == 422 and body["field"] == "speed"
    status, body = post({"scenario": "fleet: [unclosed"})
    assert status == 422 and "YAML" in body["error"]
    status, body = post({"preset": "demo", "colour": "blue"})
    assert status == 400 and "colour" in body["error"]
    status, body = post(b"not json")
    assert status == 400


def _csrf(opener, url):
    status, _, html = request(url, opener=opener)
    assert status == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_form_starts_a_rehearsal_that_only_its_creator_can_open(server):
    owner, stranger = browser(), browser()
    token = _csrf(owner, server.base_url + "/rehearsals/")
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "preset": "demo", "speed": "10", "start_events": "on"}
    ).encode()
    status, _, html = request(
        server.base_url + "/rehearsals/",
        method="POST",
        data=body,
        opener=owner,
        headers={"Referer": server.base_url + "/rehearsals/"},
    )
    assert status == 200 and "Rehearsal: demo" in html, html[:500]
    page = re.search(r'hx-get="(/rehearsals/[^/]+/)board/"', html).group(1)
    assert "computeMetadata" in html and "docs/guest_watch.py" in html
    assert request(server.base_url + page, opener=stranger)[0] == 404
    assert request(server.base_url + page + "board/", opener=stranger)[0] == 404
    status, _, board = request(server.base_url + page + "board/", opener=owner)
    assert status == 200 and "maintenance-event" in board
    # the share link hands the rehearsal to another browser
    share = re.search(r'href="(http://[^"]+)">share link', html).group(1)
    assert request(share, opener=stranger)[0] == 200
    assert request(server.base_url + page, opener=stranger)[0] == 200


def test_the_form_explains_a_bad_scenario_next_to_the_field(server):
    owner = browser()
    token = _csrf(owner, server.base_url + "/rehearsals/")
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "preset": "demo", "speed": "10", "scenario": "seed: -1"}
    ).encode()
    status, _, html = request(
        server.base_url + "/rehearsals/",
        method="POST",
        data=body,
        opener=owner,
        headers={"Referer": server.base_url + "/rehearsals/"},
    )
    assert status == 422 and 'id="id_scenario_error"' in html and "seed" in html


def test_the_page_button_starts_a_maintenance_and_the_board_shows_the_notice(server):
    created = create(server, speed=20)
    owner = browser()
    assert (
        request(created["vms"]["web-1"].rsplit("/vms/", 1)[0] + "/", opener=owner)[0] == 200
    )  # adopt
    page = created["page"]
    token = _csrf(owner, page)
    status, _, fragment = request(
        page + "vms/web-1/simulate",
        method="POST",
        opener=owner,
        data=urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode(),
        headers={"HX-Request": "true", "Referer": page},
    )
    assert status == 200 and "operation-simulate-1" in fragment and "r1-h1" in fragment
    _, _, board = request(page + "board/", opener=owner)
    assert "MIGRATE_ON_HOST_MAINTENANCE" in board and "operation-simulate-1" in board
    # without the CSRF token the button's POST is refused
    assert request(page + "vms/web-1/simulate", method="POST", opener=owner, data=b"")[0] == 403
