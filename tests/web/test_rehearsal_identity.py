"""Who a guest is, read from its rehearsal's metadata server the way GCE serves it: the project
(``project/project-id``, ``project/numeric-project-id``) and the instance (``instance/id``,
``name``, ``zone``), over real HTTP against daphne, read by google-auth's own compute-engine
metadata helpers and by ``google.auth.default()``."""

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from playground.rehearsals import identity

from .rehearsal_support import FLAVOR, create, request, running_daphne

google_auth_metadata = pytest.importorskip("google.auth.compute_engine._metadata")
google_auth_requests = pytest.importorskip("google.auth.transport.requests")

V1 = "computeMetadata/v1/"
# GCE's rules for a project id (the Resource Manager's): 6 to 30 characters, lowercase letters,
# digits and hyphens, starting with a letter, not ending with a hyphen.
GCE_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_daphne("embedded", tmp_path_factory.mktemp("rehearsal-identity")) as running:
        yield running


def metadata_host(base_url: str) -> str:
    """What a guest puts in ``GCE_METADATA_HOST``: the VM's base URL without scheme or slash."""
    return base_url.removeprefix("http://").removesuffix("/")


@pytest.fixture
def google_auth_pointed_at(monkeypatch):
    """google-auth's metadata client aimed at one VM's base URL, as ``GCE_METADATA_HOST`` and
    ``GCE_METADATA_IP`` would aim it (the host is read at import, so it is set on the module)."""

    def point(base_url: str):
        host = metadata_host(base_url)
        monkeypatch.setattr(google_auth_metadata, "_GCE_METADATA_HOST", host)
        monkeypatch.setenv("GCE_METADATA_IP", host)
        monkeypatch.setenv("GCE_METADATA_MTLS_MODE", "none")
        return google_auth_requests.Request()

    return point


def read(base: str, key: str, query: dict | None = None, headers=FLAVOR, method="GET"):
    url = base + V1 + key + ("?" + urllib.parse.urlencode(query) if query else "")
    return request(url, headers=headers or {}, method=method)


# --- google-auth, unmodified ---------------------------------------------------------------------


def test_google_auths_metadata_helpers_name_the_project_and_the_instance(
    server, google_auth_pointed_at
):
    created = create(server)
    google = google_auth_pointed_at(created["vms"]["web-1"])
    project, number = created["project"], created["project_number"]

    assert google_auth_metadata.ping(google) is True
    assert google_auth_metadata.is_on_gce(google) is True
    assert google_auth_metadata.get_project_id(google) == project
    assert google_auth_metadata.get(google, "project/numeric-project-id") == str(number)
    assert google_auth_metadata.get(google, "instance/name") == "web-1"
    assert google_auth_metadata.get(google, "instance/zone") == f"projects/{number}/zones/zone-t"
    assert re.fullmatch(r"[1-9][0-9]{18}", google_auth_metadata.get(google, "instance/id"))
    assert google_auth_metadata.get(google, "project/", recursive=True) == {
        "numericProjectId": number,
        "projectId": project,
    }
    assert (
        google_auth_metadata.get(google, "instance/nope", return_none_for_not_found_error=True)
        is None
    )


def test_a_recursive_read_of_the_instance_is_gce_shaped_json(server, google_auth_pointed_at):
    created = create(server)
    google = google_auth_pointed_at(created["vms"]["db-1"])
    instance = google_auth_metadata.get(google, "instance/", recursive=True)
    assert instance == {
        "id": instance["id"],
        "maintenanceEvent": "NONE",
        "name": "db-1",
        "scheduling": {
            "automaticRestart": "TRUE",
            "onHostMaintenance": "MIGRATE",
            "preemptible": "FALSE",
        },
        "zone": f"projects/{created['project_number']}/zones/zone-t",
    }
    assert isinstance(instance["id"], int)  # a number in JSON, as on GCE
    assert str(instance["id"]) == google_auth_metadata.get(google, "instance/id")


