from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    name = "playground"
    verbose_name = "Migration playground"

    def ready(self) -> None:
        from django.conf import settings

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        from .celery import ensure_broker_folders

        ensure_broker_folders()
        from . import access  # noqa: F401  (connects adopt_on_login)
