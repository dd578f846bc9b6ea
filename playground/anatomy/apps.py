from django.apps import AppConfig


class AnatomyConfig(AppConfig):
    """The anatomy of one VM's live migration: the form, the run page, past runs. Its runs are
    the ``"run"`` kind of the one pipeline."""

    name = "playground.anatomy"
    label = "anatomy"

    def ready(self) -> None:
        from migrationsim import InvalidParameter
        from playground.runs import kinds

        from .models import Run, RunEvent
        from .runner import run_migration

        kinds.register(
            kinds.RunKind(
                name="run",
                model=Run,
                event_model=RunEvent,
                runner=run_migration,
                invalid_input=(InvalidParameter,),
                invalid_message="The stored parameters are no longer valid: {error}",
                failed_message="The model failed: {error}",
            )
        )
