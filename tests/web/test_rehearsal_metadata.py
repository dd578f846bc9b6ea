"""The per-VM metadata endpoint, over real HTTP against daphne: GCE's header rules, ETags,
hanging GETs, the scheduling keys, 404s and ownership."""

import concurrent.futures
import time

from .rehearsal_support import (  # noqa: F401
    FLAVOR,
    META,
    create,
    events,
    read,
    request,
    server,
    simulate,
    vm_list_scenario,
    wait_until,
)


def test_the_endpoint_refuses_a_request_without_metadata_flavor_google(server):
    created = create(server)
    base = created["vms"]["web-1"]
    for headers in (None, {"Metadata-Flavor": "google-ish"}):
        status, response_headers, body = read(base, headers=headers)
        assert status == 403 and "Metadata-Flavor" in body
        assert response_headers["Metadata-Flavor"] == "Google"
    status, _, _ = read(base, "scheduling/", headers=None)
    assert status == 403
    # a request that came through a proxy is refused as GCE does
    status, _, body = read(base, headers={**FLAVOR, "X-Forwarded-For": "10.0.0.1"})
    assert status == 403 and "X-Forwarded-For" in body


def test_a_read_is_the_value_as_plain_text_with_an_etag_and_the_flavor_header(server):
    base = create(server)["vms"]["web-1"]
    status, headers, body = read(base)
    assert (status, body) == (200, "NONE")
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Metadata-Flavor"] == "Google" and len(headers["ETag"]) >= 8
    assert read(base)[1]["ETag"] == headers["ETag"]  # nothing changed, same tag
    status, headers, body = read(base, query={"alt": "json"})
    assert (status, body) == (200, '"NONE"')


def test_unknown_vms_and_rehearsals_are_404(server):
    created = create(server)
    base = created["vms"]["web-1"]
    assert read(base.replace("/vms/web-1/", "/vms/nope/"))[0] == 404
    assert read(base.replace(created["id"], "x" * 16))[0] == 404
    assert read(base, "scheduling/nope")[0] == 404
    assert request(server.base_url + "/rehearsals/" + "y" * 16 + "/")[0] == 404


def test_without_the_token_every_page_and_endpoint_is_404(server):
    created = create(server)
    rid, token = created["id"], created["token"]
    wrong = "W" * len(token)
    root = f"{server.base_url}/rehearsals/{rid}"
    assert read(created["vms"]["web-1"].replace(token, wrong))[0] == 404
    assert request(created["events"].replace(token, wrong))[0] == 404
    assert (
        request(
            f"{root}/{wrong}/compute/v1/projects/p/zones/zone-t/instances/web-1/simulateMaintenanceEvent",
            method="POST",
            data=b"",
        )[0]
        == 404
    )
    assert (
        request(
            f"{root}/{wrong}/compute/v1/projects/p/zones/zone-t/operations/operation-simulate-1"
        )[0]
        == 404
    )
    # the page and its fragments need the creator's cookie
    assert request(root + "/")[0] == 404
    assert request(root + "/board/")[0] == 404
    assert request(root + "/", headers={"Cookie": f"rehearsal-{rid}={wrong}"})[0] == 404
    assert request(root + "/", headers={"Cookie": f"rehearsal-{rid}={token}"})[0] == 200
    # nothing was started by the refused POST
    assert not any(e["kind"] == "maintenance_start" for e in events(created)["events"])


def test_a_hanging_get_returns_as_soon_as_the_value_changes(server):
    created = create(server, speed=20)
    base = created["vms"]["web-1"]
    _, headers, value = read(base)
    etag = headers["ETag"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            read, base, query={"wait_for_change": "true", "last_etag": etag, "timeout_sec": "30"}
        )
        time.sleep(0.5)
        assert not waiting.done()  # held: nothing changed yet
        changed_at = time.monotonic()
        assert simulate(created, "web-1")[0] == 200
        status, new_headers, new_value = waiting.result(timeout=10)
        returned_after = time.monotonic() - changed_at
    assert status == 200 and (value, new_value) == ("NONE", "MIGRATE_ON_HOST_MAINTENANCE")
    assert new_headers["ETag"] != etag
    assert returned_after < 1.0, returned_after


