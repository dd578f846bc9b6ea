"""Scenario files: every preset loads, and bad input names the path of the bad field."""

import json

import pytest

from migrationsim.fleet import PRESET_NAMES, ScenarioError, load_scenario, parse_scenario
from migrationsim.units import parse_bytes

from .fleet_support import scenario

GIB = 1024**3


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_shipped_preset_loads(name):
    loaded = load_scenario(name)
    assert loaded.name == name and loaded.events and loaded.description


def test_the_presets_have_the_promised_sizes():
    demo, heartbleed = load_scenario("demo"), load_scenario("heartbleed")
    assert demo.host_count == 8 and 90 <= demo.vm_count <= 110
    assert heartbleed.host_count == 1600 and 24_000 <= heartbleed.vm_count <= 26_000
    assert heartbleed.events[0].kind == "urgent_patch" and heartbleed.events[0].deadline_s
    assert load_scenario("bios-rollout").events[0].kind == "bios_rollout"
    assert load_scenario("hw-failure").events[0].kind == "hw_failure"


def test_json_and_yaml_text_both_load(tmp_path):
    data = scenario(vms=[("a", "r1-h1", "2GiB", "idle")])
    as_json = tmp_path / "s.json"
    as_json.write_text(json.dumps(data))
    as_yaml = tmp_path / "s.yaml"
    import yaml

    as_yaml.write_text(yaml.safe_dump(data))
    assert load_scenario(str(as_json)) == load_scenario(str(as_yaml))


