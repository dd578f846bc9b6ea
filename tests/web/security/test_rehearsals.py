"""Rehearsals (in daphne's memory, ``playground/rehearsals.py``) tie into accounts without
changing their token API: a rehearsal a signed-in user starts from the page is theirs in any
browser they sign in with; a stranger, signed in or not, gets 404; a guest with the token in its
URL is served whoever it is, and a cookie or a sign-in never replaces the token there. A real
daphne process (embedded mode, its own migrated database: accounts need tables)."""

from __future__ import annotations

import re
import subprocess
import urllib.parse

import pytest

from ..rehearsal_support import FLAVOR, META, browser, request, running_daphne
from ..support import PYTHON, ROOT, _clean_env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rehearsal-accounts")
    env = {**_clean_env(), "PLAYGROUND_VAR_DIR": str(tmp / "var")}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    users = (
        "from django.contrib.auth.models import User; "
        "[User.objects.create_user(n, password=n + '-password-1') for n in ('alice', 'bob')]"
    )
    subprocess.run([PYTHON, "manage.py", "shell", "-c", users], cwd=ROOT, env=env, check=True)
    with running_daphne("embedded", tmp) as running:
        yield running


def _token(server, opener, path):
    status, _, html = request(server.base_url + path, opener=opener)
    assert status == 200, html[:300]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _post(server, opener, path, data):
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": _token(server, opener, path), **data}
    ).encode()
    return request(
        server.base_url + path,
        method="POST",
        data=body,
        opener=opener,
        headers={"Referer": server.base_url + path},
    )


def _signed_in(server, name):
    opener = browser()
    status, _, html = _post(
        server, opener, "/accounts/login/", {"username": name, "password": f"{name}-password-1"}
    )
    assert status == 200 and f"Signed in as <strong>{name}</strong>" in html, html[:300]
    return opener


def test_a_rehearsal_a_user_starts_is_theirs_in_any_browser_and_nobody_elses(server):
    first = _signed_in(server, "alice")
    status, _, html = _post(server, first, "/rehearsals/", {"preset": "demo", "speed": "10"})
    assert status == 200 and "Rehearsal: demo" in html, html[:300]
    page = re.search(r'hx-get="(/rehearsals/[^/]+/)board/"', html).group(1)
    example = re.search(r"curl -H 'Metadata-Flavor: Google' '([^']+)computeMetadata", html).group(1)

    elsewhere = _signed_in(server, "alice")  # another browser: no rehearsal cookie
    assert request(server.base_url + page, opener=elsewhere)[0] == 200
    assert request(server.base_url + page + "board/", opener=elsewhere)[0] == 200
    assert page in request(server.base_url + "/rehearsals/", opener=elsewhere)[2]  # listed as hers

    for stranger in (_signed_in(server, "bob"), browser()):
        assert request(server.base_url + page, opener=stranger)[0] == 404
        assert request(server.base_url + page + "board/", opener=stranger)[0] == 404

    # the guest API: the token in the URL, whoever asks; her sign-in does not replace it
    assert request(example + META + "maintenance-event", headers=FLAVOR)[0] == 200
    forged = re.sub(r"(/rehearsals/[^/]+/)[^/]+(/vms/)", r"\g<1>" + "x" * 32 + r"\g<2>", example)
    assert forged != example
    assert request(forged + META + "maintenance-event", headers=FLAVOR, opener=elsewhere)[0] == 404
