from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", consumers.RunEventsConsumer.as_asgi()),
    path("ws/fleet-runs/<int:run_id>/", consumers.FleetRunConsumer.as_asgi()),
]
