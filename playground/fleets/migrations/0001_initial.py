"""The fleets app's models, which the ``playground`` app's migrations 0001-0005 created:
the tables keep their names (``db_table``), so this migration changes the migration state only
(``SeparateDatabaseAndState``) and touches no table. ``playground/migrations/0006`` removes
them from the ``playground`` app's state."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('playground', '0005_names_as_long_as_the_engine_takes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Fleet',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('visitor_key', models.CharField(blank=True, db_index=True, default='', help_text='the anonymous visitor (session) who made it', max_length=64)),
                    ('name', models.CharField(max_length=200)),
                    ('description', models.TextField(blank=True, default='')),
                    ('seed', models.BigIntegerField(default=1)),
                    ('source', models.CharField(blank=True, default='', help_text='the preset or file it was created from', max_length=40)),
                    ('zone', models.CharField(default='zone-a', max_length=200)),
                    ('rack_prefix', models.CharField(default='rack', max_length=200)),
                    ('racks', models.PositiveIntegerField(default=2)),
                    ('hosts_per_rack', models.PositiveIntegerField(default=4)),
                    ('host_vcpus', models.PositiveIntegerField(default=64)),
                    ('host_memory', models.CharField(default='256GiB', max_length=20)),
                    ('host_nic', models.CharField(default='10Gbit/s', max_length=20)),
                    ('uplink', models.CharField(blank=True, default='', max_length=20)),
                    ('oversubscription', models.FloatField(default=1.0)),
                    ('spine', models.CharField(blank=True, default='', max_length=20)),
                    ('migration_share', models.FloatField(default=50.0, help_text='% of a host NIC for migrations')),
                    ('vms_per_host', models.PositiveIntegerField(default=8)),
                    ('vm_memory_min', models.CharField(default='1GiB', max_length=20)),
                    ('vm_memory_max', models.CharField(default='16GiB', max_length=20)),
                    ('vm_vcpus_min', models.PositiveIntegerField(default=1)),
                    ('vm_vcpus_max', models.PositiveIntegerField(default=4)),
                    ('mix', models.JSONField(default=dict, help_text='workload preset -> percent')),
                    ('customers', models.PositiveIntegerField(default=20)),
                    ('anti_affinity_groups', models.PositiveIntegerField(default=0)),
                    ('anti_affinity_share', models.FloatField(default=0.0)),
                    ('gpu_share', models.FloatField(default=0.0, help_text='% of VMs with a GPU')),
                    ('spot_share', models.FloatField(default=0.0)),
                    ('terminate_share', models.FloatField(default=0.0)),
                    ('watching_share', models.FloatField(default=0.0)),
                    ('automatic_restart_share', models.FloatField(default=100.0)),
                    ('policy', models.CharField(default='qemu', max_length=20)),
                    ('downtime_limit', models.CharField(blank=True, default='300ms', max_length=20)),
                    ('max_bandwidth', models.CharField(blank=True, default='', max_length=20)),
                    ('auto_converge', models.BooleanField(default=False)),
                    ('post_copy', models.BooleanField(default=False)),
                    ('completion_timeout', models.CharField(blank=True, default='', max_length=20)),
                    ('timeout_action', models.CharField(blank=True, default='', max_length=20)),
                    ('cap_per_source_host', models.PositiveIntegerField(blank=True, default=2, null=True)),
                    ('cap_per_target_host', models.PositiveIntegerField(blank=True, default=2, null=True)),
                    ('cap_per_rack', models.PositiveIntegerField(blank=True, null=True)),
                    ('cap_per_customer', models.PositiveIntegerField(blank=True, null=True)),
                    ('cap_global', models.PositiveIntegerField(blank=True, null=True)),
                    ('headroom', models.FloatField(default=0.0, help_text='% of each host kept free')),
                    ('extra', models.JSONField(blank=True, default=dict, help_text='scenario keys the form does not edit, kept verbatim')),
                    ('created', models.DateTimeField(default=django.utils.timezone.now)),
                    ('updated', models.DateTimeField(auto_now=True)),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'playground_fleet',
                    'ordering': ['-updated', '-id'],
                },
            ),
            migrations.CreateModel(
                name='MaintenanceEvent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('position', models.PositiveSmallIntegerField(default=0)),
                    ('name', models.CharField(max_length=200)),
                    ('kind', models.CharField(choices=[('bios_rollout', 'BIOS rollout'), ('urgent_patch', 'Urgent patch (with a deadline)'), ('kernel_upgrade', 'Kernel upgrade'), ('hw_failure', 'Impending hardware failure')], default='kernel_upgrade', max_length=20)),
                    ('start', models.CharField(blank=True, default='0s', max_length=20)),
                    ('scope', models.CharField(choices=[('zone', 'The whole zone'), ('racks', 'Racks'), ('hosts', 'Hosts')], default='zone', max_length=10)),
                    ('scope_names', models.TextField(blank=True, default='', help_text='rack or host names, separated by commas')),
                    ('deadline', models.CharField(blank=True, default='', max_length=20)),
                    ('window_start', models.CharField(blank=True, default='', max_length=20)),
                    ('window_end', models.CharField(blank=True, default='', max_length=20)),
                    ('max_hosts_in_maintenance', models.CharField(blank=True, default='', max_length=20)),
                    ('host_downtime', models.CharField(blank=True, default='', max_length=20)),
                    ('failure_after', models.CharField(blank=True, default='', max_length=20)),
                    ('fleet', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='fleets.fleet')),
                ],
                options={
                    'db_table': 'playground_maintenanceevent',
                    'ordering': ['fleet', 'position', 'id'],
                },
            ),
            migrations.CreateModel(
                name='Sweep',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('visitor_key', models.CharField(blank=True, db_index=True, default='', help_text='the anonymous visitor (session) who made it', max_length=64)),
                    ('name', models.CharField(blank=True, default='', max_length=120)),
                    ('scenario', models.JSONField(help_text='the base scenario (a snapshot)')),
                    ('x_param', models.CharField(max_length=60)),
                    ('x_values', models.JSONField()),
                    ('y_param', models.CharField(blank=True, default='', max_length=60)),
                    ('y_values', models.JSONField(blank=True, default=list)),
                    ('metric', models.CharField(default='makespan_s', max_length=40)),
                    ('created', models.DateTimeField(default=django.utils.timezone.now)),
                    ('fleet', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sweeps', to='fleets.fleet')),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'playground_sweep',
                    'ordering': ['-created', '-id'],
                },
            ),
            migrations.CreateModel(
                name='FleetRun',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('visitor_key', models.CharField(blank=True, db_index=True, default='', help_text='the anonymous visitor (session) who made it', max_length=64)),
                    ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                    ('error', models.TextField(blank=True, default='')),
                    ('created', models.DateTimeField(default=django.utils.timezone.now)),
                    ('started', models.DateTimeField(blank=True, null=True)),
                    ('finished', models.DateTimeField(blank=True, null=True)),
                    ('attempts', models.PositiveIntegerField(default=0, help_text='times a worker claimed it')),
                    ('heartbeat_at', models.DateTimeField(blank=True, default=django.utils.timezone.now, help_text="running: the worker's last heartbeat; queued: when the task was last sent", null=True)),
                    ('worker', models.CharField(blank=True, default='', help_text='host:pid of the worker that claimed it last', max_length=200)),
                    ('sweep_point', models.JSONField(blank=True, default=dict)),
                    ('name', models.CharField(blank=True, default='', max_length=120)),
                    ('seed', models.BigIntegerField(default=1)),
                    ('scenario', models.JSONField(help_text='the scenario as run (a snapshot)')),
                    ('plan', models.JSONField(blank=True, default=dict)),
                    ('bucket_s', models.FloatField(default=60.0, help_text='simulated seconds per progress frame')),
                    ('summary', models.JSONField(blank=True, null=True)),
                    ('series', models.JSONField(blank=True, help_text='compact series for comparisons', null=True)),
                    ('fleet', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs', to='fleets.fleet')),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('sweep', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='fleets.sweep')),
                ],
                options={
                    'db_table': 'playground_fleetrun',
                    'ordering': ['-created', '-id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='FleetRunMessage',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('seq', models.PositiveIntegerField()),
                    ('kind', models.CharField(max_length=32)),
                    ('payload', models.JSONField()),
                    ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='fleets.fleetrun')),
                ],
                options={
                    'db_table': 'playground_fleetrunmessage',
                    'ordering': ['run', 'seq'],
                    'abstract': False,
                    'constraints': [models.UniqueConstraint(fields=('run', 'seq'), name='unique_fleet_message_seq_per_run')],
                },
            ),
            migrations.CreateModel(
                name='FleetRunVm',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=200)),
                    ('host', models.CharField(help_text='the host it started on', max_length=200)),
                    ('rack', models.CharField(max_length=200)),
                    ('outcome', models.CharField(max_length=20)),
                    ('data', models.JSONField()),
                    ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='vms', to='fleets.fleetrun')),
                ],
                options={
                    'db_table': 'playground_fleetrunvm',
                    'ordering': ['run', 'id'],
                    'indexes': [models.Index(fields=['run', 'host'], name='playground__run_id_62be8f_idx'), models.Index(fields=['run', 'name'], name='playground__run_id_1d248a_idx')],
                },
            ),
        ]),
    ]
