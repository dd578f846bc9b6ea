"""Slow sync views in a worker thread of their own, not in Django's one sync thread.

Under ASGI, Django runs every sync view in a single shared thread (``thread_sensitive``), so
one view that burns CPU (hashing a password: about 0.4 s with Django's PBKDF2) holds up every
page behind it. ``in_worker_thread`` turns such a view into an async view that runs the sync
one in a pool thread, renders its response there, and closes that thread's database
connections afterwards (they are not the request's: Django's request-finished signal closes
only the shared thread's).

The test suite's database lives in a transaction that other threads cannot see, so with
``PLAYGROUND_VIEWS_IN_WORKER_THREADS`` off (``settings_test``) the view runs inline; the tests
against a real server (daphne) take the worker-thread path.
"""

from __future__ import annotations

import functools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections


def in_worker_thread(view):
    @functools.wraps(view)
    async def async_view(request, *args, **kwargs):
        if not settings.PLAYGROUND_VIEWS_IN_WORKER_THREADS:
            return await sync_to_async(_render, thread_sensitive=True)(view, request, args, kwargs)
        return await sync_to_async(_render_and_close, thread_sensitive=False)(
            view, request, args, kwargs
        )

    return async_view


def _render(view, request, args, kwargs):
    response = view(request, *args, **kwargs)
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()  # a TemplateResponse reads the database while rendering
    return response


def _render_and_close(view, request, args, kwargs):
    try:
        return _render(view, request, args, kwargs)
    finally:
        close_old_connections()
