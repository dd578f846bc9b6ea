"""The columns that mirrored a fleet's scenario, and its ``MaintenanceEvent`` rows, go: ``0002``
copied them into ``Fleet.scenario``. Going back restores the columns with their defaults."""

from django.db import migrations, models

OLD_COLUMNS = (
    "name", "description", "seed", "zone", "rack_prefix", "racks", "hosts_per_rack", "host_vcpus",
    "host_memory", "host_nic", "uplink", "oversubscription", "spine", "migration_share",
    "vms_per_host", "vm_memory_min", "vm_memory_max", "vm_vcpus_min", "vm_vcpus_max", "mix",
    "customers", "anti_affinity_groups", "anti_affinity_share", "gpu_share", "spot_share",
    "terminate_share", "watching_share", "automatic_restart_share", "policy", "downtime_limit",
    "max_bandwidth", "auto_converge", "post_copy", "completion_timeout", "timeout_action",
    "cap_per_source_host", "cap_per_target_host", "cap_per_rack", "cap_per_customer", "cap_global",
    "headroom", "extra",
)



class Migration(migrations.Migration):

    dependencies = [
        ("fleets", "0002_scenario_in_one_field"),
    ]

    operations = [
        migrations.AlterField(
            model_name="fleet", name="scenario",
            field=models.JSONField(help_text="the engine's scenario (docs/fleet.md)"),
        ),
        migrations.DeleteModel(name="MaintenanceEvent"),
        *(migrations.RemoveField(model_name="fleet", name=name) for name in OLD_COLUMNS),
    ]
