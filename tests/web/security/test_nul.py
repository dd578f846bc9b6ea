"""A NUL character in an address, a query or a form sent reached the database in a lookup (a
VM's name in its anatomy's address, ``?host=`` of a run's timeline, the plan's approval):
psycopg refuses text holding one (``DataError``), a 500 on PostgreSQL. Refused at once, 400."""

import pytest
from psycopg.types.string import StrDumper

from playground.fleets import services as fleet_services
from playground.runs.models import RunStatus

from ..fleet_support import tiny

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