def test_google_auth_default_names_the_project_from_the_metadata_server(server, tmp_path):
    """The guest's own program, unchanged: only the environment points it at the rehearsal
    (no credentials file, no gcloud configuration, no project variable)."""
    created = create(server)
    host = metadata_host(created["vms"]["cache-1"])
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "GCE_"))
    }
    env.update(
        {
            "GCE_METADATA_HOST": host,
            "GCE_METADATA_IP": host,
            "CLOUDSDK_CONFIG": str(tmp_path / "no-gcloud"),
            "HOME": str(tmp_path),
        }
    )
    program = (
        "import json, google.auth\n"
        "credentials, project = google.auth.default()\n"
        "print(json.dumps([type(credentials).__module__, project]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    module, project = json.loads(done.stdout.splitlines()[-1])
    assert project == created["project"]
    assert module == "google.auth.compute_engine.credentials"


# --- the server's rules, as GCE's ----------------------------------------------------------------


def test_each_key_needs_the_flavor_header_and_answers_with_it(server):
    base = create(server)["vms"]["web-1"]
    for key in ("project/project-id", "instance/zone", "instance/", ""):
        status, headers, body = read(base, key, headers=None)
        assert status == 403 and "Metadata-Flavor" in body, key
        status, headers, body = read(base, key)
        assert status == 200 and headers["Metadata-Flavor"] == "Google", key
        assert headers["ETag"] and headers["Cache-Control"] == "no-store", key
    assert read(base, "project/project-id", method="POST")[0] == 405


def test_directories_list_their_entries_and_unknown_keys_are_404(server):
    created = create(server)
    base = created["vms"]["web-1"]
    assert read(base, "")[2].split() == ["instance/", "project/"]
    assert read(base, "project/")[2].split() == ["numeric-project-id", "project-id"]
    assert read(base, "instance/")[2].split() == [
        "id",
        "maintenance-event",
        "name",
        "scheduling/",
        "zone",
    ]
    status, _, body = request(base + "computeMetadata/", headers=FLAVOR)
    assert (status, body) == (200, "v1/\n")
    for unknown in ("project/nope", "instance/id/", "nope/", "project/project-id/x"):
        status, headers, _ = read(base, unknown)
        assert status == 404 and headers["Metadata-Flavor"] == "Google", unknown


def test_a_directory_without_its_slash_is_a_redirect_to_it(server):
    base = create(server)["vms"]["web-1"]
    url = urllib.parse.urlsplit(base + V1 + "project?recursive=true")
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", f"{url.path}?{url.query}", headers=FLAVOR)
    moved = connection.getresponse()
    assert moved.status == 301 and moved.getheader("Metadata-Flavor") == "Google"
    assert moved.getheader("Location") == "project/?recursive=true"
    connection.close()
    status, _, body = read(base, "project", query={"recursive": "true"})  # urllib follows it
    assert status == 200 and json.loads(body)["projectId"]


def test_values_in_text_and_as_json(server):
    created = create(server)
    base = created["vms"]["web-1"]
    status, headers, body = read(base, "project/numeric-project-id")
    assert (status, body) == (200, str(created["project_number"]))
    assert headers["Content-Type"].startswith("text/plain")
    status, headers, body = read(base, "project/numeric-project-id", query={"alt": "json"})
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == created["project_number"]
    assert json.loads(read(base, "instance/name", query={"alt": "json"})[2]) == "web-1"
    status, _, body = read(base, "instance/zone", query={"wait_for_change": "true"})
    assert status == 400 and "wait_for_change" in body
    status, _, body = read(base, "instance/zone", query={"alt": "xml"})
    assert status == 400 and "alt" in body


def test_vms_of_a_rehearsal_share_its_project_and_differ_in_id(server):
    one, other = create(server), create(server)
    ids = {read(one["vms"][vm], "instance/id")[2] for vm in one["vms"]}
    assert len(ids) == len(one["vms"])
    projects = {read(one["vms"][vm], "project/project-id")[2] for vm in one["vms"]}
    assert projects == {one["project"]}
    assert one["project"] != other["project"]
    assert one["project_number"] != other["project_number"]


def test_the_zone_comes_from_the_scenario(server):
    from .rehearsal_support import vm_list_scenario

    scenario = vm_list_scenario()
    scenario["fleet"]["zone"] = "europe-west4-b"
    created = create(server, scenario=scenario)
    zone = read(created["vms"]["web-1"], "instance/zone")[2]
    assert zone == f"projects/{created['project_number']}/zones/europe-west4-b"


# --- the identity itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rehearsal-test", "", "123", "Été x?", "--", "a" * 80, "Heartbleed: 25,600 VMs"]
)
def test_a_project_id_follows_gces_rules_whatever_the_scenario_name(name):
    project = identity.project_for(name)
    assert GCE_PROJECT_ID.fullmatch(project.project_id), project.project_id
    assert re.fullmatch(r"[1-9][0-9]{11}", str(project.numeric_id))


def test_instance_ids_are_distinct_19_digit_numbers_below_2_to_the_63():
    ids = identity.instance_ids(f"vm-{n}" for n in range(2000))
    assert len(set(ids.values())) == 2000
    assert all(10**18 <= number < 2**63 for number in ids.values())
