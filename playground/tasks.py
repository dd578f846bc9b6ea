from celery import shared_task

from . import services


@shared_task(name="playground.run_migration", ignore_result=True)
def run_migration(run_id: int) -> bool:
    """Simulate one run. Safe to deliver twice: only the delivery that claims it does work."""
    return services.execute_run(run_id=run_id)


@shared_task(name="playground.run_fleet", ignore_result=True)
def run_fleet(run_id: int) -> bool:
    """Run one fleet scenario. Safe to deliver twice: only the delivery that claims it works."""
    from . import fleet_services

    return fleet_services.execute_run(run_id=run_id)
