from django.apps import AppConfig


class FleetsConfig(AppConfig):
    """Fleets: a zone, its VMs and its maintenance; plans, runs and their results, compare,
    sweeps and exports. Its runs are the ``"fleet"`` kind of the one pipeline."""

    name = "playground.fleets"
    label = "fleets"

    def ready(self) -> None:
        from migrationsim.fleet.scenario import ScenarioError
        from playground.runs import kinds

        from .models import FleetPlan, FleetPlanEvent, FleetRun, FleetRunMessage
        from .planning import compute_plan
        from .runner import run_fleet

        kinds.register(
            kinds.RunKind(
                name="fleet",
                model=FleetRun,
                event_model=FleetRunMessage,
                runner=run_fleet,
                invalid_input=(ScenarioError,),
                invalid_message="The stored scenario is no longer valid: {error}",
                failed_message="The fleet engine failed: {error}",
                events_noun="progress frames",
                max_events_setting="PLAYGROUND_FLEET_MAX_FRAMES",
                batch_size_setting="PLAYGROUND_FLEET_PUBLISH_BATCH_SIZE",
                interval_setting="PLAYGROUND_FLEET_PUBLISH_INTERVAL_S",
                bytes_per_s_setting="PLAYGROUND_FLEET_STREAM_BYTES_PER_S",
                replay_page=200,
            )
        )
        kinds.register(
            kinds.RunKind(
                name="plan",
                model=FleetPlan,
                event_model=FleetPlanEvent,
                runner=compute_plan,
                invalid_input=(ScenarioError,),
                invalid_message="The scenario is not valid: {error}",
                failed_message="The plan could not be computed: {error}",
                events_noun="steps",
            )
        )
