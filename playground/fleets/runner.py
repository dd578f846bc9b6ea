"""The runner of a fleet run (the ``"fleet"`` kind of the one pipeline): the engine's run of
the stored scenario, aggregated into *frames* (one per ``bucket_s`` of simulated time, see
``FleetStream``), into the pipeline's sink; then one row per VM, the summary and the event log,
stored in the transaction that marks the run done. Before the first frame, the fleet's roster
(each VM's facts as the fleet was built) is stored: a VM's anatomy opens from it meanwhile.

The frames reach the sink paced (``FramePacer``, ``PLAYGROUND_FLEET_FRAMES_PER_S``): the end of
a big run is cheap to compute (hosts coming back, nothing migrating), and unpaced its last
hundreds of frames would go out in a second, in messages of 100 frames, to every viewer at once.
"""

from __future__ import annotations

import gzip
import tempfile
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction

from migrationsim.fleet.export import event_line
from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.roster import roster_parts
from playground.runs.kinds import Outcome

from .models import FleetRun, FleetRunLog, FleetRunRoster, FleetRunVm

VM_ROWS_BATCH = 2000
LOG_SPOOL_BYTES = 16 * 1024 * 1024  # the compressed log stays in memory up to this, then on disk


def run_fleet(run: FleetRun, sink) -> Outcome:
    log = EventLog()
    stream = FleetStream(run.scenario, bucket_s=run.bucket_s, on_event=log.write)
    # before anything moves: where each VM started (fenced by the lease, as the frames are)
    store_roster(run.pk, stream.run.fleet, lease=getattr(sink, "lease", None))
    # at most one publish interval's worth of frames at once: a message holds about that many
    pacer = FramePacer(
        settings.PLAYGROUND_FLEET_FRAMES_PER_S, burst_s=settings.PLAYGROUND_FLEET_PUBLISH_INTERVAL_S
    )
    for frame in stream.frames():
        pacer.wait()
        sink.add(frame)
    vm_rows = stream.vm_rows()

    def store() -> None:
        store_vms(run.pk, vm_rows)
        log.store(run.pk)

    return Outcome(
        fields={"summary": stream.summary(), "series": stream.compare_series()}, store=store
    )


class FramePacer:
    """Lets frames through at most ``frames_per_s`` a second, and never more than
    ``burst_s`` seconds' worth of them at once (a token bucket that holds ``frames_per_s *
    burst_s`` frames): a run that computes its frames slower than that is never held back, and
    a stretch computed fast is spread out (a stream of small messages instead of a few big
    ones). A bigger bucket would fill while a run computes slowly (most of a big run) and let
    its cheap end out at once: with 80 frames, 200 viewers of heartbleed got 95 frames in 0.3 s
    and waited a second for them. ``frames_per_s`` 0: no pacing."""

    def __init__(
        self,
        frames_per_s: float,
        *,
        burst_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval_s = 1 / frames_per_s if frames_per_s > 0 else 0.0
        self.burst = max(1.0, frames_per_s * burst_s)
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.last_s: float | None = None

    def wait(self) -> None:
        """Return when the next frame may go (at once, or after a sleep)."""
        if not self.interval_s:
            return
        now = self.clock()
        if self.last_s is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last_s) / self.interval_s)
        self.last_s = now
        if self.tokens < 1:
            pause_s = (1 - self.tokens) * self.interval_s
            self.sleep(pause_s)
            self.last_s, self.tokens = now + pause_s, 1.0
        self.tokens -= 1


class EventLog:
    """The engine's events as gzip'd JSON lines, spooled while the run goes, stored as
    ``FleetRunLog`` slices when it finishes (what the events export streams back)."""

    def __init__(self):
        # open for the whole run, closed in store(): no with-block can span it
        self._file = tempfile.SpooledTemporaryFile(max_size=LOG_SPOOL_BYTES)  # noqa: SIM115
        self._gzip = gzip.GzipFile(fileobj=self._file, mode="wb", compresslevel=1)

    def write(self, event: dict) -> None:
        if line := event_line(event):
            self._gzip.write(line.encode())

    def store(self, run_id: int) -> None:
        """Call inside the transaction that finishes the run (an earlier attempt's slices go)."""
        self._gzip.close()
        self._file.seek(0)
        FleetRunLog.objects.filter(run_id=run_id).delete()
        seq = 0
        while chunk := self._file.read(FleetRunLog.CHUNK_BYTES):
            seq += 1
            FleetRunLog.objects.create(run_id=run_id, seq=seq, data=chunk)
        self._file.close()


def store_roster(run_id: int, fleet, *, lease=None) -> None:
    """Every VM's facts as the fleet was built (``migrationsim.fleet.roster``), stored at once
    and before the first frame: a VM's anatomy opens from it while the run goes. ``lease``:
    the attempt's (``runs.leases``), renewed in the same transaction: a worker that lost the
    run writes nothing, and two attempts never write at once (the renewal holds the run's
    row), so neither finds the other's slices in its way."""
    header, slices = roster_parts(fleet)
    with transaction.atomic():
        if lease is not None:
            lease.renew()
        FleetRunRoster.objects.filter(run_id=run_id).delete()  # an earlier attempt's
        FleetRunRoster.objects.bulk_create(
            FleetRunRoster(run_id=run_id, seq=seq, data=data)
            for seq, data in enumerate([header, *slices])
        )


def store_vms(run_id: int, rows: Iterable[dict]) -> None:
    """One row per VM (called inside the transaction that finishes the run)."""
    FleetRunVm.objects.filter(run_id=run_id).delete()  # none, unless an earlier attempt's
    batch = []
    for row in rows:
        batch.append(
            FleetRunVm(
                run_id=run_id,
                name=row["vm"],
                host=row["host"],
                rack=row["rack"],
                outcome=row["outcome"],
                data=row,
            )
        )
        if len(batch) >= VM_ROWS_BATCH:
            FleetRunVm.objects.bulk_create(batch)
            batch = []
    if batch:
        FleetRunVm.objects.bulk_create(batch)
