"""The plan page writes its counts as the rest of the playground does ('1,200 VMs', as
``humanize.count`` and the preset's own description do), not '1200 VMs', and a share of hosts
out at once reads 'at most 20% of its hosts', not '20% hosts'."""

import pytest

from playground.fleets import services as fleet_services

from .fleet_support import planned

pytestmark = pytest.mark.django_db

# 10 racks x 10 hosts x 12 VMs (1,200 VMs); one rack patched, 20 % of it out at once
ZONE = {
    "name": "twelve-hundred",
    "seed": 1,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 10, "hosts": 10}],
        "vms": {"per_host": 12, "memory": ["1GiB", "2GiB"], "vcpus": [1, 2], "mix": {"idle": 1.0}},
    },
    "events": [
        {
            "name": "k",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": "20%",
            "host_downtime": "1min",
        }
    ],
}


def test_the_plan_page_counts_have_thousands_separators_and_a_share_reads_of_its_hosts(
    alice, client
):
    fleet = fleet_services.create_fleet(scenario=ZONE, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/")
    assert page.context["plan"]["vms"] == 1200
    html = page.content.decode()
    assert "(of 100 hosts, 1,200 VMs)" in html
    assert "At most 20% of its hosts out at once" in html


def test_a_count_of_hosts_out_at_once_still_reads_hosts(alice, client):
    scenario = {**ZONE, "events": [{**ZONE["events"][0], "max_hosts_in_maintenance": 2}]}
    fleet = fleet_services.create_fleet(scenario=scenario, visitor=alice)
    html = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert "At most 2 hosts out at once" in html


def test_a_plan_on_one_seed_shows_no_range_of_one_value(alice, client, monkeypatch):
    """Above ENGINE_ETA_MAX_VMS the plan runs one seed: the page does not show 'range X – X'
    and says why in one sentence (no brackets inside brackets); on small fleets the range
    stays."""
    import migrationsim.fleet.plan as plan_module

    monkeypatch.setattr(plan_module, "ENGINE_ETA_MAX_VMS", 1000)  # ZONE has 1,200 VMs
    fleet = fleet_services.create_fleet(scenario=ZONE, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/")
    html = page.content.decode()
    eta = html[html.index('id="plan-eta"') : html.index('id="plan-unplaced"')]
    assert page.context["plan"]["eta_seeds"] == [1]
    assert "<p>range" not in eta
    assert "engine, seed 1; one seed only at 1,200 VMs, so no range" in eta
    assert "((" not in html and "))" not in html
    monkeypatch.setattr(plan_module, "ENGINE_ETA_MAX_VMS", 3000)
    other = fleet_services.create_fleet(scenario={**ZONE, "seed": 2}, visitor=alice)
    again = planned(client, f"/fleets/{other.pk}/plan/").content.decode()
    assert "<p>range " in again[again.index('id="plan-eta"') : again.index('id="plan-unplaced"')]


def test_the_sensitivity_table_signs_every_change_as_the_cli_does(alice, client):
    """A relaxation that makes the run longer reads '+0.4 %', not '0.4 %' (a gain, at a
    glance); the binding limit's own row reads '+0.0 %'."""
    fleet = fleet_services.create_fleet(scenario=ZONE, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/")
    rows = page.context["plan"]["binding_limit"]["table"]
    html = page.content.decode()
    assert rows
    for row in rows:
        signed = f"{row['change_pct']:+.1f} %"
        assert f"<td>{signed}</td>" in html


def test_how_long_says_when_it_is_not_the_whole_maintenance(alice, client):
    """A rollout that blocks (no room anywhere for the first host's VMs) ends early: 'How long'
    said its short makespan alone, as if the maintenance were done."""
    full = {
        **ZONE,
        "fleet": {
            **ZONE["fleet"],
            "racks": [{"name": "r", "count": 1, "hosts": 4}],
            "vms": {"per_host": 8, "memory": ["7GiB", "8GiB"], "vcpus": [1, 2]},
            "host": {"vcpus": 64, "memory": "64GiB", "nic": "10Gbit/s"},
        },
        "events": [{**ZONE["events"][0], "max_hosts_in_maintenance": 1}],
    }
    fleet = fleet_services.create_fleet(scenario=full, visitor=alice)
    html = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    eta = html[html.index('id="plan-eta"') : html.index('id="plan-unplaced"')]
    assert "Not the whole maintenance: 4 of the 4 hosts in scope are not handled (below)." in eta
    zone = fleet_services.create_fleet(scenario=ZONE, visitor=alice)
    html = planned(client, f"/fleets/{zone.pk}/plan/").content.decode()
    assert "plan-eta-partial" not in html


def test_a_bios_rollout_reads_one_rack_at_a_time(alice, client):
    bios = {**ZONE, "events": [{**ZONE["events"][0], "kind": "bios_rollout"}]}
    fleet = fleet_services.create_fleet(scenario=bios, visitor=alice)
    html = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert (
        "At most 10 hosts out at once (a BIOS rollout takes one whole rack at a time, whatever "
        "its limit, 20%)"
    ) in html


def test_a_window_reads_as_a_daily_window_from_the_events_start(alice, client):
    """The page said 'migrations start only between 0 ms and 5 min 0 s', as the CLI did."""
    windowed = {**ZONE, "events": [{**ZONE["events"][0], "window": {"start": "0s", "end": "5min"}}]}
    fleet = fleet_services.create_fleet(scenario=windowed, visitor=alice)
    html = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    assert (
        "migrations start only between 0 s and 5 min 0 s after the event's start, every day" in html
    )
