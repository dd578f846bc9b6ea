"""The anatomy of one VM of a fleet run: a single-VM run of that VM (its memory, workload, the
scenario's policy), opened from the fleet run's page, replaying the bandwidth it actually got in
the fleet over time (its stored ``link_rates``; a VM that did not migrate gets its NIC's
migration share). The run page links back to the fleet run and says which it is."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from migrationsim.fleet.scenario import parse_scenario
from migrationsim.fleet.single_vm import (
    FACTS,
    anatomy_params_of,
    vm_anatomy_params,
    with_fleet_bandwidth,
)
from playground.accounts import access, limits
from playground.fleets.models import FleetRun, FleetRunVm
from playground.ops import errors
from playground.runs.models import RunStatus

from .services import create_run

ERROR_UNKNOWN_VM = "this fleet run has no VM named {name!r}"


def anatomy_params(*, run: FleetRun, vm_name: str) -> dict | None:
    """The single-VM form's values for one VM of this fleet run. None if there is no such VM."""
    row = FleetRunVm.objects.filter(run=run, name=vm_name).only("data").first()
    if row is None and run.status == RunStatus.DONE:  # a done run stored every VM's row
        return None
    if row is not None and all(key in row.data for key in FACTS):  # stored by the worker
        params = anatomy_params_of(parse_scenario(run.scenario), row.data)
    else:  # not done yet (or stored before the facts were): rebuild the fleet
        params = vm_anatomy_params(run.scenario, vm_name)
    if params is None:
        return None
    params["fleet_vm"]["fleet_run"] = run.pk
    link_rates = (row.data.get("link_rates") if row is not None else None) or []
    data = row.data if row is not None else {}
    params = with_fleet_bandwidth(
        params, link_rates, data.get("switch_bps"), data.get("convergence_s")
    )
    params["fleet_vm"]["bandwidth"] = "fleet" if link_rates else "nic_share"
    return params


@require_POST
def fleet_run_anatomy(request: HttpRequest, run_id: int, vm: str) -> HttpResponse:
    run = access.watch_or_404(FleetRun, access.for_request(request), pk=run_id)  # share links too
    try:  # before the fleet is rebuilt to find the VM: an unknown name costs that work too
        limits.check(request, limits.RUNS)
    except limits.RateLimited as error:
        return limits.too_many(request, error)
    params = anatomy_params(run=run, vm_name=vm)
    if params is None:  # a name typed in the run page's box: a page in words, not bare text
        return errors.answer(request, 404, ERROR_UNKNOWN_VM.format(name=vm))
    created = create_run(params=params, visitor=access.claim(request))
    if request.htmx:
        return HttpResponseClientRedirect(created.get_absolute_url())
    return redirect(created)
