"""ASGI entry point: ``http`` goes to Django (request bodies capped: ``limits``), ``websocket``
to the Channels consumers, behind a cap on sockets per client address (``limits``), an Origin check (scheme, host and port: ``ops/origins.py``) and
the session and user (``scope["user"]``, ``scope["session"]``) the consumers check owners with.

Run it with ``daphne playground.asgi:application``.
"""

import os
import sys

from django.core.asgi import get_asgi_application

# A thread parsing or validating a large body holds the GIL; the event loop (WebSockets,
# /healthz) waits for it at most this long per switch instead of the default 5 ms.
sys.setswitchinterval(0.001)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from playground.accounts.limits import RequestBodyLimit, WebSocketsPerClient  # noqa: E402
from playground.ops import backpressure  # noqa: E402
from playground.ops.origins import OriginValidator  # noqa: E402
from playground.runs.routing import websocket_urlpatterns  # noqa: E402

# daphne streams a response body as fast as the app yields it; wait for the client instead
backpressure.install()

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": WebSocketsPerClient(
            OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