@pytest.mark.parametrize(
    "mutate, path, words",
    [
        (lambda d: d["fleet"]["racks"][0].update(hosts=0), "fleet.racks[0].hosts", "must be > 0"),
        (
            lambda d: d["fleet"]["racks"].append({"hosts": -1}),
            "fleet.racks[1].hosts",
            "must be > 0",
        ),
        (
            lambda d: d["fleet"]["racks"][0].update(uplink="fast"),
            "fleet.racks[0].uplink",
            "quantity",
        ),
        (lambda d: d["fleet"].update(racks=[]), "fleet.racks", "non-empty"),
        (
            lambda d: d["fleet"]["vm_list"][0].update(host="nowhere"),
            "fleet.vm_list[0].host",
            "must name a host",
        ),
        (
            lambda d: d["fleet"]["vm_list"][0].update(workload="bitcoin"),
            "fleet.vm_list[0].workload",
            "one of",
        ),
        (lambda d: d["fleet"]["vm_list"][0].update(memory="-1GiB"), "fleet.vm_list[0].memory", ""),
        (
            lambda d: d["fleet"]["vm_list"][0].update(memory="100B"),
            "fleet.vm_list[0].memory",
            "from one 4096 B page to 16.0 TiB",
        ),
        (
            lambda d: d["fleet"]["vm_list"][0].update(memory="17TiB"),
            "fleet.vm_list[0].memory",
            "from one 4096 B page to 16.0 TiB",
        ),
        (
            lambda d: d["fleet"].update(vms={"memory": ["1e-320", "16GiB"]}),
            "fleet.vms.memory",
            "4096 B page",
        ),
        (lambda d: d["fleet"]["host"].update(nic="1bit/s"), "fleet.host.nic", "at least 1bit/s"),
        # host names are the rack's name and numbers: they must fit a name's 200 characters
        (
            lambda d: (d["fleet"].pop("vm_list"), d["fleet"]["racks"][0].update(name="r" * 198)),
            "fleet.racks[0].name",
            "a host's name is at most 200",
        ),
        # a listed VM's name is a segment of its anatomy's URL: one no URL can hold was a 404
        (
            lambda d: d["fleet"]["vm_list"][0].update(name="a/b"),
            "fleet.vm_list[0].name",
            "no '/'",
        ),
        (lambda d: d["fleet"]["vm_list"][0].update(name=".."), "fleet.vm_list[0].name", "'..'"),
        (lambda d: d["fleet"]["vm_list"][0].update(name=" "), "fleet.vm_list[0].name", "empty"),
        # durations a fleet VM's anatomy replays stop where the single-VM model's do (1e9 s):
        # a convergence of 1e308 s made the packet counts infinite and failed the run
        (
            lambda d: d.update(network={"fabric_convergence": 1e308}),
            "network.fabric_convergence",
            "at most 1e+09s",
        ),
        (lambda d: d.update(timing={"target_setup": "1e10s"}), "timing.target_setup", "1e+09s"),
        (lambda d: d.update(timing={"cleanup": "1e6h"}), "timing.cleanup", "at most 1e+09s"),
        # a NIC beyond the single-VM model's fastest link crashed the run's first migration
        (lambda d: d["fleet"]["host"].update(nic=1e308), "fleet.host.nic", "at most 1e15B/s"),
        (
            lambda d: d["fleet"]["racks"][0].update(host={"nic": "1e20Gbit/s"}),
            "fleet.racks[0].host.nic",
            "at most 1e15B/s",
        ),
        (
            lambda d: d["fleet"]["racks"][0].update(host={"nic": "1.5bit/s"}),
            "fleet.racks[0].host.nic",
            "at least 1bit/s",
        ),
        (
            lambda d: d.update(network={"migration_share": 1e-12}),
            "fleet.host.nic",
            "network.migration_share",
        ),
        (
            lambda d: d.update(policy={"downtime_limit": "soon"}),
            "policy.downtime_limit",
            "duration",
        ),
        (lambda d: d.update(policy={"memory": "4GiB"}), "policy.memory", "unknown"),
        # single-VM parameters the fleet sets itself or does not model: refused, never ignored
        # (page_time and bandwidth used to crash the run; target_setup was silently ignored)
        (
            lambda d: d.update(policy={"bandwidth": "1Gbit/s"}),
            "policy.bandwidth",
            "network.migration_share",
        ),
        (lambda d: d.update(policy={"page_time": "3.2us"}), "policy.page_time", "single-VM"),
        (
            lambda d: d.update(policy={"target_setup": "1e9s"}),
            "policy.target_setup",
            "timing.target_setup",
        ),
        (lambda d: d.update(policy={"cleanup": "5s"}), "policy.cleanup", "timing.cleanup"),
        (
            lambda d: d.update(policy={"fabric_convergence": "5s"}),
            "policy.fabric_convergence",
            "network.fabric_convergence",
        ),
        (
            lambda d: d.update(policy={"guest_watches": True}),
            "policy.guest_watches",
            "watching_share",
        ),
        (lambda d: d.update(policy={"fault_latency": "1ms"}), "policy.fault_latency", "post-copy"),
        # a policy checked with the fleet's own workloads and memories, before the run
        (
            lambda d: d.update(policy={"zero_fraction": 1}),
            "policy.zero_fraction",
            "with the 'idle' workload in a VM of 2.0 GiB",
        ),
        (lambda d: d.update(caps={"per_source_host": 0}), "caps.per_source_host", "must be > 0"),
        (lambda d: d.update(caps={"headroom": 2}), "caps.headroom", "from 0 to 1"),
        (lambda d: d["events"][0].update(kind="earthquake"), "events[0].kind", "one of"),
        (lambda d: d["events"][0].update(scope={}), "events[0].scope", "must name"),
        (
            lambda d: d["events"][0].update(scope={"racks": ["r9"]}),
            "events[0].scope.racks",
            "no rack named",
        ),
        (
            lambda d: d["events"][0].update(scope={"hosts": ["r1-h9"]}),
            "events[0].scope.hosts",
            "no host named",
        ),
        (
            lambda d: d["events"][0].update(window={"start": "2h", "end": "1h"}),
            "events[0].window.end",
            "after",
        ),
        (
            lambda d: d["events"][0].update(max_hosts_in_maintenance="0%"),
            "events[0].max_hosts_in_maintenance",
            "",
        ),
        (lambda d: d.update(events=[]), "events", "non-empty"),
        (lambda d: d.update(colour="blue"), "colour", "unknown key"),
        (lambda d: d["fleet"].update(vms={"mix": {"web": "lots"}}), "fleet.vms.mix.web", ""),
        # the policy's name, policy.name (or policy.policy, the single-VM spelling), is named
        # as given: an error named policy.name policy.policy, a key then accepted beside name
        # and silently overruled by it
        (lambda d: d.update(policy={"name": "evil"}), "policy.name", "must be one of"),
        (lambda d: d.update(policy={"policy": "evil"}), "policy.policy", "must be one of"),
        (
            lambda d: d.update(policy={"name": "qemu", "policy": "xen"}),
            "policy.policy",
            "the policy's name is given twice, as policy.name and policy.policy: give it once",
        ),
    ],
)
def test_bad_fields_are_named_by_their_path(mutate, path, words):
    data = scenario(vms=[("a", "r1-h1", "2GiB", "idle")])
    mutate(data)
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data)
    assert error.value.path == path
    assert words in error.value.message


