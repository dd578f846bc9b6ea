"""Compare (issue #14, section 4): first a table of the parameters that differ, path by path
with each run's value in its units, then the outcomes that differ; the columns in the order
chosen (ticked on the list of runs: oldest first); a progress chart that never drops."""

import pytest

from playground.fleets import services as fleet_services
from playground.fleets.scenario_diff import differing_parameters, leaves
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def _done(alice, scenario):
    run = fleet_services.start_run(scenario=scenario, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


def _compare(client, query):
    response = client.get(f"/fleets/runs/compare/?{query}")
    assert response.status_code == 200
    return response


def changed():
    """TINY with three parameters changed: a cap, a share, and one event's host downtime."""
    data = tiny(seed=5)
    data["caps"] = {"per_source_host": 2, "per_target_host": 2, "headroom": 0.1}
    data["events"][0]["host_downtime"] = "5min"
    return data


def test_the_parameters_that_differ_come_first_path_by_path_with_each_runs_value(alice, client):
    a, b = _done(alice, tiny()), _done(alice, changed())
    response = _compare(client, f"runs={a.pk},{b.pk}")
    rows = {
        row["path"]: [c["text"] for c in row["cells"]]
        for row in response.context["parameters"]["rows"]
    }
    assert rows == {
        "seed": ["2", "5"],
        "caps.per_source_host": ["1", "2"],
        "caps.headroom": ["not set", "10 %"],  # a share, in percent as the form shows it
        "events[0].host_downtime": ["2min", "5min"],
    }
    page = response.content.decode()
    parameters = page[page.index('id="compare-parameters"') : page.index('id="compare-outcomes"')]
    assert parameters.count('<td class=" differs">') == 4  # each of the second run's values
    assert page.index('id="compare-parameters"') < page.index('id="compare-outcomes"')
    assert page.index('id="compare-outcomes"') < page.index('id="compare-table"')
    assert "<code>caps.per_source_host</code>" in page and "Migrations per source host" in page


def test_a_key_left_out_shows_the_default_the_engine_assumes():
    left_out = tiny()
    del left_out["seed"]  # the engine's default seed is 1
    written = tiny(seed=1)
    assert differing_parameters([left_out, written])["rows"] == []
    (row,) = differing_parameters([left_out, tiny(seed=9)])["rows"]
    assert [c["text"] for c in row["cells"]] == ["1 (default)", "9"]
    assert row["cells"][0]["absent"] is True


def test_lists_of_mappings_are_walked_item_by_item_and_plain_lists_are_one_value():
    data = tiny()
    assert leaves(data)["fleet.vms.memory"] == ["1GiB", "4GiB"]
    assert leaves(data)["events[0].scope.racks"] == ["r1"]
    assert leaves(data)["fleet.racks[0].hosts"] == 2
    two_events = tiny()
    two_events["events"].append({"kind": "bios_rollout", "scope": {"zone": True}})
    rows = {r["path"]: r for r in differing_parameters([tiny(), two_events])["rows"]}
    assert [c["text"] for c in rows["events[1].kind"]["cells"]] == ["not set", "BIOS rollout"]
    assert [c["text"] for c in rows["events[1].scope.zone"]["cells"]] == ["not set", "yes"]


def test_the_same_scenario_says_so_and_only_outcomes_that_differ_are_listed(alice, client):
    a, b = _done(alice, tiny()), _done(alice, tiny())
    response = _compare(client, f"runs={a.pk},{b.pk}")
    assert response.context["parameters"]["rows"] == []
    assert response.context["outcomes_differ"] == []
    assert b'id="compare-parameters-same"' in response.content
    assert b'id="compare-outcomes-same"' in response.content


def test_the_outcomes_that_differ_are_those_highlighted_in_the_full_table(alice, client):
    a, b = _done(alice, tiny()), _done(alice, changed())
    response = _compare(client, f"runs={a.pk},{b.pk}")
    every = response.context["rows"]
    assert {r["label"] for r in response.context["outcomes_differ"]} >= {
        r["label"] for r in every if r["any_differs"]
    }
    assert all(any(c["differs"] for c in r["cells"]) for r in response.context["outcomes_differ"])
    assert response.context["outcomes_differ"]  # another seed and caps: some figure moved


def test_ticked_runs_are_compared_oldest_first_and_a_written_list_in_its_order(alice, client):
    a, b, c = _done(alice, tiny()), _done(alice, tiny(seed=3)), _done(alice, tiny(seed=4))
    ticked = _compare(client, f"runs={c.pk}&runs={a.pk}&runs={b.pk}")  # the list: newest first
    assert [r.pk for r in ticked.context["runs"]] == [a.pk, b.pk, c.pk]
    assert [r["id"] for r in ticked.context["config"]["runs"]] == [a.pk, b.pk, c.pk]
    written = _compare(client, f"runs={c.pk},{a.pk}")
    assert [r.pk for r in written.context["runs"]] == [c.pk, a.pk]


def test_the_progress_series_the_compare_chart_draws_never_drops(alice):
    from migrationsim.fleet.frames import FleetStream
    from migrationsim.fleet.text import preset_scenario

    stream = FleetStream(preset_scenario("demo"), bucket_s=60)
    for _ in stream.frames():
        pass
    done, completed = stream.series["done"], stream.series["completed"]
    assert any(b < a for a, b in zip(done, done[1:], strict=False))  # VMs that move twice
    assert completed == sorted(completed)
    assert completed[-1] == stream.summary()["migrations"]


def _cell(response, key: str, column: int) -> dict:
    row = next(r for r in response.context["rows"] if r["key"] == key)
    return row["cells"][column]


def test_a_change_is_coloured_better_or_worse_by_the_figures_way_and_parameters_neutral(
    alice, client
):
    slow = tiny()
    fast = tiny()
    fast["caps"] = {"per_source_host": 3, "per_target_host": 6}  # more at once: sooner done
    a, b = _done(alice, slow), _done(alice, fast)
    assert b.summary["makespan_s"] < a.summary["makespan_s"]
    forward = _compare(client, f"runs={a.pk},{b.pk}")
    assert _cell(forward, "makespan_s", 1)["judged"] == "better"
    backward = _compare(client, f"runs={b.pk},{a.pk}")
    assert _cell(backward, "makespan_s", 1)["judged"] == "worse"
    assert _cell(forward, "makespan_s", 0)["judged"] == ""  # the first run is the reference
    page = forward.content.decode()
    assert 'class="differs better"' in page and ", better)" in page
    assert 'class="differs worse"' in backward.content.decode()
    # a parameter that differs is highlighted, neither better nor worse
    params = page[page.index('id="compare-parameters"') : page.index('id="compare-outcomes"')]
    assert 'class=" differs"' in params and "better" not in params and "worse" not in params


def test_more_vms_crashed_is_worse_and_a_count_with_no_better_way_is_only_changed(alice, client):
    a, b = _done(alice, tiny()), _done(alice, tiny(failures={"source_failure": 1.0}))
    response = _compare(client, f"runs={a.pk},{b.pk}")
    crashed = next(r for r in response.context["outcome_rows"] if r["code"] == "crashed")
    assert crashed["cells"][1]["differs"] and crashed["cells"][1]["judged"] == "worse"
    migrated = next(r for r in response.context["outcome_rows"] if r["code"] == "migrated")
    assert migrated["cells"][1]["judged"] == "worse"  # fewer moved
    if _cell(response, "migrations", 1)["differs"]:
        assert _cell(response, "migrations", 1)["judged"] == ""
    # the outcome rows add up to each run's VMs (there was no row for the unaffected ones)
    for i, run in enumerate((a, b)):
        rows = response.context["outcome_rows"]
        assert sum(r["cells"][i]["value"] for r in rows) == run.summary["vms"]


def test_a_list_of_names_reads_as_a_list_and_only_a_range_as_a_range():
    """An event's racks read "r1 – r2" (a range, as if r1 to r2) where the form says "r1, r2";
    the VM memory range keeps its dash."""
    both = tiny()
    both["events"][0]["scope"] = {"racks": ["r1", "r2"]}
    both["fleet"]["vms"]["memory"] = ["2GiB", "8GiB"]
    rows = {r["path"]: r for r in differing_parameters([tiny(), both])["rows"]}
    assert rows["events[0].scope.racks"]["cells"][1]["text"] == "r1, r2"
    assert rows["fleet.vms.memory"]["cells"][1]["text"] == "2GiB – 8GiB"


def test_a_value_typed_without_its_unit_is_said_in_the_unit_the_engine_reads_it_in():
    """The form takes `10` for a host downtime (10 s to the engine): the table showed "10"
    beside "2min", as if minutes or nothing; sizes and rates typed bare are bytes and bytes/s."""
    bare = tiny()
    bare["events"][0]["host_downtime"] = "10"
    bare["policy"] = {"name": "qemu", "downtime_limit": 0.5, "completion_timeout": "30"}
    bare["fleet"]["host"] = {"vcpus": 32, "memory": "1073741824", "nic": 2500000000}
    bare["fleet"]["vms"]["memory"] = ["536870912", "4GiB"]
    rows = {
        r["path"]: [c["text"] for c in r["cells"]]
        for r in differing_parameters([tiny(), bare])["rows"]
    }
    assert rows == {
        "fleet.host.memory": ["64GiB", "1.0 GiB"],
        "fleet.host.nic": ["10Gbit/s", "20 Gbit/s"],
        "fleet.vms.memory": ["1GiB – 4GiB", "512.0 MiB – 4GiB"],
        "policy.downtime_limit": ["300ms", "500 ms"],
        "events[0].host_downtime": ["2min", "10 s"],
        "policy.completion_timeout": ["not set", "30 s"],
    }


def test_the_same_amount_written_two_ways_is_no_difference():
    """`64GiB` and `68719476736` are one size to the engine: they were listed as parameters
    that differ (and, said in their unit, read "64GiB" and "64.0 GiB")."""
    spelled = tiny()
    spelled["fleet"]["host"] = {"vcpus": 32, "memory": 64 * 1024**3, "nic": "1.25GB/s"}
    spelled["fleet"]["vms"]["memory"] = ["1024MiB", "4GiB"]
    spelled["events"][0]["host_downtime"] = "120s"
    assert differing_parameters([tiny(), spelled])["rows"] == []
    smaller = tiny()
    smaller["fleet"]["host"]["memory"] = "32GiB"
    (row,) = differing_parameters([tiny(), spelled, smaller])["rows"]
    assert row["path"] == "fleet.host.memory"
    assert [(c["text"], c["differs"]) for c in row["cells"]] == [
        ("64GiB", False),
        ("64.0 GiB", False),  # not highlighted, though written otherwise than the first
        ("32GiB", True),
    ]


def test_every_parameter_that_differs_is_named_in_words_with_its_unit(alice, client):
    """Comparing a `demo` run with an `hw-failure` run listed `network.fabric_convergence`,
    `fleet.vms.memory` and `events[0].scope.hosts` by their raw keys only; every row now has
    a label in words (its path small beside it), a share's label says (%) and its value is in
    percent, and a duration typed bare is said in seconds."""
    demo, hw = tiny(), tiny(seed=7)
    demo["network"] = {"fabric_convergence": "1s"}
    hw["network"] = {"fabric_convergence": 3}
    hw["fleet"]["vms"]["memory"] = ["4GiB", "8GiB"]
    hw["events"][0]["scope"] = {"hosts": ["r1-h1"]}
    hw["failures"] = {"source_failure": 0.05}
    hw["timing"] = {"restart": "2min"}
    a, b = _done(alice, demo), _done(alice, hw)
    response = _compare(client, f"runs={a.pk},{b.pk}")
    rows = {r["path"]: r for r in response.context["parameters"]["rows"]}
    labels = {path: row["label"] for path, row in rows.items()}
    assert labels["network.fabric_convergence"] == "Fabric convergence (median)"
    assert labels["fleet.vms.memory"] == "VM memory (from – to)"
    assert labels["events[0].scope.racks"] == "Scope: racks (event 1)"
    assert labels["events[0].scope.hosts"] == "Scope: hosts (event 1)"
    assert labels["failures.source_failure"] == "Source host failure chance (%)"
    assert labels["timing.restart"] == "Restart time (automaticRestart)"
    assert [c["text"] for c in rows["failures.source_failure"]["cells"]] == ["not set", "5 %"]
    assert [c["text"] for c in rows["network.fabric_convergence"]["cells"]] == ["1s", "3 s"]
    for path, said in labels.items():
        assert said and said != path and "_" not in said.replace("automaticRestart", ""), path
    page = response.content.decode()
    table = page[page.index('id="compare-parameters"') : page.index('id="compare-outcomes"')]
    assert (
        '<th scope="row">Fabric convergence (median)<br>'
        '<span class="muted"><code>network.fabric_convergence</code></span></th>'
    ) in table


def test_the_labels_of_the_shipped_presets_compared_come_from_the_one_mapping():
    """`demo` beside `hw-failure`, every preset's parameters: each path has words of its own."""
    from migrationsim.fleet.text import PRESET_NAMES, preset_scenario
    from playground.fleets.labels import parameter

    scenarios = [preset_scenario(name) for name in PRESET_NAMES]
    for path in {p for s in scenarios for p in leaves(s)}:
        said = parameter(path).label
        assert said and "_" not in said and "." not in said.split(" (")[0], path
    rows = differing_parameters([preset_scenario("demo"), preset_scenario("hw-failure")])["rows"]
    by_path = {r["path"]: r["label"] for r in rows}
    assert by_path["caps.per_source_host"] == "Migrations per source host"
    assert by_path["fleet.vms.mix.oltp"] == "Workload mix: oltp (%)"
    assert by_path["events[0].failure_after"] == "Mean time to failure (event 1)"


def test_an_events_kind_is_named_as_the_form_names_it_never_by_its_code(alice, client):
    """The compare page says "Kernel upgrade" and "BIOS rollout" (the form's names for the
    kinds), not ``kernel_upgrade`` and ``bios_rollout``; the path stays small beside the label."""
    bios = tiny()
    bios["events"][0]["kind"] = "bios_rollout"
    a, b = _done(alice, tiny()), _done(alice, bios)
    page = _compare(client, f"runs={a.pk},{b.pk}").content.decode()
    row = page[page.index('<tr data-path="events[0].kind">') :]
    row = row[: row.index("</tr>")]
    assert ">Kernel upgrade</td>" in row and ">BIOS rollout</td>" in row
    assert "kernel_upgrade" not in row and "bios_rollout" not in row


def test_a_sweep_members_column_names_its_point_in_words(
    alice, client, django_capture_on_commit_callbacks, monkeypatch
):
    """Two members of a sweep side by side: each column says its point as the sweep form names
    the parameters ("Bandwidth cap per migration 64MiB/s"), not "policy.max_bandwidth=64MiB/s"."""
    from playground.fleets.models import FleetRun
    from playground.runs import tasks

    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/fleets/{fleet.pk}/sweep/",
            {
                "x_param": "policy.max_bandwidth",
                "x_values": "64MiB/s, 256MiB/s",
                "y_param": "caps.per_source_host",
                "y_values": "1",
                "metric": "makespan_s",
            },
        )
    runs = list(FleetRun.objects.order_by("id"))
    for run in runs:
        assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    page = _compare(client, f"runs={runs[0].pk},{runs[1].pk}").content.decode()
    assert "(Bandwidth cap per migration 64MiB/s, Migrations per source host 1)" in page
    assert "policy.max_bandwidth=" not in page and "caps.per_source_host=" not in page


