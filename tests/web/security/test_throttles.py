"""Throttles per visitor on what costs others: failed sign-ins (django-axes: per username and
per client address, a lockout that says when to retry), sign-ups per address per hour (each
account is a new run budget). Active rehearsals: ``test_rehearsal_limits.py``; the limiter's
atomicity on both databases: ``test_limits_atomic.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

RIGHT = {"username": "alice", "password": "alice-password-1"}


def _wrong(client: Client, username: str = "alice"):
    return client.post("/accounts/login/", {"username": username, "password": "not-it"})


# --- sign-ins ----------------------------------------------------------------------------------


def test_it_locks_out_a_username_after_n_failures_from_anywhere(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    codes = [_wrong(Client(REMOTE_ADDR=f"10.0.0.{i}")).status_code for i in range(1, 6)]
    assert codes == [200, 200, 429, 429, 429]  # the 3rd failure locks it
    # even the right password, from a fresh address, until the cool-off is over
    response = Client(REMOTE_ADDR="10.9.9.9").post("/accounts/login/", RIGHT)
    assert response.status_code == 429 and "_auth_user_id" not in response.client.session


def test_the_lockout_says_when_to_retry_in_words_and_in_retry_after(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    _wrong(client)
    response = _wrong(client)
    html = response.content.decode()
    assert response.status_code == 429
    assert 'id="refused"' in html and "Too many failed sign-ins" in html
    assert "Try again in 15 min." in html
    assert 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    assert 'id="login-form"' in html and "Traceback" not in html  # the page, in our style


def test_it_locks_out_an_address_trying_many_usernames(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    sprayer = Client(REMOTE_ADDR="10.6.6.6")
    codes = [_wrong(sprayer, name).status_code for name in ("a", "b", "c", "alice", "d")]
    assert codes == [200, 200, 429, 429, 429]
    # alice herself, from her own address, is not locked out by the sprayer's failures
    assert Client(REMOTE_ADDR="10.1.1.1").post("/accounts/login/", RIGHT).status_code == 302


def test_the_lockout_ends_after_the_cool_off(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    _wrong(client), _wrong(client)
    assert client.post("/accounts/login/", RIGHT).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert client.post("/accounts/login/", RIGHT).status_code == 302


def test_forty_wrong_passwords_in_a_row_are_not_forty_tries(user):
    """The attacker's trial: 40 wrong passwords all got 200. With the defaults, the 10th locks."""
    client = Client()
    codes = [_wrong(client).status_code for _ in range(40)]
    assert codes.count(200) == 9 and set(codes[9:]) == {429}


# --- sign-ups ----------------------------------------------------------------------------------


def _signup(client: Client, name: str):
    return client.post(
        "/accounts/signup/",
        {"username": name, "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )


def test_sign_ups_from_one_address_are_limited_per_hour(settings):
    settings.PLAYGROUND_SIGNUPS_PER_HOUR = 2
    codes = [_signup(Client(REMOTE_ADDR="10.2.2.2"), f"user{i}").status_code for i in range(4)]
    assert codes == [302, 302, 429, 429]
    assert get_user_model().objects.count() == 2
    refused = _signup(Client(REMOTE_ADDR="10.2.2.2"), "late")
    html = refused.content.decode()
    assert "Visitors from your address created 2 accounts in the last hour (the limit)" in html
    assert 'id="signup-form"' in html and 1 <= int(refused["Retry-After"]) <= 3600
    assert _signup(Client(REMOTE_ADDR="10.3.3.3"), "elsewhere").status_code == 302


def test_a_refused_sign_up_form_with_errors_does_not_count(settings):
    settings.PLAYGROUND_SIGNUPS_PER_HOUR = 1
    client = Client(REMOTE_ADDR="10.4.4.4")
    bad = client.post("/accounts/signup/", {"username": "x", "password1": "a", "password2": "b"})
    assert bad.status_code == 422
    assert _signup(client, "ok-user").status_code == 302


def test_the_sign_up_default_is_a_handful_per_hour():
    from django.conf import settings

    assert 1 <= settings.PLAYGROUND_SIGNUPS_PER_HOUR <= 10
    assert 5 <= settings.AXES_FAILURE_LIMIT <= 20
