"""The pages resolution has a work budget (issue 13): a guest whose per-page simulation would
run for minutes stops within about a second with an answer naming the resolution, at the CLI
and in the API alike; guests within the budget are untouched by it."""

import pytest

from migrationsim import InvalidParameter, build_spec, memory_pages, simulate
from migrationsim.memory_pages import WORK_BUDGET_PAGES, WorkBudgetExceeded

from .test_certain_outcomes import cli


def test_a_guest_beyond_the_budget_stops_with_the_resolution_named(monkeypatch):
    spent = []
    original = memory_pages.PageMemory._spend

    def spend(self, pages):
        spent.append(self)
        original(self, pages)

    monkeypatch.setattr(memory_pages.PageMemory, "_spend", spend)
    spec = build_spec(memory="16GiB", workload="ingest", resolution="pages", seed=1)
    with pytest.raises(WorkBudgetExceeded) as refused:
        simulate(spec, pages_work_budget=WORK_BUDGET_PAGES)
    assert isinstance(refused.value, InvalidParameter)
    assert refused.value.field == "resolution"
    assert "fluid" in refused.value.message
    # it stopped at the budget, not after the run (ingest at 16 GiB costs about 9x the budget)
    assert spent[-1].work_pages <= WORK_BUDGET_PAGES + 2 * memory_pages.CHUNK_PAGES * 12


def test_the_cli_answers_exit_2_naming_resolution():
    done = cli("--memory", "16GiB", "--workload", "ingest", "--resolution", "pages")
    assert done.returncode == 2
    assert "--resolution" in done.stderr and "fluid" in done.stderr


@pytest.mark.parametrize(
    "memory, workload, outcome",
    [
        ("16GiB", "idle", "migrated"),
        ("16GiB", "web", "migrated"),
        ("64GiB", "oltp", "migrated"),  # bench/precopy.py's pages case
        ("16GiB", "analytics", "aborted"),  # 37 rounds until the completion timeout
    ],
)
def test_ordinary_pages_runs_fit_the_budget(memory, workload, outcome):
    spec = build_spec(memory=memory, workload=workload, resolution="pages", seed=1)
    assert simulate(spec, pages_work_budget=WORK_BUDGET_PAGES).outcome == outcome