def test_a_vm_list_the_runs_share_is_not_read_path_by_path(monkeypatch):
    """Runs of a fleet listed VM by VM (100,000 VMs fit an upload) are compared by what differs:
    the list they share is skipped whole, so the page costs milliseconds, not the 6 s of a
    request's CPU it took to label and compare each VM's values in six runs."""
    from playground.fleets import scenario_diff

    listed = tiny()
    listed["fleet"]["vm_list"] = [{"host": "rack1-h1", "memory": "1GiB"} for _ in range(20_000)]
    runs = [{**listed, "seed": seed, "fleet": dict(listed["fleet"])} for seed in range(1, 7)]
    runs[5]["fleet"]["vm_list"] = [*listed["fleet"]["vm_list"][:-1], {"host": "rack1-h2"}]
    asked = []
    real = scenario_diff.parameter
    monkeypatch.setattr(scenario_diff, "parameter", lambda path: asked.append(path) or real(path))

    rows = {r["path"]: r for r in differing_parameters(runs)["rows"]}

    assert set(rows) == {"seed", "fleet.vm_list[19999].host", "fleet.vm_list[19999].memory"}
    assert [c["text"] for c in rows["seed"]["cells"]] == ["1", "2", "3", "4", "5", "6"]
    assert len(asked) < 50  # the paths that differ, not 40,000 of them per run


def test_a_bandwidth_cap_left_out_is_the_policys_own_not_said_as_not_set():
    """Compare said "Bandwidth cap per migration: not set | 64MiB/s" for a demo run whose plan
    named its cap, qemu's 128 MiB/s (1.07 Gbit/s); a run that types 128MiB/s runs the same."""
    base = tiny()
    capped = tiny(policy={**base.get("policy", {}), "max_bandwidth": "64MiB/s"})
    (row,) = differing_parameters([base, capped])["rows"]
    assert row["path"] == "policy.max_bandwidth"
    first = row["cells"][0]["text"]
    assert "not set" not in first and first == "1.07 Gbit/s (the qemu policy's default)"
    same = tiny(policy={**base.get("policy", {}), "max_bandwidth": "128MiB/s"})
    assert differing_parameters([base, same])["rows"] == []
    textbook = {**base.get("policy", {}), "policy": "textbook"}
    rows = differing_parameters(
        [tiny(policy=textbook), tiny(policy={**textbook, "max_bandwidth": "1GB/s"})]
    )
    cap = next(r for r in rows["rows"] if r["path"] == "policy.max_bandwidth")
    assert cap["cells"][0]["text"] == "none (the textbook policy's default)"
