"""The plan is the engine's prediction (issue #14 section 4): it agrees with a run for every
preset, plans the whole seed range, names what is not handled, and computes the binding limit by
relaxing each constraint in turn."""

import copy
from collections import Counter
from types import SimpleNamespace

import pytest

from migrationsim import humanize
from migrationsim.fleet import PRESET_NAMES, parse_scenario, run_scenario, summarize
from migrationsim.fleet.binding import CONSTRAINTS, SLICE_VMS, binding_limit, relaxations, slice_of
from migrationsim.fleet.plan import plan
from migrationsim.fleet.text import preset_scenario
from migrationsim.lessons.fleet import RACK_SCENARIO
from migrationsim.spec import QEMU_DEFAULT_MAX_BANDWIDTH_BPS
from migrationsim.units import format_duration

from .fleet_support import scenario


def _within(planned, ran, share=0.10):
    if ran is None or planned is None:
        return planned == ran
    return abs(planned - ran) <= share * abs(ran) + 1e-9


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_the_plan_is_within_10_percent_of_a_run_for_every_preset(name):
    """Plan and run are the same computation today: ``plan`` runs the engine on the scenario with
    its own seed, as ``run_scenario`` does. The test still compares them, through the public
    run path (``run_scenario`` + ``summarize``), so that neither can drift from the other
    (another engine, another seed, a formula) without failing here. Heartbleed included: its
    25,600 VMs are planned by the engine, not by a formula."""
    data = preset_scenario(name)
    planned = plan(copy.deepcopy(data), sensitivity=False)
    ran = summarize(run_scenario(parse_scenario(data)))
    assert planned["eta_method"].startswith("engine")
    assert planned["eta_s"] == planned["makespan_s"]
    assert planned["eta_low_s"] <= planned["eta_s"] <= planned["eta_high_s"]
    assert planned["vms_in_scope"] == planned["migrate"] + planned["terminate_total"]
    for key in ("makespan_s", "blackout_p50_s", "blackout_p99_s"):
        assert _within(planned[key], ran[key]), (name, key, planned[key], ran[key])
    assert planned["migrations"] == ran["migrations"]
    assert planned["blackout_slo_breaches"] == ran["blackout_slo_breaches"]


TINY = scenario(
    racks=2,
    hosts=2,
    mix={"per_host": 2, "mix": {"idle": 1.0}, "memory": ["1GiB", "2GiB"]},
    events=[{"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}, "host_downtime": "1min"}],
)


def test_the_top_seed_of_the_documented_range_plans_and_runs():
    """The schema documents seeds 0 .. 2**32 - 1; the plan's extra seeds wrap around."""
    top = {**copy.deepcopy(TINY), "seed": 2**32 - 1}
    result = plan(top)
    assert result["eta_seeds"] == [2**32 - 1, 0, 1]
    assert result["makespan_s"] > 0 and result["binding_limit"]["sentence"]
    assert summarize(run_scenario(parse_scenario(top)))["makespan_s"] == result["makespan_s"]
    with pytest.raises(Exception, match="seed"):
        plan({**copy.deepcopy(TINY), "seed": 2**32})


@pytest.mark.parametrize(
    "change",
    [
        {"policy": {"name": "qemu", "max_bandwidth": ""}},  # "" is no cap to the model
        {"policy": {"name": "qemu", "max_bandwidth": "unlimited"}},
        {"policy": {"name": "qemu", "max_bandwidth": "8Pbit/s"}},  # the fastest cap
        {"policy": {"name": "qemu", "max_bandwidth": "4Pbit/s"}},  # x4 is past it
        {
            "fleet": {
                **copy.deepcopy(TINY["fleet"]),
                "host": {**TINY["fleet"]["host"], "nic": "16Pbit/s"},
            }
        },
        {
            "fleet": {
                **copy.deepcopy(TINY["fleet"]),
                "host": {**TINY["fleet"]["host"], "nic": "10Pbit/s"},
            }
        },
    ],
)
def test_a_scenario_at_the_models_edges_plans_its_relaxations_within_them(change):
    """The schema accepts a cap the model reads as none ("", "unlimited"), and a cap or NIC
    share at the model's fastest (1e15 B/s); the plan failed on each (ValueError reading "";
    InvalidParameter on its x4 relaxation) where the run did not. A relaxation stops at the
    fastest modelled rate and says so."""
    data = {**copy.deepcopy(TINY), **change}
    result = plan(data)
    assert result["binding_limit"]["sentence"]
    rows = {r["constraint"]: r for r in result["binding_limit"]["table"]}
    for name in ("max_bandwidth", "nic"):
        if name in rows and "Pbit/s" in rows[name]["relaxed_to"]:
            assert rows[name]["relaxed_to"].endswith(" (the fastest modelled)"), rows[name]
    assert "max_bandwidth" not in rows or rows["max_bandwidth"]["current"] != "8 Pbit/s"


# --- the binding limit: a scenario built so that each constraint binds in turn -------------------

FAST_HOST = {"vcpus": 64, "memory": "256GiB", "nic": "100Gbit/s"}


def _evacuate(
    *,
    hosts=1,
    racks=1,
    vms_per_host=8,
    memory="2GiB",
    caps=None,
    policy=None,
    host=None,
    uplink=None,
    scope=None,
):
    vms = [
        (f"vm-{r}-{h}-{i}", f"r{r}-h{h}", memory, "idle", {"watches_metadata": False})
        for r in range(1, racks + 1)
        for h in range(1, hosts + 1)
        for i in range(vms_per_host)
        if r == 1
    ]  # VMs only on rack 1: the rest of the fleet is room to land
    return scenario(
        racks=racks,
        hosts=hosts,
        vms=vms,
        host=host or FAST_HOST,
        uplink=uplink,
        caps={"per_source_host": 8, "per_target_host": 64, **(caps or {})},
        policy=policy or {"name": "qemu", "max_bandwidth": "64GiB/s"},
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": scope or {"racks": ["r1"]},
                "max_hosts_in_maintenance": "100%",
                "host_downtime": "0s",
            }
        ],
    )


