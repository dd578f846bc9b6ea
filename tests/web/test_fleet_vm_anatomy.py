"""The anatomy of a VM from a fleet run (issue #14, section 4) replays it with the bandwidth it
actually got in the fleet (its share over time), links back to the run, and says so."""

import pytest

from migrationsim.fleet.scenario import parse_scenario
from migrationsim.fleet.single_vm import anatomy_params_of, vm_anatomy_params, with_fleet_bandwidth
from playground.anatomy.models import Run
from playground.anatomy.runner import events_for
from playground.fleets import services as fleet_services
from playground.fleets.models import FleetRun, FleetRunVm
from playground.runs.models import RunStatus
from playground.runs.pipeline import execute_run

from .fleet_support import tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db


def shared_links():
    """Three migrations leave each host at once, uncapped enough to share its NIC: each VM's
    bandwidth changes as the others start and finish."""
    data = tiny()
    data["policy"] = {"name": "qemu", "downtime_limit": "300ms", "max_bandwidth": "4GiB/s"}
    data["caps"] = {"per_source_host": 3, "per_target_host": 3}
    data["fleet"]["vms"].update(mix={"web": 1.0}, gpu_share=0)
    return data


@pytest.fixture
def fleet_run(alice):
    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    return run


def _vm_with_changes(run) -> FleetRunVm:
    return next(vm for vm in run.vms.order_by("id") if len(vm.data["link_rates"]) >= 3)


def _anatomy(client, run, vm_name) -> Run:
    response = client.post(f"/fleets/runs/{run.pk}/vms/{vm_name}/anatomy/")
    assert response.status_code == 302
    return Run.objects.get(pk=int(response.url.strip("/").split("/")[-1]))


def test_the_fleet_run_stores_each_vms_bandwidth_over_time(fleet_run):
    vm = _vm_with_changes(fleet_run)
    rates = vm.data["link_rates"]
    assert rates[0][0] == 0.0 and [t for t, _ in rates] == sorted(t for t, _ in rates)
    nic_share = 10e9 / 8 * 0.5  # a 10 Gbit/s NIC, half for migrations
    assert all(0 < bps <= nic_share * 1.000001 for _, bps in rates)
    assert len({bps for _, bps in rates}) == len(rates)  # a step is a change
    unaffected = fleet_run.vms.filter(outcome="unaffected").first()
    assert unaffected.data["link_rates"] == []


def test_the_anatomy_replays_the_share_the_vm_got_in_the_fleet(client, fleet_run):
    vm = _vm_with_changes(fleet_run)
    single = _anatomy(client, fleet_run, vm.name)
    (_, first), *later = vm.data["link_rates"]
    assert single.params["link_rate_changes"] == [[t, bps] for t, bps in later]
    assert (
        single.params["bandwidth"] != vm_anatomy_params(fleet_run.scenario, vm.name)["bandwidth"]
    )  # not its NIC's share: what it got
    rounds = [e for e in events_for(single.params) if e["kind"] == "round" and e["phase"] == "live"]
    assert rounds[0]["rate_bps"] == pytest.approx(first, rel=1e-6)
    replayed = next(e for e in events_for(single.params) if e["kind"] == "summary")["result"]
    assert replayed["precopy_time_s"] == pytest.approx(vm.data["precopy_s"], rel=0.05)
    nic = vm_anatomy_params(fleet_run.scenario, vm.name)
    alone = next(e for e in events_for(nic) if e["kind"] == "summary")["result"]
    assert alone["precopy_time_s"] < replayed["precopy_time_s"] * 0.8  # alone it was faster


