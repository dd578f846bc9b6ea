"""A fleet's roster: every VM's facts as the fleet was built, read back one VM at a time without
building the fleet again (what a VM's anatomy needs while its run goes)."""

import pytest

from migrationsim.fleet import FleetRun, parse_scenario
from migrationsim.fleet import roster as roster_module
from migrationsim.fleet.roster import facts_of, position_of, roster_parts, slice_of
from migrationsim.fleet.single_vm import vm_facts

from .fleet_support import scenario


def drawn(**mix):
    return scenario(
        racks=3,
        hosts=4,
        mix={"per_host": 5, "memory": ["1GiB", "16GiB"], "mix": {"web": 0.5, "oltp": 0.5}, **mix},
    )


def listed():
    return scenario(
        racks=1,
        hosts=2,
        vms=[
            ("db-primary", "r1-h1", "8GiB", "oltp", {"watches_metadata": True}),
            ("cache-0", "r1-h2", "4GiB", "cache"),
            ("web-0", "r1-h2", "2GiB", "web"),
        ],
    )


def read(data, header, slices, name):
    position = position_of(data, name)
    if position is None or slice_of(position) >= len(slices):
        return None
    return facts_of(header, slices[slice_of(position)], position, name)


@pytest.mark.parametrize("make", [drawn, listed])
def test_every_vm_reads_back_the_facts_its_built_fleet_gives(make, monkeypatch):
    monkeypatch.setattr(roster_module, "SLICE_VMS", 7)  # several slices, one cut mid-host
    data = make()
    fleet = FleetRun(parse_scenario(data)).fleet
    header, slices = roster_parts(fleet)
    assert len(slices) == -(-len(fleet.vms) // 7)
    for vm in fleet.vms:
        assert read(data, header, slices, vm.name) == vm_facts(fleet, vm)


def test_a_listed_vm_named_by_default_or_by_a_number_reads_back(monkeypatch):
    """A listed VM without a name is named vm-<i> by the scenario, and a name written as a
    number (YAML ``name: 12``) is the text '12': the roster looked for the raw value, so these
    VMs (listed in the run's results) could not be opened while the run went (404)."""
    monkeypatch.setattr(roster_module, "SLICE_VMS", 2)
    data = listed()
    data["fleet"]["vm_list"][0].pop("name")
    data["fleet"]["vm_list"][1]["name"] = 12
    data["fleet"]["vm_list"][2]["name"] = None
    fleet = FleetRun(parse_scenario(data)).fleet
    assert [vm.name for vm in fleet.vms] == ["vm-1", "12", "vm-3"]
    header, slices = roster_parts(fleet)
    for vm in fleet.vms:
        assert read(data, header, slices, vm.name) == vm_facts(fleet, vm)
    assert read(data, header, slices, "vm-2") is None


def test_a_name_the_fleet_does_not_have_reads_as_none(monkeypatch):
    monkeypatch.setattr(roster_module, "SLICE_VMS", 7)
    data = drawn()
    fleet = FleetRun(parse_scenario(data)).fleet
    header, slices = roster_parts(fleet)
    for name in (
        f"vm-{len(fleet.vms) + 1}",
        "vm-0",
        "vm-01",
        "web-0",
        "vm-1x",
        "",
        "vm-" + "9" * 40,
    ):
        assert read(data, header, slices, name) is None, name
    data = listed()
    header, slices = roster_parts(FleetRun(parse_scenario(data)).fleet)
    assert read(data, header, slices, "vm-1") is None
    assert read(data, header, slices, "web-0")["workload"] == "web"


def test_a_full_host_makes_fewer_vms_and_the_names_stay_in_step():
    """A VM that does not fit is not made: the next one takes its name, as in the engine."""
    data = drawn(memory=["200GiB", "200GiB"])  # one VM a host: the rest do not fit
    fleet = FleetRun(parse_scenario(data)).fleet
    header, slices = roster_parts(fleet)
    assert len(fleet.vms) == 12
    assert read(data, header, slices, "vm-12") == vm_facts(fleet, fleet.vms[11])
    assert read(data, header, slices, "vm-13") is None
