"""A NUL character in an address, a query or a form sent reached the database in a lookup (a
VM's name in its anatomy's address, ``?host=`` of a run's timeline, the plan's approval):
psycopg refuses text holding one (``DataError``), a 500 on PostgreSQL. Refused at once, 400,
in a multipart form and a JSON body (``\\u0000``) too, whatever the view behind (before: each
form field's own check, a 422, or the view's own pattern for a value it reads raw); a file's
content by its reader, next to its field."""

import asyncio
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import AsyncRequestFactory
from psycopg.types.string import StrDumper

from playground.fleets import services as fleet_services
from playground.fleets.models import Fleet
from playground.ops.errors import refuse_nul
from playground.runs.models import RunStatus

from ..fleet_support import fleet_post_data, tiny

pytestmark = pytest.mark.django_db


def test_postgresql_s_driver_refuses_a_nul():
    with pytest.raises(Exception, match="NUL"):
        StrDumper(str).dump("vm\x00")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/fleets/runs/{run}/timeline.json?host=r1-h1%00", None),
        ("post", "/fleets/runs/{run}/vms/vm%00/anatomy/", None),
        ("get", "/fleets/runs/{run}/?share=a%00b", None),
        ("post", "/fleets/{fleet}/plan/", "approval=%00"),
    ],
)
def test_a_nul_anywhere_is_a_400_in_words(client, alice, method, path, data):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    run = fleet_services.start_run(scenario=tiny(), fleet=fleet, queue=False, visitor=alice)
    run.status = RunStatus.DONE
    run.save(update_fields=["status"])
    url = path.format(run=run.pk, fleet=fleet.pk)
    sent = {"data": data, "content_type": "application/x-www-form-urlencoded"} if data else {}
    response = getattr(client, method)(url, **sent)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_requests_without_a_nul_are_left_alone(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    assert client.get(f"/fleets/{fleet.pk}/").status_code == 200
    assert client.get("/fleets/?q=x").status_code == 200


def test_an_import_holding_an_escaped_nul_is_a_422_naming_where(client):
    """JSON's \u0000 in an uploaded scenario was stored: PostgreSQL's jsonb refuses it, a 500."""
    import json

    from playground.fleets.models import Fleet

    data = tiny(description="a\x00b")
    response = client.post("/fleets/import/", {"text": json.dumps(data)})
    assert response.status_code == 422
    assert "description" in response.content.decode() and "NUL character" in (
        response.content.decode()
    )
    assert not Fleet.objects.exists()


# --- multipart forms -----------------------------------------------------------------------------


def test_a_nul_in_a_multipart_form_is_a_400_and_nothing_is_stored(client):
    """The fleet form sent as multipart/form-data (what any browser form with a file field
    sends, and a hand-made one may) met only its name field's own check (a 422): refused
    before the view, as the same form sent urlencoded is."""
    data = {**fleet_post_data(client, "/fleets/new/"), "name": "zone\x00a"}
    response = client.post("/fleets/new/", data)  # (the test client's default: multipart)
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert not Fleet.objects.exists()


@pytest.mark.parametrize(
    "sent",
    [
        {"text": "name: a\x00b"},  # a value
        {"te\x00xt": "name: ab"},  # a name
        {"text": "", "file": SimpleUploadedFile("ok.yaml", b"x: 1"), "n\x00": "1"},  # beside a file
    ],
)
def test_a_nul_in_any_name_or_value_of_a_multipart_upload_is_a_400(client, sent):
    response = client.post("/fleets/import/", sent)
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert not Fleet.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"name: a\x00b\n", b'{"name": "a\\u0000b"}', b'name: "a\\0b"\n', "\ufeffn".encode("utf-16")],
)
def test_a_nul_in_an_uploaded_file_is_refused_by_its_reader_next_to_the_field(client, content):
    """A file's content is not the middleware's: its reader says what is wrong with it (where
    the NUL is, or that a UTF-16 file is not UTF-8 text), next to the file field."""
    response = client.post("/fleets/import/", {"file": SimpleUploadedFile("s.yaml", content)})
    assert response.status_code == 422 and 'id="id_file_error"' in response.content.decode()
    assert not Fleet.objects.exists()


# --- JSON bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"preset": "demo\\u0000"}',  # JSON's escape
        b'{"preset": "demo", "scenario": {"n\\u0000": 1}}',  # in a key
        b'{"preset": "demo\\\\\\u0000"}',  # an escaped backslash, then the escape
        b'{"preset": "demo\x00"}',  # the byte itself
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_nul_in_a_json_body_is_a_json_400(anon_client, body, content_type):
    response = anon_client.post("/rehearsals/new.json", body, content_type=content_type)
    assert response.status_code == 400
    assert "NUL character" in response.json()["error"]


def test_a_json_body_sent_as_a_form_is_searched_too(anon_client):
    """``curl -d '{...}'`` sends JSON as application/x-www-form-urlencoded: the form's values
    hold no NUL, but the JSON endpoint reads the body."""
    response = anon_client.post(
        "/rehearsals/new.json",
        b'{"preset": "demo\\u0000"}',
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and "NUL character" in response.json()["error"]


def test_an_escaped_backslash_before_u0000_is_not_a_nul(anon_client):
    """``"\\\\u0000"`` is a backslash and the text u0000: the endpoint reads it (an unknown
    preset here), the middleware does not refuse it."""
    response = anon_client.post(
        "/rehearsals/new.json", b'{"preset": "demo\\\\u0000"}', content_type="application/json"
    )
    assert "NUL character" not in response.json().get("error", "")


def test_under_asgi_the_body_is_searched_too():
    """daphne runs the middleware in its async form: the body is searched there as well (in a
    thread, not on the event loop)."""

    async def view(request):
        return HttpResponse("reached")

    middleware = refuse_nul(view)
    factory = AsyncRequestFactory()
    refused = factory.post("/x.json", b'{"a": "\\u0000"}', content_type="application/json")
    allowed = factory.post("/x.json", b'{"a": "b"}', content_type="application/json")
    assert asyncio.run(middleware(refused)).status_code == 400
    response = asyncio.run(middleware(allowed))
    assert response.status_code == 200 and response.content == b"reached"
    assert json.loads(allowed.body) == {"a": "b"}  # the view can still read it