def test_a_fleet_too_large_is_refused_before_anything_is_built():
    data = scenario(mix={"per_host": 1000})
    data["fleet"]["racks"][0].update(count=1000, hosts=1000)
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data)
    assert error.value.path in ("fleet.racks", "fleet.vms.per_host")


def test_yaml_tags_that_would_run_code_are_refused():
    with pytest.raises(ScenarioError):
        load_scenario("!!python/object/apply:os.system ['echo pwned']\nfleet: {}\n")


def test_malformed_text_says_so():
    with pytest.raises(ScenarioError) as error:
        load_scenario('{"fleet": [1, 2')
    assert "not valid JSON" in error.value.message


def test_the_order_of_keys_does_not_change_the_fleet():
    from migrationsim.fleet import FleetRun, summarize

    forward = scenario(mix={"per_host": 6, "mix": {"idle": 0.3, "web": 0.5, "oltp": 0.2}})
    backward = scenario(mix={"per_host": 6, "mix": {"oltp": 0.2, "web": 0.5, "idle": 0.3}})
    a, b = FleetRun(parse_scenario(forward)).run(), FleetRun(parse_scenario(backward)).run()
    assert [vm.workload for vm in a.fleet.vms] == [vm.workload for vm in b.fleet.vms]
    assert summarize(a) == summarize(b)


def test_an_integer_too_large_for_a_float_is_refused_naming_its_path():
    import copy

    import pytest as _pytest

    from migrationsim.fleet import parse_scenario as _parse
    from migrationsim.fleet.scenario import ScenarioError

    from .fleet_support import TINY as _TINY

    data = copy.deepcopy(_TINY)
    data["seed"] = 10**400
    with _pytest.raises(ScenarioError) as refused:
        _parse(data)
    assert "seed" in str(refused.value)


def test_every_scenario_it_accepts_migrates_within_the_single_vm_models_limits():
    """The edges of what the schema accepts run (a VM of one page, the slowest NIC whose
    migration share is 1 bit/s): a migration's ``build_spec`` raised InvalidParameter in the
    middle of the run for a 100 B VM or a 1.5 bit/s NIC, which the schema had let through."""
    from migrationsim.fleet import FleetRun, summarize

    data = scenario(vms=[("a", "r1-h1", "4096B", "idle"), ("b", "r1-h1", "16TiB", "idle")])
    data["fleet"]["host"].update(nic="2bit/s", memory="17TiB")
    summary = summarize(FleetRun(parse_scenario(data)).run())
    assert sum(summary["outcomes"].values()) == 2


def test_a_listed_fleet_is_counted_by_its_list_not_by_per_host():
    # a per_host left in the file counts for nothing once vm_list names the VMs: 3 racks of
    # 1,000 hosts x 1,000 would be over the 2,000,000-VM cap, the one listed VM is not
    data = scenario(racks=3, hosts=1000, vms=[("a", "r1-h1", "2GiB", "idle")])
    data["fleet"]["vms"] = {"per_host": 1000}
    assert parse_scenario(data).vm_count == 1
    data["fleet"].pop("vm_list")
    with pytest.raises(ScenarioError, match="at most 2,000,000 VMs in all"):
        parse_scenario(data)


