from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What keeps the playground running: health checks, structured logs, the embedded channel
    layer, static files, and the template filters every page uses."""

    name = "playground.ops"
    label = "ops"
