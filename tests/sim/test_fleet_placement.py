"""Placement: every rejected candidate carries a reason, and scoring picks sensibly."""

import random

from migrationsim.fleet import parse_scenario
from migrationsim.fleet import reasons as why
from migrationsim.fleet.build import build_fleet
from migrationsim.fleet.model import MAINTENANCE, SCHEDULED, STATE_CODE, UP
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
    """Placement scores the hosts it checks all at once from the hosts' columns
    (``ROW_SCORINGS``): for any load, each gives the very number its rule gives on the ``Host``."""
    from migrationsim.fleet.scoring import ROW_SCORINGS, SCORINGS

    fleet, _ = setup()
    rng = random.Random(5)
    for host in fleet.hosts:
        host.reserve(rng.randint(0, 8), rng.random() * 60 * 2**30)
    columns = fleet.table.views()
    for name, rule in SCORINGS.items():
        scores = ROW_SCORINGS[rule](columns.memory_bytes, columns.used_memory_bytes, fleet.vms[0])
        assert scores.tolist() == [rule(host, fleet.vms[0]) for host in fleet.hosts], name


def test_a_host_reads_and_writes_its_row_of_the_table():
    fleet, _ = setup()
    host = fleet.hosts[2]
    host.state, host.incoming = SCHEDULED, 3
    host.reserve(2, 2**30)
    table, columns = fleet.table, fleet.table.views()
    assert (table.state[2], table.incoming[2]) == (STATE_CODE[SCHEDULED], 3)
    assert (columns.state[2], columns.incoming[2]) == (STATE_CODE[SCHEDULED], 3)  # one memory
    assert (
        table.used_vcpus[2] == host.used_vcpus == columns.used_vcpus[2]
        and table.used_memory_bytes[2] == host.used_memory_bytes == columns.used_memory_bytes[2]
    )
    assert type(host.used_vcpus) is int and type(host.patched) is bool  # no numpy types leak
    assert [h.state for h in fleet.hosts].count(SCHEDULED) == 1  # the others' rows untouched


def _choose_one_by_one(placement, vm, source, drawn, exclude=(), restart=False):
    """Placement's rule, written host by host: every drawn host not excluded is either rejected
    with its reason or ranked by (taken later by a maintenance, not yet patched, the source's
    rack, score, arriving migrations, id); the lowest rank wins."""
    rejections, ranked = {}, []
    for host_id in drawn:
        if host_id in exclude:
            continue
        host = placement.fleet.hosts[host_id]
        code = placement.rejection(vm, source, host, restart)
        if code is not None:
            rejections[code] = rejections.get(code, 0) + 1
            continue
        rank = (
            placement.due[host_id] > 0,
            not host.patched,
            host.rack == source.rack,
            placement.score(host, vm),
            host.incoming,
            host_id,
        )
        ranked.append((rank, host))
    return (min(ranked, key=lambda r: r[0])[1] if ranked else None), rejections


def test_placement_checks_all_drawn_hosts_at_once_exactly_as_one_by_one():
    """Placement checks the drawn hosts on the columns, all at once: on random fleets in random
    states it picks the very host, and counts the very rejections, of the rule host by host."""
    for seed in range(40):
        rng = random.Random(seed)
        data = scenario(hosts=12, host={"vcpus": 16, "memory": "64GiB", "nic": "10Gbit/s"}, vms=[])
        data["fleet"]["racks"][0]["count"] = 3
        data["fleet"]["vms"] = {"per_host": 3, "memory": ["1GiB", "24GiB"], "vcpus": [1, 6]}
        data["caps"] = {"per_target_host": rng.choice([1, 2, None])}
        if rng.random() < 0.3:
            data["caps"]["headroom"] = 0.1
        data["placement"] = {
            "candidates": rng.choice([4, 64]),
            "scoring": rng.choice(["least_loaded", "best_fit"]),
        }
        sc = parse_scenario(data)
        fleet = build_fleet(sc, random.Random(seed))
        placement = Placement(fleet, sc, random.Random(seed))
        for host in fleet.hosts:
            host.state = rng.choice([UP, UP, UP, SCHEDULED, MAINTENANCE])
            host.patched = rng.random() < 0.3
            host.incoming = rng.randint(0, 2)
            if rng.random() < 0.2:
                placement.will_take([host])
        for vm in fleet.vms[:8]:
            vm.anti_affinity = rng.choice([None, None, "db"])
            source = fleet.hosts[vm.host]
            exclude = set(rng.sample(range(len(fleet.hosts)), rng.randint(0, 2)))
            restart = rng.random() < 0.2
            state = placement.rng.getstate()
            chosen = placement.choose(vm, source, exclude=exclude, restart=restart)
            placement.rng.setstate(state)
            pool = placement.pools[fleet.zone_of(source)]
            drawn = (
                list(pool)
                if len(pool) <= placement.candidates
                else placement.rng.sample(pool, placement.candidates)
            )
            expected = _choose_one_by_one(placement, vm, source, drawn, exclude, restart)
            assert chosen == expected, (seed, vm.id)
            assert list(chosen[1]) == list(expected[1])  # reasons in the order first met