CASES = {
    # one migration at a time per host: each waits for the one before
    "per_source_host": _evacuate(hosts=2, racks=2, caps={"per_source_host": 1}, memory="1GiB"),
    # QEMU's 128 MiB/s per migration on a 100 Gbit/s NIC
    "max_bandwidth": _evacuate(
        hosts=2, racks=2, vms_per_host=4, memory="8GiB", policy={"name": "qemu"}
    ),
    # a 1 Gbit/s NIC shared by eight migrations, the per-migration cap far above
    "nic": _evacuate(
        hosts=2, racks=2, memory="2GiB", host={**FAST_HOST, "nic": "1Gbit/s"}, uplink="400Gbit/s"
    ),
    # one migration in the whole zone at a time
    "global": _evacuate(hosts=2, racks=2, memory="1GiB", caps={"global": 1}),
    # a thin uplink between the evacuated rack and the others
    "uplink": _evacuate(hosts=2, racks=2, memory="2GiB", uplink="1Gbit/s"),
}


@pytest.mark.parametrize("constraint", CASES)
def test_the_binding_limit_names_the_constraint_built_to_bind(constraint):
    result = plan(copy.deepcopy(CASES[constraint]))
    binding = result["binding_limit"]
    assert {"name", "sentence", "table"} <= set(binding)
    assert binding["name"] == constraint, (binding["sentence"], binding["table"])
    row = next(r for r in binding["table"] if r["constraint"] == constraint)
    assert row["change_pct"] <= -20 and row["makespan_s"] < result["makespan_s"]
    assert "binds" in binding["sentence"] and row["label"] in binding["sentence"]
    assert binding["method"].startswith("the whole plan")


def test_the_per_migration_cap_sentence_says_the_nic_changes_nothing():
    binding = plan(copy.deepcopy(CASES["max_bandwidth"]))["binding_limit"]
    cap = QEMU_DEFAULT_MAX_BANDWIDTH_BPS  # 128 MiB/s, said as every page says a rate
    assert binding["sentence"].startswith(
        f"The per-migration bandwidth cap ({humanize.rate(cap)}) binds: with a "
        f"{humanize.rate(4 * cap)} cap the makespan falls from"
    )
    assert (
        "400 Gbit/s NICs" in binding["sentence"]
        and "would change it by under 1 %" in binding["sentence"]
    )
    nic = next(r for r in binding["table"] if r["constraint"] == "nic")
    assert abs(nic["change_pct"]) < 1


