from django.apps import AppConfig


class AnatomyConfig(AppConfig):
    """The anatomy of one VM's live migration: the form, the run page, past runs. Its runs are
    the ``"run"`` kind of the one pipeline."""

    name = "playground.anatomy"
    label = "anatomy"

    def ready(self) -> None:
        from migrationsim import InvalidParameter
        from migrationsim.memory_pages import WorkBudgetExceeded
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
                over_budget=(WorkBudgetExceeded,),
                over_budget_message="The run stopped before the migration ended: {error.message}",
                failed_message="The model failed: {error}",
            )
        )
