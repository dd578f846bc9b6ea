"""A fleet run's page and the comparison of runs, for a fleet listed VM by VM. Prints one JSON
object.

    python bench/run_page.py [--vms 100000] [--runs 6] [--views 7]

In a scratch database (SQLite under a temporary PLAYGROUND_VAR_DIR; or DATABASE_URL's, which
must be an empty database): bench/fleet.py's standard wave at ``--vms`` VMs (10 % of the racks
evacuated), its VMs listed one by one (``fleet.vm_list``: 8 MB of scenario at 100,000 VMs), its
plan and its run computed here; the run copied with seeds 2, 3, ... to ``--runs`` runs. Then,
through Django's test client signed in as their owner, the run's page (``page_s``: the median
of ``--views``) and the comparison of all the runs (``compare_s``), and the sizes of the run's
stored columns.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--views", type=int, default=7)
    args = parser.parse_args()
    scratch = None
    if "PLAYGROUND_VAR_DIR" not in os.environ:
        scratch = tempfile.mkdtemp(prefix="run-page-bench-")
        os.environ["PLAYGROUND_VAR_DIR"] = scratch
    try:
        measure(args)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def measure(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from fleet import standard_wave

    from migrationsim.fleet import parse_scenario
    from migrationsim.fleet.build import build_fleet
    from playground.accounts.access import Visitor
    from playground.fleets import planning, services
    from playground.fleets.models import FleetRun
    from playground.runs import leases
    from playground.runs.pipeline import execute_run

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    leases.send = lambda kind, pk: None  # no broker: the runs are computed here

    class Quiet:
        def events(self, events, texts=None):
            pass

        def status(self, status, error=""):
            pass

    scenario = standard_wave(args.vms, 0.1, False, 2, 1)
    built = build_fleet(parse_scenario(scenario), random.Random(1))
    scenario["fleet"]["vm_list"] = [
        {
            "name": vm.name,
            "host": built.hosts[vm.host].name,
            "memory": f"{round(vm.memory_bytes / 2**30)}GiB",
            "workload": vm.workload,
        }
        for vm in built.vms
    ]
    del scenario["fleet"]["vms"]
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    owner = Visitor(user.pk, "", False, "bench")
    fleet = services.create_fleet(scenario=scenario, source="bench", visitor=owner)
    plan = planning.plan_for(fleet.scenario, key=fleet.scenario_key)
    assert execute_run(kind="plan", run_id=plan.pk, publisher=Quiet())
    plan.refresh_from_db()
    run = services.start_run(
        scenario=fleet.scenario, fleet=fleet, plan=plan.plan, visitor=owner, queue=False
    )
    assert execute_run(kind="fleet", run_id=run.pk, publisher=Quiet())
    run = FleetRun.objects.get(pk=run.pk)
    ids = [run.pk]
    for seed in range(2, args.runs + 1):
        run.pk = run.id = None
        run.scenario = {**run.scenario, "seed": seed}
        run.save(force_insert=True)
        ids.append(run.pk)
    client = Client()
    client.force_login(user)

    def median_s(url: str) -> float:
        client.get(url)  # (warm)
        times = []
        for _ in range(args.views):
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            times.append(time.perf_counter() - started)
        return round(statistics.median(times), 4)

    stored = FleetRun.objects.get(pk=ids[0])
    print(
        json.dumps(
            {
                "vms": len(scenario["fleet"]["vm_list"]),
                "chars": {
                    name: len(json.dumps(getattr(stored, name)))
                    for name in ("scenario", "plan", "summary", "series")
                },
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "page_s": median_s(f"/fleets/runs/{ids[0]}/"),
                "compare_s": median_s(f"/fleets/runs/compare/?runs={','.join(map(str, ids))}"),
                "runs_compared": len(ids),
            }
        )
    )


if __name__ == "__main__":
    main()