def test_a_cap_no_vm_waited_on_is_not_re_run_and_changes_nothing():
    data = copy.deepcopy(CASES["max_bandwidth"])
    data["caps"]["per_rack"] = 1000
    row = next(r for r in plan(data)["binding_limit"]["table"] if r["constraint"] == "per_rack")
    assert row["rerun"] is False and row["change_pct"] == 0.0 and "no VM ever waited" in row["note"]


def test_a_big_scenario_is_relaxed_on_a_slice_that_says_so():
    data = preset_scenario("heartbleed")
    parsed = parse_scenario(data)
    sliced, words = slice_of(parsed, 25_600, 16.0)
    (event,) = sliced.events
    assert 16 * len(event.scope_hosts) <= SLICE_VMS * 1.5 and event.scope_hosts[0] == "r1-h1"
    assert event.max_hosts_in_maintenance == "15%" and not event.scope_zone
    assert words.startswith("a slice: heartbleed-patch's first") and "scaled to the slice" in words
    assert slice_of(parsed, SLICE_VMS, 16.0) is None


def test_the_slices_words_write_a_count_of_hosts_as_every_other_line_does():
    # "first 32 of 1600 hosts" under "1,600 hosts in 7 waves"
    _, words = slice_of(parse_scenario(preset_scenario("heartbleed")), 25_600, 16.0)
    assert "first 32 of 1,600 hosts (32 hosts of r1, about 512 VMs)" in words


# --- hosts and VMs not handled --------------------------------------------------------------------


def test_hosts_skipped_and_vms_not_moved_are_counted_and_named_with_reasons():
    data = scenario(
        racks=2,
        hosts=2,
        vms=[
            ("busy", "r1-h1", "8GiB", "muncher"),
            ("calm", "r1-h1", "1GiB", "idle"),
            ("calm2", "r1-h2", "1GiB", "idle"),
        ],
        policy={"name": "qemu", "completion_timeout": "5s", "timeout_action": "abort"},
        events=[
            {
                "kind": "kernel_upgrade",
                "scope": {"racks": ["r1"]},
                "max_hosts_in_maintenance": 2,
                "host_downtime": "1min",
            }
        ],
    )
    gone = plan(data, sensitivity=False)["not_handled"]
    assert gone["hosts_total"] == 1
    (host,) = gone["hosts"]
    assert (
        host["host"] == "r1-h1"
        and host["status"] == "skipped"
        and "busy could not be migrated" in host["reason"]
    )
    (vms,) = gone["vms"]
    assert (
        vms["outcome"] == "aborted"
        and vms["vms"] == 1
        and vms["names"] == ["busy"]
        and vms["reason"]
    )


def test_every_wave_and_event_carries_its_predicted_figures():
    result = plan(preset_scenario("demo"), sensitivity=False)
    (event,) = result["events"]
    assert event["predicted"]["migrated"] <= result["migrations"]
    assert event["predicted"]["done_s"] <= result["makespan_s"]
    for wave in event["waves"]:
        assert set(wave["predicted"]) == {
            "done_s",
            "migrated",
            "terminated",
            "blackout_p99_s",
            "slo_breaches",
        }
        assert wave["predicted"]["done_s"] is not None


def test_the_vms_not_placed_are_counted_on_the_seed_whose_reasons_are_given():
    from migrationsim.fleet.plan import plan
    from migrationsim.fleet.text import preset_scenario

    for seed in range(1, 9):
        p = plan({**preset_scenario("demo"), "seed": seed}, sensitivity=False)
        assert sum(n for _, n in p["not_placed_reasons"]) <= p["not_placed"]
        assert (p["not_placed"] == 0) == (p["not_placed_reasons"] == [])
        assert p["not_placed_max_over_seeds"] >= p["not_placed"]