def test_a_hanging_get_returns_the_same_value_and_etag_at_its_timeout(server):
    base = create(server)["vms"]["web-1"]
    _, headers, _ = read(base)
    started = time.monotonic()
    status, new_headers, body = read(
        base, query={"wait_for_change": "true", "last_etag": headers["ETag"], "timeout_sec": "1"}
    )
    elapsed = time.monotonic() - started
    assert (status, body, new_headers["ETag"]) == (200, "NONE", headers["ETag"])
    assert 0.9 <= elapsed < 3, elapsed


def test_a_hanging_get_with_a_stale_etag_answers_at_once(server):
    base = create(server)["vms"]["web-1"]
    started = time.monotonic()
    status, headers, body = read(
        base, query={"wait_for_change": "true", "last_etag": "stale", "timeout_sec": "20"}
    )
    assert (status, body) == (200, "NONE") and time.monotonic() - started < 2


def test_the_etag_changes_exactly_when_the_value_changes(server):
    created = create(server, speed=50)
    base = created["vms"]["web-1"]
    seen = [read(base)]
    assert simulate(created, "web-1")[0] == 200

    def back_to_none():
        seen.append(read(base))
        return len(seen) > 2 and seen[-1][2] == "NONE"

    wait_until(back_to_none, timeout=15, every=0.02)
    pairs = [(body, headers["ETag"]) for status, headers, body in seen if status == 200]
    values = [v for v, _ in pairs]
    assert "MIGRATE_ON_HOST_MAINTENANCE" in values
    for (v1, e1), (v2, e2) in zip(pairs, pairs[1:], strict=False):
        assert (v1 == v2) == (e1 == e2), (v1, e1, v2, e2)
    # NONE before and NONE after are two different states of the key: two tags
    assert pairs[0][1] != pairs[-1][1]


def test_scheduling_lists_its_keys_and_answers_each(server):
    base = create(server)["vms"]["web-1"]
    status, headers, body = read(base, "scheduling/")
    assert status == 200 and body.split() == [
        "automaticRestart",
        "onHostMaintenance",
        "preemptible",
    ]
    assert headers["Metadata-Flavor"] == "Google"
    answers = {key: read(base, f"scheduling/{key}")[2] for key in body.split()}
    assert answers == {
        "automaticRestart": "TRUE",
        "onHostMaintenance": "MIGRATE",
        "preemptible": "FALSE",
    }
    status, _, body = read(base, "scheduling/", query={"recursive": "true"})
    assert status == 200 and '"onHostMaintenance": "MIGRATE"' in body


def test_bad_query_parameters_are_400_with_the_reason(server):
    base = create(server)["vms"]["web-1"]
    status, _, body = read(base, query={"wait_for_change": "true", "timeout_sec": "soon"})
    assert status == 400 and "timeout_sec" in body
    for odd in (
        "0",
        "-1",
        "\u2460",
        "1.5",
    ):  # the last but one is a digit to str.isdigit, not to int
        status, _, body = read(base, query={"wait_for_change": "true", "timeout_sec": odd})
        assert status == 400 and "timeout_sec" in body, odd
    status, _, body = read(base, query={"wait_for_change": "perhaps"})
    assert status == 400 and "wait_for_change" in body
    status, _, body = read(base, query={"alt": "xml"})
    assert status == 400 and "alt" in body
    status, _, _ = request(
        base + META + "maintenance-event", method="POST", data=b"", headers=FLAVOR
    )
    assert status == 405


def test_a_vm_name_that_needs_quoting_in_a_url_still_has_its_endpoint(server):
    created = create(
        server, scenario=vm_list_scenario(vms=(("été x?", "r1-h1"), ("web-1", "r1-h1")))
    )
    base = created["vms"]["été x?"]
    assert "%" in base  # percent-encoded by the server
    status, headers, body = read(base)
    assert (status, body) == (200, "NONE") and headers["ETag"]
