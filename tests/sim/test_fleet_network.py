"""Links are shared max-min fairly, and a change re-solves only what it can affect."""

import math
import random

import pytest

from migrationsim.fleet.network import Flow, Network

from .fleet_support import of_kind, run, scenario

G = 1e9 / 8  # 1 Gbit/s in bytes/s


def test_two_migrations_on_one_uplink_each_get_half_and_one_ending_speeds_the_other_up():
    net = Network()
    uplink = net.link("rack/up", 10 * G)
    a = Flow("a", (net.link("h1/tx", 10 * G), uplink), math.inf)
    b = Flow("b", (net.link("h2/tx", 10 * G), uplink), math.inf)
    net.add(a)
    assert a.rate_bps == pytest.approx(10 * G)
    assert net.add(b) == {a, b}
    assert a.rate_bps == pytest.approx(5 * G) and b.rate_bps == pytest.approx(5 * G)
    assert net.remove(b) == {a}
    assert a.rate_bps == pytest.approx(10 * G)


def test_a_capped_flow_leaves_the_rest_to_the_others():
    net = Network()
    link = net.link("l", 10 * G)
    capped, greedy = Flow("capped", (link,), 1 * G), Flow("greedy", (link,), math.inf)
    net.add(capped)
    net.add(greedy)
    assert capped.rate_bps == pytest.approx(1 * G) and greedy.rate_bps == pytest.approx(9 * G)


def test_the_classic_max_min_example():
    # l1 (10) carries a and b; l2 (4) carries b and c: b and c get 2 each, a gets the rest of l1
    net = Network()
    l1, l2 = net.link("l1", 10 * G), net.link("l2", 4 * G)
    a, b, c = Flow("a", (l1,), math.inf), Flow("b", (l1, l2), math.inf), Flow("c", (l2,), math.inf)
    for f in (a, b, c):
        net.add(f)
    assert (a.rate_bps / G, b.rate_bps / G, c.rate_bps / G) == pytest.approx((8, 2, 2))


def reference_max_min(flows, capacity):
    """Textbook progressive filling from scratch, for comparison."""
    rate = dict.fromkeys(flows, 0.0)
    frozen = set()
    while len(frozen) < len(flows):
        active = [f for f in flows if f not in frozen]
        step = min(f.demand_bps - rate[f] for f in active)
        for link, cap in capacity.items():
            users = [f for f in active if link in f.path]
            if users:
                used = sum(rate[f] for f in flows if link in f.path)
                step = min(step, (cap - used) / len(users))
        for f in active:
            rate[f] += step
        for f in active:
            if rate[f] >= f.demand_bps - 1e-6:
                frozen.add(f)
        for link, cap in capacity.items():
            if sum(rate[f] for f in flows if link in f.path) >= cap - 1e-6:
                frozen.update(f for f in active if link in f.path)
    return rate


@pytest.mark.parametrize("seed", range(20))
def test_incremental_changes_match_a_solve_from_scratch(seed):
    rng = random.Random(seed)
    net = Network()
    links = [net.link(f"l{i}", rng.choice([1, 2, 5, 10, 40]) * G) for i in range(8)]
    live = []
    for step in range(40):
        if live and rng.random() < 0.35:
            net.remove(live.pop(rng.randrange(len(live))))
        else:
            path = tuple(rng.sample(links, rng.randint(1, 3)))
            flow = Flow(f"f{step}", path, rng.choice([math.inf, 0.5 * G, 1.07 * G, 3 * G]))
            net.add(flow)
            live.append(flow)
        expected = reference_max_min(live, {link: link.capacity_bps for link in links})
        for f in live:
            assert f.rate_bps == pytest.approx(expected[f], rel=1e-6, abs=1e-3)


def test_in_the_engine_two_migrations_sharing_an_uplink_split_it_then_one_speeds_up():
    # two hosts of rack 1 send across a 2 Gbit/s uplink to rack 2; uncapped (gce) flows
    data = scenario(
        racks=2,
        hosts=2,
        uplink="2Gbit/s",
        vms=[("small", "r1-h1", "1GiB", "idle"), ("large", "r1-h2", "8GiB", "idle")],
        policy={"name": "gce"},
        network={"migration_share": 1.0},
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"racks": ["r1"]},
                "max_hosts_in_maintenance": "100%",
            }
        ],
    )
    _, events = run(data)
    assert {e["target"][:2] for e in of_kind(events, "migration_start")} == {"r2"}
    starts = {e["vm"]: e["rate_bps"] for e in of_kind(events, "precopy_start")}
    assert starts == {
        "small": pytest.approx(2 * G),
        "large": pytest.approx(1 * G),
    }  # b joins: a halves
    rounds = {e["vm"]: e for e in of_kind(events, "round")}
    assert rounds["small"]["rate_bps"] == pytest.approx(1 * G, rel=0.02)  # shared all along
    assert of_kind(events, "blackout_start")[0]["vm"] == "small"
    # the large one had half the uplink until the small one left, then all of it
    assert 1.5 * G < rounds["large"]["rate_bps"] < 2 * G


def test_a_path_crosses_one_link_object_per_name_made_the_first_time_it_is_needed():
    # two racks of two hosts: a path inside a rack and one across, asked for twice
    result, _ = run(scenario(racks=2, hosts=2, vms=[]))
    fleet, network = result.fleet, Network()
    h0, h1, h2 = fleet.hosts[0], fleet.hosts[1], fleet.hosts[2]
    inside = network.migration_path(fleet, h0, h1)
    assert [link.name for link in inside] == [f"{h0.name}/tx", f"{h1.name}/rx"]
    across = network.migration_path(fleet, h0, h2)
    assert [link.name for link in across] == ["r1-h1/tx", "r1/up", "r2/down", "r2-h1/rx"]
    assert across[0] is inside[0]  # the source's NIC: the same link, not a second one
    again = network.migration_path(fleet, h0, h2)
    assert all(a is b for a, b in zip(again, across, strict=True))
    # every link is the one the network lists under its name, in the order first crossed
    assert [network.links[link.name] for link in across] == list(across)
    assert [link.order for link in network.links.values()] == list(range(len(network.links)))
    assert h0.nic_bps * fleet.migration_share == inside[0].capacity_bps