def test_every_relaxation_says_what_was_relaxed_from_what_to_what():
    """One form for every row of the sensitivity table: the limit, its value now, the value
    it was relaxed to (and by how much), never a bare 'x4' or 'as drawn'."""
    data = copy.deepcopy(RACK_SCENARIO)  # QEMU's default cap, two racks, two hosts out at once
    data["caps"] = {**data["caps"], "headroom": 0.1}
    table = plan(data)["binding_limit"]["table"]
    rows = {r["constraint"]: r for r in table if r["constraint"] != "all"}
    assert {"hosts_at_once", "uplink", "capacity", "max_bandwidth", "nic"} <= set(rows)
    for row in rows.values():
        assert row["current"] and row["relaxed_to"], row
        assert not row["relaxed_to"].startswith("x") and row["current"] != "as drawn", row
        assert row["relaxed_to"] != row["current"], row
    for name in (
        "per_source_host",
        "per_target_host",
        "hosts_at_once",
        "max_bandwidth",
        "nic",
        "uplink",
        "capacity",
    ):
        if name in rows:
            assert rows[name]["relaxed_to"].endswith(" (x4)"), rows[name]
    cap = QEMU_DEFAULT_MAX_BANDWIDTH_BPS
    assert rows["max_bandwidth"]["current"] == humanize.rate(cap)
    assert rows["max_bandwidth"]["relaxed_to"] == f"{humanize.rate(4 * cap)} (x4)"
    assert rows["headroom"]["current"] == humanize.percent(0.1)
    assert rows["capacity"]["current"].endswith(" per host")


def test_a_change_that_rounds_to_nothing_reads_0_0_not_minus_0_0():
    """The demo's host NIC row printed "-0.0 %" on the plan page (-0.04 % rounded)."""
    from migrationsim.fleet.binding import _pct

    assert str(_pct(99.96, 100.0)) == "0.0" and str(_pct(100.04, 100.0)) == "0.0"
    assert _pct(99.0, 100.0) == -1.0


# --- every limit that binds alone is named, most first; nothing left out of "changes nothing" -----


def test_a_second_limit_that_alone_shortens_the_makespan_is_named_too_with_its_engine_figures():
    """Four VMs of 8 GiB per host, two migrations per host at QEMU's 128 MiB/s: lifting the
    per-migration cap cuts most, and lifting the per-host cap alone also cuts the makespan by
    far more than 1 %. Both are named, the cap first, each with the makespan its own engine
    re-run gave (the table's row, never a formula)."""
    data = _evacuate(
        hosts=2,
        racks=2,
        vms_per_host=4,
        memory="8GiB",
        policy={"name": "qemu"},
        caps={"per_source_host": 2},
    )
    binding = plan(data)["binding_limit"]
    rows = {r["constraint"]: r for r in binding["table"]}
    cap, per_host = rows["max_bandwidth"], rows["per_source_host"]
    assert binding["name"] == "max_bandwidth"
    assert cap["change_pct"] < per_host["change_pct"] <= -1.0  # both bind, the cap more
    sentence = binding["sentence"]
    also = (
        f"the per-source-host cap (2) binds too: with 8 migrations per source host alone the "
        f"makespan falls to {format_duration(per_host['makespan_s'])} "
        f"({per_host['change_pct']:+.1f} %)".replace(".0 %", " %")
    )
    assert also in sentence, sentence
    assert sentence.index("per-migration bandwidth cap") < sentence.index(also)
    assert f"to {format_duration(cap['makespan_s'])} ({cap['change_pct']:+.1f} %)" in sentence


SMALL = parse_scenario(
    scenario(
        racks=2,
        hosts=2,
        vms=[(f"v{i}", "r1-h1", "2GiB", "idle") for i in range(4)],
        policy={"name": "qemu"},
        events=[{"kind": "kernel_upgrade", "scope": {"racks": ["r1"]}}],
    )
)  # its relaxations: per-source-host, per-target-host, hosts out at once, cap, NIC, uplink, capacity


class _Ran:
    """What ``binding_limit`` reads of one engine run: its makespan and how many VMs it left
    not moved (0 unless given)."""

    def __init__(self, makespan_s, not_moved=0):
        self.makespan_s = makespan_s
        self.not_moved = not_moved
        self.observer = SimpleNamespace(
            queued=Counter({code: 1 for _, code in CONSTRAINTS.values() if code}), deadlines=[]
        )

    def unfinished_hosts(self):
        return 0

    def deadline_reboots(self):
        return 0

    def vms_not_moved(self):
        return self.not_moved

    def vms_stuck(self):
        return 0

    def vms_moved(self):
        return 100 - self.not_moved  # of a hundred VMs asked to leave


def _stand_in(makespans: dict, together: float, not_moved: int = 0):
    """An engine stand-in: the makespan of each relaxation alone (1000 s when not given), and of
    all of them together, so that every figure of the sentence can be checked by hand."""
    every = relaxations(SMALL)

    def runner(s, capacity_factor=1.0):
        for r in every:
            if r["apply"](SMALL) == s and r["capacity_factor"] == capacity_factor:
                given = makespans.get(r["name"], (1000.0, not_moved))
                return _Ran(*given) if isinstance(given, tuple) else _Ran(given)
        return _Ran(together, not_moved)

    return runner


