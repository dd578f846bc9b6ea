"""Shared by the fleet tests: a tiny scenario (fast), and what a browser posts for a fleet."""

import copy

from tests.sim.fleet_support import TINY


def tiny(**changes):
    data = copy.deepcopy(TINY)
    data.update(changes)
    return data


def fleet_post_data(client, url):
    """GET the fleet form and return what posting it back unchanged would send."""
    response = client.get(url)
    return posted_forms(response.context["form"], response.context["formset"])


def posted_forms(form, formset) -> dict:
    """What a browser posts for these (unbound) fleet and event forms, unchanged."""
    data = {}
    for f in [form, *formset.forms]:
        for name in f.fields:
            value = f[name].value()
            if isinstance(value, bool):
                if value:
                    data[f.add_prefix(name)] = "on"
            else:
                data[f.add_prefix(name)] = "" if value is None else value
    management = formset.management_form
    for name in management.fields:
        data[management.add_prefix(name)] = management[name].value()
    return data


# A 6,000-VM fleet (60 racks x 10 hosts x 10 VMs, one migration per source host): big enough
# that a run streams its frames over a few seconds and a worker can be killed in the middle.
SIX_THOUSAND_VMS = {
    "name": "six-thousand",
    "seed": 4,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 32, "memory": "64GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 60, "hosts": 10}],
        "vms": {
            "per_host": 10,
            "memory": ["1GiB", "4GiB"],
            "vcpus": [1, 2],
            "mix": {"idle": 0.5, "web": 0.5},
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "caps": {"per_source_host": 1, "per_target_host": 2},
    "events": [
        {
            "name": "k",
            "kind": "kernel_upgrade",
            "scope": {"zone": True},
            "max_hosts_in_maintenance": 40,
            "host_downtime": "2min",
        }
    ],
}


def compute_plans():
    """Do what a worker does for every plan waiting for one (the plan page queues them)."""
    from playground.fleets.models import FleetPlan
    from playground.runs.models import RunStatus
    from playground.runs.pipeline import execute_run

    from .support import RecordingPublisher

    for plan_id in FleetPlan.objects.filter(status=RunStatus.QUEUED).values_list("id", flat=True):
        execute_run(kind="plan", run_id=plan_id, publisher=RecordingPublisher())


def planned(client, url):
    """GET a plan page once its plan is computed."""
    client.get(url)
    compute_plans()
    return client.get(url)
