"""Accounts are Django's own: sign in, sign out (a POST), sign up; the nav says who you are."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_the_nav_offers_sign_in_to_anonymous_visitors(anon_client):
    html = anon_client.get("/").content.decode()
    assert 'href="/accounts/login/" id="login">Sign in</a>' in html and "Signed in as" not in html


def test_signing_in_with_the_right_password_and_the_nav_says_who(anon_client, user):
    wrong = anon_client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert (
        wrong.status_code == 200
        and "Please enter a correct username and password" in wrong.content.decode()
    )
    response = anon_client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-1"}
    )
    assert response.status_code == 302 and response.url == "/"
    assert "Signed in as <strong>alice</strong>" in anon_client.get("/").content.decode()


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(anon_client, user):
    data = {"username": "alice", "password": "alice-password-1"}
    assert anon_client.post("/accounts/login/", {**data, "next": "/fleets/"}).url == "/fleets/"
    anon_client.post("/accounts/logout/")
    assert (
        anon_client.post("/accounts/login/", {**data, "next": "https://evil.example/"}).url == "/"
    )


def test_signing_out_is_a_post(client):
    assert client.get("/accounts/logout/").status_code == 405
    assert "Signed in as" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert "Signed in as" not in client.get("/").content.decode()


def test_signing_up_checks_the_password_and_signs_you_in(anon_client):
    mismatch = anon_client.post(
        "/accounts/signup/",
        {"username": "dan", "password1": "a-long-passphrase-9", "password2": "another-one-9"},
    )
    assert mismatch.status_code == 422 and 'id="id_password2_error"' in mismatch.content.decode()
    weak = anon_client.post(
        "/accounts/signup/", {"username": "dan", "password1": "password", "password2": "password"}
    )
    assert weak.status_code == 422 and "too common" in weak.content.decode()
    created = anon_client.post(
        "/accounts/signup/",
        {"username": "dan", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert created.status_code == 302
    assert get_user_model().objects.filter(username="dan").exists()
    assert "Signed in as <strong>dan</strong>" in anon_client.get("/").content.decode()


def test_a_username_is_shown_as_text(anon_client):
    anon_client.post(
        "/accounts/signup/",
        {
            "username": "<b>x</b>",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    get_user_model().objects.create_user("<img src=x>", password="a-long-passphrase-9")
    anon_client.post(
        "/accounts/login/", {"username": "<img src=x>", "password": "a-long-passphrase-9"}
    )
    html = anon_client.get("/").content.decode()
    assert "Signed in as <strong>&lt;img src=x&gt;</strong>" in html and "<img src=x>" not in html


def test_a_double_submitted_sign_up_is_the_form_saying_the_name_is_taken_not_a_500(
    anon_client, monkeypatch
):
    """Two sign-ups of one name at once (a double click: hashing the password takes 0.4 s
    between the form's check and the insert) both passed the form's uniqueness check; the
    second insert raised IntegrityError, a 500. It is the form's own error now."""
    from playground.accounts import limits

    real_check = limits.check

    def the_other_click_first(request, bucket):
        get_user_model().objects.create_user("erin", password="x-Long-passw0rd")
        return real_check(request, bucket)

    monkeypatch.setattr(limits, "check", the_other_click_first)
    anon_client.raise_request_exception = False
    password = "correct-horse-battery-9"
    response = anon_client.post(
        "/accounts/signup/", {"username": "erin", "password1": password, "password2": password}
    )
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert get_user_model().objects.filter(username="erin").count() == 1
