from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    """The project itself: settings, URLs, ASGI and Celery wiring, and the migrations that made
    the tables before the models moved to their apps (``migrations/0006``)."""

    name = "playground"
    verbose_name = "Migration playground"

    def ready(self) -> None:
        from django.conf import settings

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        from .celery import ensure_broker_folders

        ensure_broker_folders()
