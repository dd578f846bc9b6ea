"""The anatomy of one VM of a fleet run: a single-VM run of that VM (its memory, workload, the
scenario's policy), opened from the fleet run's page, replaying the bandwidth it actually got in
the fleet over time (its stored ``link_rates``; a VM that did not migrate gets its NIC's
migration share). The run page links back to the fleet run and says which it is."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from migrationsim.fleet import roster
from migrationsim.fleet.scenario import ScenarioError, parse_scenario
from migrationsim.fleet.single_vm import FACTS, anatomy_params_of, with_fleet_bandwidth
from playground.accounts import access, limits
from playground.fleets.models import FleetRun, FleetRunRoster, FleetRunVm
from playground.ops import errors
from playground.runs.models import RunStatus

from .services import create_run

ERROR_UNKNOWN_VM = "this fleet run has no VM named {name!r}"
ERROR_SCENARIO_REFUSED = (
    "This run's scenario no longer passes the model's checks ({error}), so its VMs cannot be "
    "replayed one by one: re-run the fleet with the scenario corrected."
)
ERROR_NOT_BUILT = (
    "this fleet run has not started yet: its VMs are known once a worker has built its fleet "
    "(a moment after it starts); open the VM then"
)


ERROR_STORED_BEFORE_FACTS = (
    "this fleet run was stored before its VMs' facts were kept with it, so its VMs cannot be "
    "opened one by one: re-run the fleet to open them"
)

ERROR_FAILED_UNBUILT = (
    "this fleet run failed before a worker built its fleet, so it has no VMs to open: "
    "see why on the run's page, and re-run the fleet"
)


class NotBuiltYet(Exception):
    """Neither the VM's row with its facts nor the run's roster exists: the run has not
    started (or was stored before either was kept). Its ``args[0]`` says which, for the
    visitor."""


def anatomy_params(*, run: FleetRun, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of this fleet run. None if there is no such VM.
    Read from the VM's stored row (a finished run) or the run's roster (written by the worker
    as the run starts); no request builds a fleet. ``NotBuiltYet`` when neither exists."""
    row = FleetRunVm.objects.filter(run=run, name=vm_name).only("data").first()
    if row is None and run.status == RunStatus.DONE:  # a done run stored every VM's row
        return None
    position = roster.position_of(run.scenario, vm_name)  # (a scan of a listed fleet: once)
    if row is not None and all(key in row.data for key in FACTS):  # stored by the worker
        facts = row.data
    else:
        facts = _facts_from_roster(run, vm_name, position)
        if facts is None:
            return None
    params = anatomy_params_of(parse_scenario(_with_only(run.scenario, position)), facts)
    params["fleet_vm"]["fleet_run"] = run.pk
    link_rates = (row.data.get("link_rates") if row is not None else None) or []
    data = row.data if row is not None else {}
    params = with_fleet_bandwidth(
        params, link_rates, data.get("switch_bps"), data.get("convergence_s")
    )
    params["fleet_vm"]["bandwidth"] = "fleet" if link_rates else "nic_share"
    if data.get("first_precopy_end"):  # it reached no switch-over there: its page says how
        params["fleet_vm"]["fleet_end"] = data["first_precopy_end"]
    if row is None and run.status != RunStatus.DONE:  # under way: it may migrate yet
        params["fleet_vm"]["run_under_way"] = True
    return params


def _with_only(data: dict, position: int | None) -> dict:
    """The run's scenario with a listed fleet's VMs cut to this one: what its anatomy reads of
    the scenario (the policy, the timings) is the same, and its own checks still apply to it;
    parsing every listed VM cost 1.5 s of CPU a request at 250,000 of them."""
    fleet = data.get("fleet") if isinstance(data, dict) else None
    listed = fleet.get("vm_list") if isinstance(fleet, dict) else None
    if not isinstance(listed, list) or len(listed) <= 1:
        return data
    if position is None or not isinstance(listed[position], dict):
        return data
    # (an unnamed VM was named by its place)
    spec = {**listed[position], "name": roster.listed_name(listed[position], position)}
    return {**data, "fleet": {**fleet, "vm_list": [spec]}}


def _facts_from_roster(run: FleetRun, vm_name: str, position: int | None) -> dict | None:
    """The VM's facts from the run's roster: its header and the one slice that holds it."""
    header = FleetRunRoster.objects.filter(run=run, seq=0).values_list("data", flat=True).first()
    if header is None:
        raise NotBuiltYet(
            {RunStatus.DONE: ERROR_STORED_BEFORE_FACTS, RunStatus.FAILED: ERROR_FAILED_UNBUILT}.get(
                run.status, ERROR_NOT_BUILT
            )
        )
    if position is None:
        return None
    part = (
        FleetRunRoster.objects.filter(run=run, seq=1 + roster.slice_of(position))
        .values_list("data", flat=True)
        .first()
    )
    return None if part is None else roster.facts_of(header, part, position, vm_name)


@require_POST
def fleet_run_anatomy(request: HttpRequest, run_id: int, vm: str) -> HttpResponse:
    run = access.watch_or_404(FleetRun, access.for_request(request), pk=run_id)  # share links too
    try:
        limits.check(request, limits.RUNS)
    except limits.RateLimited as error:
        return limits.too_many(request, error)
    try:
        params = anatomy_params(run=run, vm_name=vm)
    except NotBuiltYet as why:
        return errors.answer(request, 409, str(why))
    except ScenarioError as exc:  # stored when the model's checks were looser: a 500 before
        return errors.answer(request, 422, ERROR_SCENARIO_REFUSED.format(error=exc))
    if params is None:  # a name typed in the run page's box: a page in words, not bare text
        return errors.answer(request, 404, ERROR_UNKNOWN_VM.format(name=vm))
    created = create_run(params=params, visitor=access.claim(request))
    if request.htmx:
        return HttpResponseClientRedirect(created.get_absolute_url())
    return redirect(created)