def test_every_limit_that_alone_cuts_the_makespan_by_1_percent_is_named_largest_cut_first():
    """From 1000 s: the cap to 600 s (-40 %), capacity to 700 s (-30 %), the per-host cap to
    800 s (-20 %), NICs to 990 s (-1 %, just enough); hosts out at once to 995 s (-0.5 %, not
    enough); the others 1000 s."""
    runner = _stand_in(
        {
            "max_bandwidth": 600.0,
            "nic": 990.0,
            "per_source_host": 800.0,
            "capacity": 700.0,
            "hosts_at_once": 995.0,
        },
        together=100.0,
    )
    sentence = binding_limit(SMALL, _Ran(1000.0), 4, 2.0, runner=runner)["sentence"]
    assert sentence == (
        "The per-migration bandwidth cap (1.07 Gbit/s) binds: with a 4.29 Gbit/s cap the "
        "makespan falls from 16 min 40 s to 10 min 0 s (-40 %)"
        "; the placement capacity (64 vCPUs, 256.0 GiB per host) binds too: with 4 times the "
        "host capacity alone the makespan falls to 11 min 40 s (-30 %)"
        "; the per-source-host cap (2) binds too: with 8 migrations per source host alone the "
        "makespan falls to 13 min 20 s (-20 %)"
        "; the host NIC bandwidth (10 Gbit/s) binds too: with 40 Gbit/s NICs alone the makespan "
        "falls to 16 min 30 s (-1 %)"
        "; 8 arrivals per target host, 4x hosts out at once or 4x uplinks would change it by under 1 %"
        "; all of them relaxed together: 1 min 40 s (-90 %), so other limits bind next."
    )


def test_the_list_of_what_changes_nothing_is_never_cut_short():
    """Only the cap moves the makespan: the five other limits re-run (placement capacity is
    never listed there) all change nothing, and all five are said (the sentence used to keep
    the first three and drop the rest unsaid)."""
    runner = _stand_in({"max_bandwidth": 500.0}, together=500.0)
    binding = binding_limit(SMALL, _Ran(1000.0), 4, 2.0, runner=runner)
    unchanged = [
        r
        for r in binding["table"]
        if r["constraint"] not in ("all", "max_bandwidth", "capacity") and r["change_pct"] == 0
    ]
    assert len(unchanged) == 5
    assert binding["sentence"].endswith(
        "; 8 migrations per source host, 8 arrivals per target host, 4x hosts out at once, "
        "40 Gbit/s NICs or 4x uplinks would change it by under 1 %."
    ), binding["sentence"]
    assert "binds too" not in binding["sentence"]


def test_one_plural_limit_that_changes_nothing_reads_as_english():
    """'4x uplinks changes nothing' was wrong: a plural subject, a singular verb."""
    runner = _stand_in(
        dict.fromkeys(("per_source_host", "per_target_host", "hosts_at_once", "nic"), 500.0)
        | {"max_bandwidth": 400.0},
        together=300.0,
    )
    sentence = binding_limit(SMALL, _Ran(1000.0), 4, 2.0, runner=runner)["sentence"]
    assert "; 4x uplinks would change it by under 1 %" in sentence, sentence
    assert "changes nothing" not in sentence


def test_a_limit_whose_relaxation_makes_the_run_longer_is_said_not_left_to_the_table():
    """bios-rollout's 8 migrations per source host took 1.8 % longer than 2 and the sentence
    said nothing of it. From 1000 s: the cap to 600 s (-40 %), the per-host cap to 1050 s
    (+5 %), NICs to 1020 s (+2 %), hosts out at once to 1005 s (+0.5 %: changes nothing)."""
    runner = _stand_in(
        {"max_bandwidth": 600.0, "per_source_host": 1050.0, "nic": 1020.0, "hosts_at_once": 1005.0},
        together=600.0,
    )
    sentence = binding_limit(SMALL, _Ran(1000.0), 4, 2.0, runner=runner)["sentence"]
    assert (
        "; 8 migrations per source host would make it longer: 17 min 30 s (+5 %), more at once "
        "is not faster here"
        "; 40 Gbit/s NICs would make it longer: 17 min 0 s (+2 %)"
        "; 8 arrivals per target host, 4x hosts out at once or 4x uplinks would change it by under 1 %."
    ) in sentence, sentence


