"""Sign-in and sign-up hash a password (~0.4 s of CPU): they run in a pool thread, so the one
thread Django keeps for sync views, which every page waits for, is never held by them."""

import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import AsyncClient

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def hashing_threads(monkeypatch):
    seen = []
    verify, encode = PBKDF2PasswordHasher.verify, PBKDF2PasswordHasher.encode

    def spy_verify(self, password, encoded):
        seen.append(threading.get_ident())
        return verify(self, password, encoded)

    def spy_encode(self, password, salt, iterations=None):
        seen.append(threading.get_ident())
        return encode(self, password, salt, iterations)

    monkeypatch.setattr(PBKDF2PasswordHasher, "verify", spy_verify)
    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", spy_encode)
    return seen


async def shared_sync_thread() -> int:
    return await sync_to_async(threading.get_ident, thread_sensitive=True)()


@pytest.mark.parametrize("offload", [True, False])
async def test_a_sign_in_hashes_outside_the_shared_sync_thread(settings, hashing_threads, offload):
    settings.PLAYGROUND_VIEWS_IN_WORKER_THREADS = offload
    await sync_to_async(User.objects.create_user)("ada", password=PASSWORD)
    hashing_threads.clear()
    answer = await AsyncClient().post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == 302  # signed in
    assert hashing_threads
    # the control (offload off, as in the test settings) shows the check can fail
    assert (await shared_sync_thread() in hashing_threads) is not offload


async def test_a_sign_up_hashes_outside_the_shared_sync_thread(settings, hashing_threads):
    settings.PLAYGROUND_VIEWS_IN_WORKER_THREADS = True
    answer = await AsyncClient().post(
        "/accounts/signup/",
        {"username": "grace", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert answer.status_code == 302
    assert await sync_to_async(User.objects.filter(username="grace").exists)()
    assert hashing_threads and await shared_sync_thread() not in hashing_threads
