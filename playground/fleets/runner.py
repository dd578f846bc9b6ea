"""The runner of a fleet run (the ``"fleet"`` kind of the one pipeline): the engine's run of
the stored scenario, aggregated into *frames* (one per ``bucket_s`` of simulated time, see
``FleetStream``), into the pipeline's sink; then one row per VM and the summary, stored in the
transaction that marks the run done.
"""

from __future__ import annotations

from collections.abc import Iterable

from migrationsim.fleet.frames import FleetStream
from playground.runs.kinds import Outcome

from .models import FleetRun, FleetRunVm

VM_ROWS_BATCH = 2000


def run_fleet(run: FleetRun, sink) -> Outcome:
    stream = FleetStream(run.scenario, bucket_s=run.bucket_s)
    for frame in stream.frames():
        sink.add(frame)
    vm_rows = stream.vm_rows()
    return Outcome(fields={"summary": stream.summary(), "series": stream.compare_series()},
                   store=lambda: store_vms(run.pk, vm_rows))


def store_vms(run_id: int, rows: Iterable[dict]) -> None:
    """One row per VM (called inside the transaction that finishes the run)."""
    FleetRunVm.objects.filter(run_id=run_id).delete()  # none, unless an earlier attempt's
    batch = []
    for row in rows:
        batch.append(FleetRunVm(run_id=run_id, name=row["vm"], host=row["host"],
                                rack=row["rack"], outcome=row["outcome"], data=row))
        if len(batch) >= VM_ROWS_BATCH:
            FleetRunVm.objects.bulk_create(batch)
            batch = []
    if batch:
        FleetRunVm.objects.bulk_create(batch)
