"""Placement: every rejected candidate carries a reason, and scoring picks sensibly."""

import random

from migrationsim.fleet import parse_scenario
from migrationsim.fleet import reasons as why
from migrationsim.fleet.build import build_fleet
from migrationsim.fleet.model import SCHEDULED
from migrationsim.fleet.placement import Placement

from .fleet_support import scenario


def setup(**caps):
    data = scenario(
        hosts=4,
        host={"vcpus": 16, "memory": "64GiB", "nic": "10Gbit/s"},
        vms=[
            ("a", "r1-h1", "8GiB", "web", {"anti_affinity": "db"}),
            ("b", "r1-h2", "60GiB", "idle"),
            ("c", "r1-h3", "2GiB", "idle", {"anti_affinity": "db"}),
        ],
        caps={"per_target_host": 1, **caps},
    )
    sc = parse_scenario(data)
    fleet = build_fleet(sc, random.Random(0))
    return fleet, Placement(fleet, sc, random.Random(0))


def test_each_rejection_has_its_reason_code():
    fleet, placement = setup(headroom=0.5)
    a = fleet.vms[0]
    h1, h2, h3, h4 = fleet.hosts
    assert placement.rejection(a, h1, h1, restart=False) == why.SAME_HOST
    assert placement.rejection(a, h1, h2, restart=False) == why.NO_CAPACITY  # 60 + 8 > 64 GiB
    assert placement.rejection(a, h1, h3, restart=False) == why.ANTI_AFFINITY  # c is in group db
    h4.used_memory_bytes = 30 * 1024**3
    assert placement.rejection(a, h1, h4, restart=False) == why.HEADROOM  # fits, but not in half
    h4.used_memory_bytes = 0
    h4.incoming = 1
    assert placement.rejection(a, h1, h4, restart=False) == why.CAP_TARGET_HOST
    assert placement.rejection(a, h1, h4, restart=True) is None  # restarts ignore migration caps
    h4.incoming = 0
    h4.state = SCHEDULED
    assert placement.rejection(a, h1, h4, restart=False) == why.HOST_IN_MAINTENANCE


def test_choose_returns_the_fitting_host_and_counts_the_rest():
    fleet, placement = setup()
    a = fleet.vms[0]
    target, rejections = placement.choose(a, fleet.hosts[0])
    assert target is fleet.hosts[3]
    assert rejections == {why.SAME_HOST: 1, why.NO_CAPACITY: 1, why.ANTI_AFFINITY: 1}
    sentence = why.explain_rejections(rejections)
    assert sentence.startswith("of 3 candidates") and "lack capacity" in sentence


def test_least_loaded_and_best_fit_prefer_opposite_hosts():
    data = scenario(
        hosts=3, vms=[("a", "r1-h1", "2GiB", "idle"), ("half", "r1-h2", "100GiB", "idle")]
    )
    for scoring, expected in (("least_loaded", "r1-h3"), ("best_fit", "r1-h2")):
        sc = parse_scenario({**data, "placement": {"scoring": scoring}})
        fleet = build_fleet(sc, random.Random(0))
        target, _ = Placement(fleet, sc, random.Random(0)).choose(fleet.vms[0], fleet.hosts[0])
        assert target.name == expected


def test_patched_hosts_and_other_racks_come_first():
    data = scenario(racks=2, hosts=2, vms=[("a", "r1-h1", "2GiB", "idle")])
    sc = parse_scenario(data)
    fleet = build_fleet(sc, random.Random(0))
    placement = Placement(fleet, sc, random.Random(0))
    target, _ = placement.choose(fleet.vms[0], fleet.hosts[0])
    assert target.name.startswith("r2")  # spread: another rack
    fleet.hosts[1].patched = True
    target, _ = placement.choose(fleet.vms[0], fleet.hosts[0])
    assert target.name == "r1-h2"  # already through this maintenance: the VM will not move again


def test_a_registered_scoring_function_plugs_in():
    from migrationsim.fleet.scoring import SCORINGS

    SCORINGS["highest_id"] = lambda host, vm: -host.id
    try:
        data = scenario(
            hosts=4, vms=[("a", "r1-h1", "2GiB", "idle")], placement={"scoring": "highest_id"}
        )
        sc = parse_scenario(data)
        fleet = build_fleet(sc, random.Random(0))
        target, _ = Placement(fleet, sc, random.Random(0)).choose(fleet.vms[0], fleet.hosts[0])
        assert target.name == "r1-h4"
    finally:
        del SCORINGS["highest_id"]


def test_the_column_form_of_each_scoring_rule_gives_exactly_the_rule():
    """Placement scores the hosts it checks from the hosts' columns (``ROW_SCORINGS``): for any
    load, each gives the very number its rule gives on the ``Host``."""
    from migrationsim.fleet.scoring import ROW_SCORINGS, SCORINGS

    fleet, _ = setup()
    rng = random.Random(5)
    for host in fleet.hosts:
        host.reserve(rng.randint(0, 8), rng.random() * 60 * 2**30)
    for name, rule in SCORINGS.items():
        row = ROW_SCORINGS[rule]
        for host in fleet.hosts:
            assert row(fleet.table, host.id, fleet.vms[0]) == rule(host, fleet.vms[0]), name


def test_a_host_reads_and_writes_its_row_of_the_table():
    fleet, _ = setup()
    host = fleet.hosts[2]
    host.state, host.incoming = SCHEDULED, 3
    host.reserve(2, 2**30)
    table = fleet.table
    assert (table.state[2], table.incoming[2]) == (SCHEDULED, 3)
    assert (
        table.used_vcpus[2] == host.used_vcpus
        and table.used_memory_bytes[2] == host.used_memory_bytes
    )
    assert [h.state for h in fleet.hosts].count(SCHEDULED) == 1  # the others' rows untouched
