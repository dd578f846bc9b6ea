"""``fleets 0002`` and ``0003``: fleets stored in 40 columns and ``MaintenanceEvent`` rows become
one scenario JSON field holding what the export gave for them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("fleets", "0001_initial")]
AFTER = [("fleets", "0003_old_fleet_columns_removed")]

# the demo preset as the form stored it (percent shares, text sizes), and its export
DEMO_COLUMNS = dict(
    name="demo",
    description="Two racks of four hosts.",
    seed=1,
    zone="demo-zone",
    rack_prefix="rack",
    racks=2,
    hosts_per_rack=4,
    host_vcpus=96,
    host_memory="256GiB",
    host_nic="10Gbit/s",
    uplink="40Gbit/s",
    oversubscription=1.0,
    spine="",
    migration_share=50.0,
    vms_per_host=12,
    vm_memory_min="1GiB",
    vm_memory_max="16GiB",
    vm_vcpus_min=1,
    vm_vcpus_max=4,
    mix={"idle": 20.0, "web": 40.0, "oltp": 25.0, "cache": 10.0, "analytics": 5.0, "ingest": 0.0},
    customers=8,
    anti_affinity_groups=4,
    anti_affinity_share=20.0,
    gpu_share=3.0,
    spot_share=5.0,
    terminate_share=0.0,
    watching_share=30.0,
    automatic_restart_share=100.0,
    policy="qemu",
    downtime_limit="300ms",
    max_bandwidth="",
    auto_converge=True,
    post_copy=False,
    completion_timeout="",
    timeout_action="",
    cap_per_source_host=2,
    cap_per_target_host=2,
    cap_per_rack=None,
    cap_per_customer=None,
    cap_global=6,
    headroom=0.0,
    extra={"network": {"fabric_convergence": "1s"}},
)
DEMO_EVENTS = [
    dict(
        position=0,
        name="kernel-upgrade",
        kind="kernel_upgrade",
        start="0s",
        scope="racks",
        scope_names="rack1",
        max_hosts_in_maintenance="2",
        host_downtime="10min",
    ),
    dict(
        position=1,
        name="bios",
        kind="bios_rollout",
        start="1h",
        scope="zone",
        deadline="",
        window_start="1h",
        window_end="5h",
        max_hosts_in_maintenance="10%",
    ),
]
DEMO_SCENARIO = {
    "name": "demo",
    "description": "Two racks of four hosts.",
    "seed": 1,
    "fleet": {
        "zone": "demo-zone",
        "host": {"vcpus": 96, "memory": "256GiB", "nic": "10Gbit/s"},
        "oversubscription": 1,
        "racks": [{"name": "rack", "count": 2, "hosts": 4, "uplink": "40Gbit/s"}],
        "vms": {
            "per_host": 12,
            "memory": ["1GiB", "16GiB"],
            "vcpus": [1, 4],
            "mix": {"idle": 0.2, "web": 0.4, "oltp": 0.25, "cache": 0.1, "analytics": 0.05},
            "customers": 8,
            "anti_affinity_groups": 4,
            "anti_affinity_share": 0.2,
            "gpu_share": 0.03,
            "spot_share": 0.05,
            "terminate_share": 0,
            "watching_share": 0.3,
            "automatic_restart_share": 1,
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms", "auto_converge": True},
    "caps": {"per_source_host": 2, "per_target_host": 2, "global": 6, "headroom": 0},
    "network": {"migration_share": 0.5, "fabric_convergence": "1s"},
    "events": [
        {
            "name": "kernel-upgrade",
            "kind": "kernel_upgrade",
            "start": "0s",
            "scope": {"racks": ["rack1"]},
            "host_downtime": "10min",
            "max_hosts_in_maintenance": 2,
        },
        {
            "name": "bios",
            "kind": "bios_rollout",
            "start": "1h",
            "scope": {"zone": True},
            "window": {"start": "1h", "end": "5h"},
            "max_hosts_in_maintenance": "10%",
        },
    ],
}

# one with what the form did not edit (in ``extra``): a second rack group, a VM list, placement
VM_LIST = [{"name": "db-1", "host": "r1-h1", "memory": "8GiB"}, {"name": "db-2", "host": "big1-h1"}]
LISTED_COLUMNS = {
    **DEMO_COLUMNS,
    "name": "listed",
    "description": "",
    "rack_prefix": "r",
    "racks": 1,
    "hosts_per_rack": 2,
    "uplink": "",
    "spine": "1.6Tbit/s",
    "policy": "xen",
    "mix": {"web": 100.0},
    "headroom": 5.0,
    "cap_global": None,
    "cap_per_rack": 3,
    "extra": {
        "first_rack_host": {"vcpus": 48},
        "fleet": {"vm_list": VM_LIST},
        "more_racks": [{"name": "big", "count": 1, "hosts": 2}],
        "placement": {"scoring": "least_loaded"},
        "policy": {"max_rounds": 12},
    },
}
LISTED_EVENTS = [
    dict(
        position=0,
        name="fix",
        kind="hw_failure",
        scope="hosts",
        scope_names="r1-h1",
        start="",
        failure_after="10min",
    )
]
LISTED_SCENARIO = {
    "name": "listed",
    "seed": 1,
    "fleet": {
        "zone": "demo-zone",
        "host": {"vcpus": 96, "memory": "256GiB", "nic": "10Gbit/s"},
        "oversubscription": 1,
        "racks": [
            {"name": "r", "count": 1, "hosts": 2, "host": {"vcpus": 48}},
            {"name": "big", "count": 1, "hosts": 2},
        ],
        "spine": "1.6Tbit/s",
        "vms": {**DEMO_SCENARIO["fleet"]["vms"], "mix": {"web": 1}},
        "vm_list": VM_LIST,
    },
    "policy": {"name": "xen", "downtime_limit": "300ms", "auto_converge": True, "max_rounds": 12},
    "caps": {"per_source_host": 2, "per_target_host": 2, "per_rack": 3, "headroom": 0.05},
    "network": {"migration_share": 0.5},
    "placement": {"scoring": "least_loaded"},
    "events": [
        {
            "name": "fix",
            "kind": "hw_failure",
            "scope": {"hosts": ["r1-h1"]},
            "failure_after": "10min",
        }
    ],
}


@pytest.fixture
def migrate():
    executor = MigrationExecutor(connection)

    def to(targets):
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    to(executor.loader.graph.leaf_nodes())  # the database as the other tests expect it


def test_it_stores_each_fleet_as_the_scenario_its_columns_and_events_exported(migrate):
    old = migrate(BEFORE)
    Fleet, Event = old.get_model("fleets", "Fleet"), old.get_model("fleets", "MaintenanceEvent")
    ids = {}
    for columns, events in ((DEMO_COLUMNS, DEMO_EVENTS), (LISTED_COLUMNS, LISTED_EVENTS)):
        fleet = Fleet.objects.create(source="test", **columns)
        for event in reversed(events):  # the position orders them, not the id
            Event.objects.create(fleet=fleet, **event)
        ids[columns["name"]] = fleet.pk

    new = migrate(AFTER)
    stored = {f.pk: f for f in new.get_model("fleets", "Fleet").objects.all()}
    assert stored[ids["demo"]].scenario == DEMO_SCENARIO
    assert stored[ids["listed"]].scenario == LISTED_SCENARIO
    assert stored[ids["demo"]].source == "test"


def test_the_scenarios_it_stores_are_valid_to_the_engine():
    from migrationsim.fleet.text import validate

    for scenario in (DEMO_SCENARIO, LISTED_SCENARIO):
        validate(scenario)