def test_the_sentence_gives_each_change_as_the_table_does_never_rounded_again():
    """hw-failure's plan said '(-2 %)' beside a table row of -2.5 % (-2.54 %, rounded twice)."""
    runner = _stand_in({"max_bandwidth": 974.6}, together=974.6)
    binding = binding_limit(SMALL, _Ran(1000.0), 4, 2.0, runner=runner)
    row = next(r for r in binding["table"] if r["constraint"] == "max_bandwidth")
    assert row["change_pct"] == -2.5
    assert "(-2.5 %)" in binding["sentence"], binding["sentence"]


def test_no_limit_binds_is_never_said_over_rows_that_make_the_run_longer_or_do_less():
    """hw-failure --seed 15 said 'relaxing each of them changes the makespan by under 1 %'
    beside table rows of +344 % and +255 %; other seeds said a relaxation that left 6 more VMs
    not moved 'would change it by under 1 %'. From 1000 s with 10 VMs not moved: the per-host cap to
    4440 s (+344 %), NICs to 3548 s (+254.8 %), the cap to 1000 s but 16 VMs not moved; the
    rest unchanged."""
    runner = _stand_in(
        {"per_source_host": (4440.0, 10), "nic": (3548.0, 10), "max_bandwidth": (1000.0, 16)},
        together=4000.0,
        not_moved=10,
    )
    sentence = binding_limit(SMALL, _Ran(1000.0, 10), 4, 2.0, runner=runner)["sentence"]
    assert sentence.startswith(
        "No single limit binds: relaxing none of them x4 shortens the makespan (16 min 40 s) by "
        "1 % or more while doing the plan's work"
    ), sentence
    assert "relaxing each of them" not in sentence and "no limit here governs" not in sentence
    assert (
        "; 8 migrations per source host would make it longer: 1 h 14 min (+344 %), more at once "
        "is not faster here"
        "; 40 Gbit/s NICs would make it longer: 59 min 8 s (+254.8 %)"
        "; a 4.29 Gbit/s per-migration cap would leave more undone in about the same time: "
        "16 VMs not moved instead of 10"
        "; 8 arrivals per target host, 4x hosts out at once or 4x uplinks would change it by under 1 %."
    ) in sentence, sentence


def test_a_relaxation_faster_only_by_doing_less_is_said_once():
    """With no limit binding, the shortest run that did less was said in the caveat and again
    in the list of the others. From 1000 s with 10 VMs not moved: the cap to 700 s (-30 %) with
    16 not moved, the per-host cap to 900 s (-10 %) with 12; the rest unchanged."""
    runner = _stand_in(
        {"max_bandwidth": (700.0, 16), "per_source_host": (900.0, 12)},
        together=1000.0,
        not_moved=10,
    )
    sentence = binding_limit(SMALL, _Ran(1000.0, 10), 4, 2.0, runner=runner)["sentence"]
    assert sentence.count("only by doing less") == 2, sentence  # each of the two, once
    assert sentence.count("a 4.29 Gbit/s per-migration cap would cut") == 1, sentence
    assert sentence.count("8 migrations per source host would cut") == 1, sentence


def test_a_sliced_sentence_says_its_makespan_is_the_slices(monkeypatch):
    """On a slice the binding limit's figures are the slice's (bios-rollout: 33 min 10 s) while
    the plan's 'how long' is the whole rollout's (3 h 41 min): the sentence said only "the
    makespan falls from 33 min 10 s", read as the plan's."""
    from migrationsim.fleet import binding as binding_module

    monkeypatch.setattr(binding_module, "SLICE_VMS", 100)  # bios-rollout: 320 VMs in scope
    planned = plan(preset_scenario("bios-rollout"))
    limit = planned["binding_limit"]
    assert limit["method"].startswith("a slice:")
    base = format_duration(limit["baseline_makespan_s"])
    assert limit["baseline_makespan_s"] < planned["eta_s"] / 2
    assert "binds (on the slice): with " in limit["sentence"]
    assert f"the slice's makespan falls from {base} to " in limit["sentence"]
    assert "the makespan" not in limit["sentence"]


