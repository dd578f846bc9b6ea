"""The anatomy app's models, which the ``playground`` app's migrations 0001-0005 created:
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
                name='Scenario',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('slug', models.SlugField(unique=True)),
                    ('title', models.CharField(max_length=120)),
                    ('description', models.TextField()),
                    ('params', models.JSONField()),
                    ('position', models.PositiveSmallIntegerField(default=0)),
                ],
                options={
                    'db_table': 'playground_scenario',
                    'ordering': ['position', 'slug'],
                },
            ),
            migrations.CreateModel(
                name='Run',
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
                    ('params', models.JSONField(help_text="The form's values, as typed (units included).")),
                    ('seed', models.BigIntegerField(default=1)),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'playground_run',
                    'ordering': ['-created', '-id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='RunEvent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('seq', models.PositiveIntegerField()),
                    ('kind', models.CharField(max_length=32)),
                    ('payload', models.JSONField()),
                    ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='anatomy.run')),
                ],
                options={
                    'db_table': 'playground_runevent',
                    'ordering': ['run', 'seq'],
                    'abstract': False,
                    'constraints': [models.UniqueConstraint(fields=('run', 'seq'), name='unique_event_seq_per_run')],
                },
            ),
        ]),
    ]
