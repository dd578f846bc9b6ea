"""The accounts app's models, which the ``playground`` app's migrations 0001-0005 created:
the tables keep their names (``db_table``), so this migration changes the migration state only
(``SeparateDatabaseAndState``) and touches no table. ``playground/migrations/0006`` removes
them from the ``playground`` app's state."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('playground', '0005_names_as_long_as_the_engine_takes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='RateLimitHit',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('bucket', models.CharField(max_length=20)),
                    ('key', models.CharField(max_length=100)),
                    ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ],
                options={
                    'db_table': 'playground_ratelimithit',
                    'indexes': [models.Index(fields=['bucket', 'key', 'at'], name='playground__bucket_d0730e_idx')],
                },
            ),
        ]),
    ]
