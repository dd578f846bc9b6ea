"""Where a sequential writer's pointer is when pre-copy starts (``write_start``).

A sequential writer sweeps its working set from wherever it was when the migration began and
wraps at its end. Writes onto pages the pass has not sent yet cost nothing more (their bit is
already set), writes onto pages already sent make them pending again: so where the writer
starts, relative to the pass, changes what the next round carries. The validation harness reads
the guest's pointer just before `migrate` and gives it to the model (docs/validation.md).
"""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.migration import new_memory
from migrationsim.spec import InvalidParameter

from .test_cli import cli
from .validation_support import AUTOCONVERGE_GUEST

PAGES = 4096  # the working set is the whole guest: 16 MiB
WRITES_PER_S = 1000.0


def memory(resolution, write_start, pattern="sequential"):
    spec = build_spec(
        memory=PAGES * 4096,
        zero_fraction=0,
        working_set=PAGES * 4096,
        dirty_rate=WRITES_PER_S * 4096,
        write_pattern=pattern,
        write_start=write_start,
        resolution=resolution,
        seed=3,
    )
    return new_memory(spec)[0]


@pytest.mark.parametrize("resolution", ["fluid", "pages"])
def test_the_writer_starts_at_its_share_of_the_set_and_wraps(resolution):
    mem = memory(resolution, 0.75)
    mem.send(mem.wire_bytes_for(mem.pending))  # the first pass: nothing left pending
    mem.dirty(1.5)  # 1,500 writes from page 3,072: pages 3,072-4,095, then 0-475
    cells = mem.memory_map(8)  # 512 pages a cell
    assert mem.pending == pytest.approx(1500)
    assert cells[0] == pytest.approx(476 / 512)
    assert cells[1:6] == pytest.approx([0.0] * 5)
    assert cells[6:] == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("resolution", ["fluid", "pages"])
@pytest.mark.parametrize(
    "write_start, pending_after",
    [
        (0.0, 2048 + 1000),  # writes pages 0-999, all sent already: 1,000 more pending
        (0.5, 2048),  # writes pages 2,048-3,047, not sent yet: nothing more
        (0.25, 2048 + 1000),  # pages 1,024-2,023: all sent
        (0.375, 2048 + 512),  # pages 1,536-2,535: 512 sent, 488 not yet
    ],
)
def test_writes_ahead_of_the_pass_cost_nothing_more(resolution, write_start, pending_after):
    mem = memory(resolution, write_start)
    mem.send(mem.wire_bytes_for(2048))  # half the first pass: pages 0-2,047 sent
    mem.dirty(1.0)  # 1,000 writes from the writer's start
    assert mem.pending == pytest.approx(pending_after)


def test_a_random_writer_has_no_pointer():
    params = dict(memory="512MiB", working_set="64MiB", dirty_rate="40MB/s", resolution="pages")
    plain = simulate(build_spec(**params)).to_dict()
    told = simulate(build_spec(write_start=0.6, **params)).to_dict()
    assert told["total_time_s"] == plain["total_time_s"]
    assert told["bytes_sent"] == plain["bytes_sent"]


def test_the_start_moves_a_migration_whose_rounds_meet_the_writer():
    # the validation's auto-converge guest: 16 MiB swept at 6,000 writes/s against 16 MiB/s
    params = AUTOCONVERGE_GUEST
    times = {
        start: simulate(build_spec(write_start=start, **params)).total_time_s
        for start in (0.0, 0.25, 0.5)
    }
    assert len(set(times.values())) > 1


@pytest.mark.parametrize("value", [1, 1.5, -0.1, "half"])
def test_a_start_outside_the_set_is_refused_naming_the_parameter(value):
    with pytest.raises(InvalidParameter) as refused:
        build_spec(write_start=value)
    assert refused.value.field == "write_start"


def test_the_cli_takes_the_start_and_refuses_one_outside_the_set():
    ok = cli("migrate", "--write-pattern", "sequential", "--write-start", "0.4", "--json")
    assert ok.returncode == 0, ok.stderr
    refused = cli("migrate", "--write-start", "1")
    assert refused.returncode == 2
    assert "--write-start" in refused.stderr
