"""The models moved to their apps (``accounts``, ``anatomy``, ``fleets``; each app's 0001
takes them over under the same table names). This removes them from the ``playground`` app's
migration state only: no table is touched, no row moves."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('playground', '0005_names_as_long_as_the_engine_takes'),
        ('accounts', '0001_initial'),
        ('anatomy', '0001_initial'),
        ('fleets', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='fleet',
                name='owner',
            ),
            migrations.RemoveField(
                model_name='fleetrun',
                name='fleet',
            ),
            migrations.RemoveField(
                model_name='maintenanceevent',
                name='fleet',
            ),
            migrations.RemoveField(
                model_name='sweep',
                name='fleet',
            ),
            migrations.RemoveField(
                model_name='fleetrun',
                name='owner',
            ),
            migrations.RemoveField(
                model_name='fleetrun',
                name='sweep',
            ),
            migrations.RemoveField(
                model_name='fleetrunmessage',
                name='run',
            ),
            migrations.RemoveField(
                model_name='fleetrunvm',
                name='run',
            ),
            migrations.DeleteModel(
                name='RateLimitHit',
            ),
            migrations.RemoveField(
                model_name='run',
                name='owner',
            ),
            migrations.RemoveField(
                model_name='runevent',
                name='run',
            ),
            migrations.DeleteModel(
                name='Scenario',
            ),
            migrations.RemoveField(
                model_name='sweep',
                name='owner',
            ),
            migrations.DeleteModel(
                name='MaintenanceEvent',
            ),
            migrations.DeleteModel(
                name='Fleet',
            ),
            migrations.DeleteModel(
                name='FleetRunMessage',
            ),
            migrations.DeleteModel(
                name='FleetRun',
            ),
            migrations.DeleteModel(
                name='FleetRunVm',
            ),
            migrations.DeleteModel(
                name='Run',
            ),
            migrations.DeleteModel(
                name='RunEvent',
            ),
            migrations.DeleteModel(
                name='Sweep',
            ),
        ]),
    ]
