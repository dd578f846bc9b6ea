"""No request waits for Django's one sync thread because of the middleware around it."""

import pytest
from django.conf import settings
from django.test import AsyncClient
from django.utils.module_loading import import_string


def test_every_middleware_can_run_async():
    """One sync-only middleware would put every view under it, async ones too, in the one
    thread Django keeps for sync code: a slow request would then hold up every page."""
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


@pytest.mark.asyncio
async def test_static_files_are_served_on_the_async_path(db, settings):
    # from the finders, as in embedded mode (production serves collectstatic's hashed copies)
    settings.WHITENOISE_AUTOREFRESH = settings.WHITENOISE_USE_FINDERS = True
    response = await AsyncClient().get("/static/js/run_stream.js")
    assert response.status_code == 200
    body = b"".join([part async for part in response])
    assert b"WebSocket" in body
