from django.apps import AppConfig


class RunsConfig(AppConfig):
    """The one run pipeline: every kind of run is queued, claimed, leased, streamed, finished or
    failed here. The product apps register their kinds (``kinds.register``)."""

    name = "playground.runs"
    label = "runs"