def test_the_anatomy_tells_the_blackout_the_vm_had_in_the_fleet(client, alice):
    """Under QEMU's live-round cap (128 MiB/s) every round ran at the cap, but the final copy
    does not: in the fleet it ran on the spare capacity of its path. The replay ran it at the
    live rounds' rate and told a blackout about three times the fleet's (the demo's vm-2:
    331 ms, over the 300 ms SLO, where the fleet run said 105 ms)."""
    data = tiny()
    data["policy"] = {"name": "qemu", "downtime_limit": "300ms"}  # the 128 MiB/s cap
    data["fleet"]["vms"].update(mix={"web": 1.0}, gpu_share=0)
    run = fleet_services.start_run(scenario=data, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    moved = [vm for vm in run.vms.order_by("id") if vm.data["outcome"] == "migrated"]
    assert moved
    for vm in moved[:3]:
        single = _anatomy(client, run, vm.name)
        replayed = next(e for e in events_for(single.params) if e["kind"] == "summary")
        assert replayed["result"]["blackout_s"] == pytest.approx(vm.data["blackout_s"], rel=0.01)
        assert replayed["result"]["precopy_time_s"] == pytest.approx(vm.data["precopy_s"], rel=0.01)


def test_every_vm_of_the_run_replays_to_the_end(fleet_run):
    """A link change in the middle of a round leaves the fluid memory a crumb of an empty
    segment: the memory map must not divide by its zero pages."""
    for vm in fleet_run.vms.exclude(data__link_rates=[]):
        params = vm_anatomy_params(fleet_run.scenario, vm.name)
        params = with_fleet_bandwidth(params, vm.data["link_rates"])
        assert list(events_for(params))[-1]["kind"] == "summary"


def test_the_anatomy_page_links_back_to_the_fleet_run_and_says_whose_bandwidth(client, fleet_run):
    vm = _vm_with_changes(fleet_run)
    page = client.get(_anatomy(client, fleet_run, vm.name).get_absolute_url()).content.decode()
    assert f'href="/fleets/runs/{fleet_run.pk}/" id="back-to-fleet-run"' in page
    assert "the share it actually got in the fleet" in page
    idle = fleet_run.vms.filter(outcome="unaffected").first()
    page = client.get(_anatomy(client, fleet_run, idle.name).get_absolute_url()).content.decode()
    assert "did not migrate in that run" in page and 'id="back-to-fleet-run"' in page


def test_a_finished_runs_vm_opens_from_its_stored_row_as_from_the_rebuilt_fleet(
    fleet_run, monkeypatch
):
    """The worker stores what a VM's anatomy needs in its row: a region's VM opens without
    rebuilding 256,000 VMs in the request, with the same values."""
    from playground.anatomy import fleet_vm

    moved = next(vm for vm in fleet_run.vms.order_by("id") if vm.data["target"])
    rebuilt = vm_anatomy_params(fleet_run.scenario, moved.name)
    assert anatomy_params_of(parse_scenario(fleet_run.scenario), moved.data) == rebuilt
    assert rebuilt["fleet_vm"]["host"] == moved.host  # where it started, not where it went

    def no_rebuild(*args):
        raise AssertionError("the fleet was rebuilt")

    monkeypatch.setattr("migrationsim.fleet.engine.build_fleet", no_rebuild)
    params = fleet_vm.anatomy_params(run=fleet_run, vm_name=moved.name)
    assert params["workload"] == rebuilt["workload"] and params["memory"] == rebuilt["memory"]


def test_a_vm_name_the_run_does_not_have_is_a_404_page_saying_so(client, fleet_run):
    """The run page's "VM name" box posts the name typed; a typo got a bare text/plain answer
    (no page, no way back, and no charset: a non-ASCII name read as mojibake)."""
    response = client.post(f"/fleets/runs/{fleet_run.pk}/vms/vm-ü999/anatomy/")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert 'id="refused"' in page and "this fleet run has no VM named &#x27;vm-ü999&#x27;" in page
    assert not Run.objects.exists()


def test_the_anatomy_replays_the_fleets_policy_timing_and_convergence_not_the_defaults(
    client, alice
):
    """A fleet whose operator aborts a migration after 10 s per GiB, with a 7 s target setup:
    each VM's anatomy ends as the VM did in the fleet (an aborted one was told as migrated
    when the replay dropped the timeout) and lasts what its phases lasted there (its target
    setup, and the fabric convergence drawn for it: the replay had the 1 s default)."""
    data = tiny()
    data["policy"] = {
        "name": "qemu",
        "downtime_limit": "300ms",
        "completion_timeout": "10s",
        "timeout_action": "abort",
    }
    data["fleet"]["vms"].update(mix={"web": 0.5, "oltp": 0.5}, gpu_share=0)
    data["timing"] = {"target_setup": "7s"}
    run = fleet_services.start_run(scenario=data, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    outcomes = {vm.data["outcome"] for vm in run.vms.all()}
    assert {"aborted", "migrated"} <= outcomes
    for vm in run.vms.exclude(outcome="unaffected"):
        single = _anatomy(client, run, vm.name)
        events = list(events_for(single.params))
        result = events[-1]["result"]
        assert result["outcome"] == vm.data["outcome"], vm.name
        setup = [e["t_s"] for e in events if e.get("phase") == "target_setup"]  # start, end
        assert setup[1] - setup[0] == pytest.approx(7.0)
        if vm.data["outcome"] == "migrated":
            assert result["post_brownout_s"] == pytest.approx(vm.data["post_brownout_s"], rel=1e-6)


def test_a_fleet_at_the_longest_convergence_replays_each_vm_within_the_single_vm_limits(
    client, alice
):
    """The fabric convergence a VM draws in the fleet (a median and a spread) is replayed as the
    single-VM model's ``fabric_convergence``, which stops at 1e9 s: a fleet whose median was
    that long drew longer ones, and every VM's anatomy run failed ('The stored parameters are
    no longer valid'). The draw stops at the same limit."""
    data = tiny()
    data["fleet"]["vms"].update(mix={"idle": 1.0}, gpu_share=0)
    data["network"] = {"fabric_convergence": "1e9s", "fabric_convergence_sigma": 1}
    run = fleet_services.start_run(scenario=data, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    run.refresh_from_db()
    assert run.status == "done", run.error
    migrated = [vm for vm in run.vms.all() if "convergence_s" in vm.data]
    assert migrated
    for vm in migrated:
        assert vm.data["convergence_s"] <= 1e9
        single = _anatomy(client, run, vm.name)
        assert execute_run(kind="run", run_id=single.pk, publisher=RecordingPublisher()) is True
        single.refresh_from_db()
        assert single.status == "done", (vm.name, single.error)


# --- while the run goes: the roster, never the fleet built in the request --------------------


class OpenAtFirstFrame(RecordingPublisher):
    """Opens a VM's anatomy as the run's first frames go out: the run is under way, no VM has
    its row yet."""

    def __init__(self, client, run, vm_name):
        super().__init__()
        self.client, self.run, self.vm_name = client, run, vm_name
        self.response = None

    def events(self, events, texts=None):
        if self.response is None:
            assert not FleetRunVm.objects.filter(run=self.run).exists()
            self.response = self.client.post(
                f"/fleets/runs/{self.run.pk}/vms/{self.vm_name}/anatomy/"
            )
        super().events(events, texts)


def test_a_vm_of_a_run_under_way_opens_from_the_roster_without_building_the_fleet(
    client, alice, monkeypatch
):
    """The worker stores the roster before the first frame; the request reads one slice of it.
    Building the fleet in the request (a second and 130 MB at 256,000 VMs, on the one thread
    that serves every page) is what it must never do."""
    from migrationsim.fleet import engine

    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    publisher = OpenAtFirstFrame(client, run, "vm-5")
    built = []
    real_build = engine.build_fleet
    monkeypatch.setattr(engine, "build_fleet", lambda *a: built.append(1) or real_build(*a))
    assert execute_run(kind="fleet", run_id=run.pk, publisher=publisher) is True
    assert built == [1]  # the worker's, once: the request built nothing
    assert publisher.response.status_code == 302
    single = Run.objects.get()
    run.refresh_from_db()
    assert single.params["fleet_vm"]["fleet_run"] == run.pk
    assert single.params["fleet_vm"]["bandwidth"] == "nic_share"  # no row yet: its NIC's share
    # the run was under way: the page must not say the VM "did not migrate in that run"
    page = client.get(single.get_absolute_url()).content.decode()
    assert "did not migrate in that run" not in page
    assert "The fleet run was still going when this VM was opened" in page
    row = run.vms.get(name="vm-5")  # what the finished run stored gives the same VM
    assert (
        single.params["memory"]
        == anatomy_params_of(parse_scenario(run.scenario), row.data)["memory"]
    )
    assert single.params["fleet_vm"]["host"] == row.host


def test_a_run_not_started_yet_answers_409_saying_when_its_vms_open(client, alice):
    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    response = client.post(f"/fleets/runs/{run.pk}/vms/vm-1/anatomy/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "has not started yet" in page and "open the VM then" in page
    assert not Run.objects.exists()


def test_a_listed_vm_anatomy_parses_that_vm_not_the_whole_list(client, alice, monkeypatch):
    """Opening one VM of a run of a listed fleet parsed every listed VM (1.5 s of CPU a
    request at 250,000): the scenario is now read with the list cut to that VM."""
    from playground.anatomy import fleet_vm

    data = tiny()
    data["fleet"]["racks"] = [{"name": "r", "count": 1, "hosts": 3}]
    data["fleet"]["vm_list"] = [
        {"name": f"v{i}", "host": f"r1-h{i % 3 + 1}", "memory": "1GiB"} for i in range(40)
    ]
    del data["fleet"]["vms"]
    run = fleet_services.start_run(scenario=data, queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    seen, real = [], fleet_vm.parse_scenario
    monkeypatch.setattr(fleet_vm, "parse_scenario", lambda d: seen.append(d) or real(d))
    response = client.post(f"/fleets/runs/{run.pk}/vms/v7/anatomy/")
    assert response.status_code == 302 and Run.objects.count() == 1
    assert [vm["name"] for vm in seen[0]["fleet"]["vm_list"]] == ["v7"]
    assert Run.objects.get().params["fleet_vm"]["vm"] == "v7"


def test_a_run_that_failed_before_its_fleet_was_built_does_not_say_wait(client, alice):
    """A run that failed before a worker built its fleet (no roster) answered 'has not started
    yet ... open the VM then', as if waiting would open it; it says it failed."""
    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    FleetRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    response = client.post(f"/fleets/runs/{run.pk}/vms/vm-1/anatomy/")
    page = response.content.decode()
    assert response.status_code == 409 and "failed before a worker built its fleet" in page
    assert "open the VM then" not in page and not Run.objects.exists()


def test_a_name_the_roster_does_not_have_is_a_404_while_the_run_goes(client, alice):
    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    publisher = OpenAtFirstFrame(client, run, "vm-99999")
    assert execute_run(kind="fleet", run_id=run.pk, publisher=publisher) is True
    assert publisher.response.status_code == 404
    assert "this fleet run has no VM named" in publisher.response.content.decode()


def test_a_run_stored_before_facts_and_roster_says_so_and_builds_nothing(
    client, fleet_run, monkeypatch
):
    def no_rebuild(*args):
        raise AssertionError("the fleet was rebuilt")

    monkeypatch.setattr("migrationsim.fleet.engine.build_fleet", no_rebuild)
    vm = fleet_run.vms.order_by("id").first()
    vm.data = {key: value for key, value in vm.data.items() if key != "memory_bytes"}
    vm.save()
    fleet_run.roster.all().delete()
    response = client.post(f"/fleets/runs/{fleet_run.pk}/vms/{vm.name}/anatomy/")
    assert response.status_code == 409
    assert "re-run the fleet to open them" in response.content.decode()
    assert not Run.objects.exists()


def test_a_worker_that_lost_the_run_stores_no_roster(alice):
    """The roster is fenced like the frames: written with a renewal of the attempt's lease in
    the same transaction. An attempt that lost the run (its lease taken over) writes nothing,
    and two attempts never write at once (one's delete missed the other's uncommitted slices,
    then its insert failed on their unique numbers)."""
    from playground.fleets.models import FleetRun as FleetRunModel
    from playground.fleets.models import FleetRunRoster
    from playground.fleets.runner import store_roster
    from playground.runs import leases

    run = fleet_services.start_run(scenario=shared_links(), queue=False, visitor=alice)
    fleet = build_fleet_of(run)
    first = FleetRunModel.claim(run.pk, worker="a")
    store_roster(run.pk, fleet, lease=leases.Lease(FleetRunModel, run.pk, first))
    stored = FleetRunRoster.objects.filter(run=run).count()
    assert stored >= 2
    FleetRunModel.objects.filter(pk=run.pk).update(status="queued")  # the reaper's requeue
    second = FleetRunModel.claim(run.pk, worker="b")
    assert second != first
    with pytest.raises(leases.LeaseLost):
        store_roster(run.pk, fleet, lease=leases.Lease(FleetRunModel, run.pk, first))
    assert FleetRunRoster.objects.filter(run=run).count() == stored  # the holder's, untouched
    store_roster(run.pk, fleet, lease=leases.Lease(FleetRunModel, run.pk, second))
    assert FleetRunRoster.objects.filter(run=run).count() == stored


def build_fleet_of(run):
    from migrationsim.fleet import FleetRun

    return FleetRun(parse_scenario(run.scenario)).fleet


def test_a_vm_whose_fleet_migration_crashed_says_so_on_its_anatomy(client, alice):
    """hw-failure's VMs crashed with their host in the middle of pre-copy. Their anatomy replayed
    the share they got and then went on to its own end ("Done: aborted ... keeps running on the
    source"), never saying that in the fleet the host failed under them."""
    from migrationsim.fleet.text import preset_scenario

    run = fleet_services.start_run(
        scenario=preset_scenario("hw-failure"), queue=False, visitor=alice
    )
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    crashed = [
        vm
        for vm in run.vms.order_by("id")
        if vm.data["outcome"] == "crashed" and vm.data["link_rates"]
    ]
    assert crashed  # crashed during its pre-copy
    vm = crashed[0]
    ended = vm.data["first_precopy_end"]
    assert ended["how"] == "crashed" and 0 < ended["after_s"] < vm.data["failed_s"]
    page = client.get(_anatomy(client, run, vm.name).get_absolute_url()).content.decode()
    said = page[page.index('id="fleet-vm-ended"') :]
    said = said[: said.index("</strong>")]
    assert "In the fleet this migration never reached its switch-over" in said
    assert "its host failed and the VM crashed with it" in said
    assert "This replay has no host failure" in said
    migrated = next(vm for vm in run.vms.order_by("id") if vm.data["outcome"] == "migrated")
    assert "first_precopy_end" not in migrated.data
    page = client.get(_anatomy(client, run, migrated.name).get_absolute_url()).content.decode()
    assert 'id="fleet-vm-ended"' not in page