@pytest.mark.parametrize(
    ("mutate", "path", "said"),
    [
        (lambda d: d.update(seed="x"), "seed", "must be a whole number (got 'x')"),
        (
            lambda d: d["fleet"].update(vms={"mix": {"web": "half"}}),
            "fleet.vms.mix.web",
            "must be a number from 0 to 1 (got 'half')",
        ),
        (
            lambda d: d["events"][0].update(max_hosts_in_maintenance="two"),
            "events[0].max_hosts_in_maintenance",
            "must be a count of hosts (4) or a share of them (10%) (got 'two')",
        ),
        (
            lambda d: d["events"][0].update(max_hosts_in_maintenance="abc%"),
            "events[0].max_hosts_in_maintenance",
            "must be a count of hosts (4) or a share of them (10%) (got 'abc%')",
        ),
    ],
)
def test_a_word_where_a_number_belongs_is_refused_in_words_not_pythons(mutate, path, said):
    """'seed: x' said "seed: could not convert string to float: 'x'" (Python's own words)."""
    data = scenario(vms=[("a", "r1-h1", "2GiB", "idle")])
    mutate(data)
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data)
    assert (error.value.path, error.value.message) == (path, said)


@pytest.mark.parametrize(
    "second",
    [
        {"name": "patch", "kind": "urgent_patch", "scope": {"hosts": ["r1-h2"]}},
        # a name given to one event that another's default name (kind-number) also is
        {"kind": "kernel_upgrade", "scope": {"hosts": ["r1-h2"]}},
    ],
)
def test_two_events_of_one_name_are_refused_naming_the_second(second):
    """Each event is known by its name: the second of a name replaced the first's rollout, and
    the first's hosts not yet taken were never taken."""
    first_name = "patch" if "name" in second else "kernel_upgrade-2"
    data = scenario(
        hosts=3,
        events=[
            {"name": first_name, "kind": "kernel_upgrade", "scope": {"hosts": ["r1-h1"]}},
            second,
        ],
    )
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data)
    assert error.value.path == "events[1].name"
    assert error.value.message == (
        f"{first_name!r} is the name of events[0] too; each event needs its own"
    )


@pytest.mark.parametrize(
    ("memory", "sizes"),
    [
        (["0.5GiB", "1.5GiB"], {GIB}),  # the one whole GiB within it (2 GiB were drawn)
        (["256MiB", "768MiB"], None),  # whole MiB: no whole GiB in it (all were 256 MiB)
        (["1GiB", "3GiB"], {GIB, 2 * GIB, 3 * GIB}),
    ],
)
def test_every_drawn_vm_memory_is_within_the_mix_range(memory, sizes):
    from migrationsim.fleet import FleetRun

    data = scenario(hosts=4, mix={"per_host": 16, "memory": memory, "mix": {"idle": 1}})
    drawn = {vm.memory_bytes for vm in FleetRun(parse_scenario(data)).fleet.vms}
    lo, hi = (parse_bytes(m) for m in memory)
    assert all(lo <= m <= hi for m in drawn)
    if sizes is not None:
        assert drawn == sizes
    else:
        assert len(drawn) > 10 and all(m % 2**20 == 0 for m in drawn)


@pytest.mark.parametrize(
    ("vms", "path", "words"),
    [
        ({"memory": "16TiB"}, "fleet.vms.memory", "the smallest VM (16.0 TiB) fits on no host"),
        ({"vcpus": 4096}, "fleet.vms.vcpus", "the smallest VM (4096 vCPUs) fits on no host"),
    ],
)
def test_a_mix_whose_smallest_vm_fits_on_no_host_is_refused_naming_what(vms, path, words):
    # it built a fleet of no VMs, and a run of nothing passed for a maintenance (exit 0)
    data = scenario(hosts=2, mix={"per_host": 4, "mix": {"idle": 1}, **vms})
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(data)
    assert refused.value.path == path and words in str(refused.value)


def test_a_mix_whose_largest_vms_fit_on_no_host_still_builds_the_smaller_ones():
    data = scenario(hosts=2, mix={"per_host": 4, "memory": ["1GiB", "1TiB"], "mix": {"idle": 1}})
    assert parse_scenario(data).vms.memory_bytes[1] == 1024**4