def test_a_share_of_hosts_out_at_once_is_shown_as_written_with_its_count():
    """heartbleed's plan said "hosts-out-at-once limit (5)" under an event of 15 % of 1,600
    hosts (240): the 5 was the slice's. The share is named with the count it gives there."""
    whole = parse_scenario(preset_scenario("heartbleed"))
    row = next(r for r in relaxations(whole) if r["name"] == "hosts_at_once")
    assert row["current"] == "15%, 240 of 1,600 hosts"
    sliced, _ = slice_of(whole, 25_600, 16)
    row = next(r for r in relaxations(sliced) if r["name"] == "hosts_at_once")
    assert row["current"].startswith("15%, ") and row["current"].endswith(" hosts")
    demo = parse_scenario(preset_scenario("demo"))  # a count stays a count
    assert next(r for r in relaxations(demo) if r["name"] == "hosts_at_once")["current"] == "2"


def test_a_bios_rollouts_hosts_out_at_once_is_no_limit_to_relax():
    """A BIOS rollout takes one whole rack at a time, whatever its max_hosts_in_maintenance:
    the plan said "at most 8 hosts out at once" and, in its table, a hosts-out-at-once limit of
    "30%, 10 of 32 hosts" that relaxing changed by +0.0 %."""
    data = preset_scenario("bios-rollout")
    data["events"][0]["max_hosts_in_maintenance"] = "30%"
    planned = plan(data)
    assert planned["events"][0]["hosts_at_once"] == 8
    names = [row["constraint"] for row in planned["binding_limit"]["table"]]
    assert "hosts_at_once" not in names
    assert "hosts out at once" not in planned["binding_limit"]["sentence"]


def test_a_cap_given_as_null_is_the_policys_cap_in_the_binding_limit_as_in_the_run():
    """``policy: {max_bandwidth: null}`` runs the policy's 128 MiB/s cap (``build_spec``); the
    binding limit read it as no cap and left out the cap that binds (-16.3 % on the demo)."""
    data = preset_scenario("demo")
    data["policy"] = {**data.get("policy", {}), "max_bandwidth": None}
    planned = plan(data)
    plain = plan(preset_scenario("demo"))
    assert planned["makespan_s"] == plain["makespan_s"]  # the same run
    row = next(r for r in planned["binding_limit"]["table"] if r["constraint"] == "max_bandwidth")
    assert row["current"] == "1.07 Gbit/s"
    assert planned["binding_limit"]["sentence"] == plain["binding_limit"]["sentence"]


# --- a plan that migrates no VM: its makespan is how long the attempts took to fail -------------


def test_when_no_vm_migrates_a_relaxation_that_only_fails_sooner_is_not_named():
    """All 100 VMs abort (say 50 B/s NICs): 8 migrations per source host abort them in 600 s
    instead of 1000 s, moving none. That is the same failure sooner, not the limit that binds
    (the plan once said 'the per-source-host cap binds: the makespan falls ...')."""
    runner = _stand_in({"per_source_host": (600.0, 100)}, together=400.0, not_moved=100)
    binding = binding_limit(SMALL, _Ran(1000.0, 100), 4, 2.0, runner=runner)
    assert binding["name"] == "none"
    assert binding["sentence"].startswith(
        "No limit here binds: no VM migrates as planned (100 VMs not moved: see what is not "
        "handled), and none of the limits relaxed x4 alone lets one migrate"
        "; 8 migrations per source host would cut the makespan (16 min 40 s) to 10 min 0 s "
        "(-40 %) only by failing sooner; "
    )
    assert "relaxed together" not in binding["sentence"]  # 400 s, nothing moved: no pace either


def test_when_no_vm_migrates_the_limit_whose_relaxation_lets_some_migrate_binds():
    """Bigger NICs let 30 of the 100 migrate (a little later); more per host only fails sooner."""
    runner = _stand_in(
        {"per_source_host": (600.0, 100), "nic": (1100.0, 70)}, together=400.0, not_moved=100
    )
    sentence = binding_limit(SMALL, _Ran(1000.0, 100), 4, 2.0, runner=runner)["sentence"]
    assert sentence.startswith(
        "The host NIC bandwidth (10 Gbit/s) binds: with 40 Gbit/s NICs the makespan grows from "
        "16 min 40 s to 18 min 20 s (+10 %), and it does more work: 70 VMs not moved instead of "
        "100; 8 migrations per source host would cut it to 10 min 0 s (-40 %) only by failing "
        "sooner; "
    )
    assert "binds too" not in sentence
