from django.urls import path, re_path

from .consumers import NoSuchStream, RunConsumer

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", RunConsumer.as_asgi(kind="run")),
    path("ws/fleet-runs/<int:run_id>/", RunConsumer.as_asgi(kind="fleet")),
    re_path(r"", NoSuchStream.as_asgi()),  # last: any other path closes with 4404, not a 500
]
