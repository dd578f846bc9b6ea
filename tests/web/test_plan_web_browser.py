"""Headless Chromium against a real stack: a finished run's figures beside its plan's, and the
comparison of two runs (the parameters that differ first, columns oldest first, a progress chart
that never drops). The demo preset only, so it stays fast."""

import re

from .browser_support import browser, open_demo_fleet_form, page  # noqa: F401  (fixtures)


def _planned_and_run(stack, page, *, seed: str | None = None) -> int:
    """A demo fleet (its seed changed if given), planned by a worker, approved, played to the end."""
    open_demo_fleet_form(page, stack.base_url)
    if seed is not None:
        page.fill("#id_seed", seed)
    page.click("#save-plan")
    page.wait_for_url(re.compile(r"/fleets/\d+/plan/$"))
    page.wait_for_selector("#approve", timeout=90_000)
    page.click("#approve")
    page.wait_for_url(re.compile(r"/fleets/runs/\d+/$"))
    page.select_option("#speed", "max")
    page.wait_for_function("window.fleetRun.state().finished", timeout=60_000)
    return int(re.search(r"/fleets/runs/(\d+)/$", page.url).group(1))


def test_after_a_run_its_figures_sit_beside_the_plans(stack, page):
    _planned_and_run(stack, page)
    page.wait_for_selector("#plan-vs-run-table", timeout=15_000)
    rows = page.eval_on_selector_all(
        "#plan-vs-run-table tbody tr",
        "rows => rows.map(r => [r.dataset.key, ...[...r.cells].slice(1).map(c => c.textContent)])",
    )
    assert [key for key, *_ in rows] == [
        "makespan_s",
        "migrations",
        "terminations",
        "blackout_p50_s",
        "blackout_p99_s",
        "blackout_slo_breaches",
        "hosts_not_handled",
        "vms_not_handled",
    ]
    assert all(plan == run and plan != "–" for _, plan, run in rows), rows  # the same seed
    assert "did what its plan said" in page.inner_text("#plan-vs-run-verdict")
    assert page.locator("#run-not-handled").count() == 1
    assert page.errors == []


def test_compare_shows_the_parameters_that_differ_first_oldest_run_first(stack, page):
    first = _planned_and_run(stack, page)
    second = _planned_and_run(stack, page, seed="5")
    page.goto(stack.base_url + "/fleets/runs/")
    page.check(f"#cmp-{second}")
    page.check(f"#cmp-{first}")
    page.click("#compare-submit")
    page.wait_for_url(re.compile(r"/fleets/runs/compare/"))
    headers = page.eval_on_selector_all(
        "#compare-parameters thead th", "cells => cells.map(c => c.textContent.trim())"
    )
    assert headers == ["Parameter", f"Run {first}", f"Run {second}"]  # oldest first
    seed_row = page.locator('#compare-parameters tr[data-path="seed"] td')
    assert seed_row.all_inner_texts() == ["1", "5"]
    top = page.evaluate(
        "['compare-parameters', 'compare-outcomes', 'compare-table']"
        ".map(id => document.getElementById(id)?.getBoundingClientRect().top ?? null)"
    )
    params, outcomes, table = top
    assert params < table and (outcomes is None or params < outcomes < table), top
    traces = page.evaluate("document.getElementById('cmp-done').data.map(t => [t.name, t.y])")
    assert [name for name, _ in traces][0].startswith(f"run {first}")
    for _, y in traces:
        assert y == sorted(y) and y[-1] > 0
    assert page.errors == []


def test_the_form_focuses_an_error_and_adds_and_removes_events_in_place(stack, page):
    open_demo_fleet_form(page, stack.base_url)
    page.fill("#id_cap_per_target_host", "0")  # far down the form
    page.evaluate("window.scrollTo(0, 0)")
    page.click("#save-plan")
    page.wait_for_selector("#id_cap_per_target_host_error")
    page.wait_for_function("document.activeElement.id === 'id_cap_per_target_host'")
    box = page.evaluate(
        "(() => { const r = document.activeElement.getBoundingClientRect();"
        " return [r.top, r.bottom, window.innerHeight]; })()"
    )
    assert box[0] >= 0 and box[1] <= box[2], box  # scrolled into view
    page.fill("#id_cap_per_target_host", "2")
    page.click("#add-event")
    page.wait_for_selector("#id_events-1-name")
    page.wait_for_function("document.activeElement.id === 'id_events-1-name'")
    page.fill("#id_events-1-name", "bios-later")
    page.select_option("#id_events-1-kind", "bios_rollout")
    page.fill("#id_events-1-start", "2h")
    assert not page.is_visible("#id_events-0-DELETE")  # the button does it
    page.click("#remove-event-0")
    assert not page.is_visible("#event-0") and page.is_checked("#id_events-0-DELETE")
    page.click(".event-removed .undo-remove")
    assert page.is_visible("#event-0") and not page.is_checked("#id_events-0-DELETE")
    page.click("#remove-event-0")
    page.click("#save-plan")
    page.wait_for_url(re.compile(r"/fleets/\d+/plan/$"))
    page.wait_for_selector("#approve", timeout=90_000)
    plan = page.inner_text("#plan")
    assert "bios-later (BIOS rollout)" in plan and "kernel-upgrade" not in plan
    assert page.errors == []


def test_an_import_error_says_line_and_column_and_its_field_is_focused(stack, page):
    page.goto(stack.base_url + "/fleets/")
    page.fill("#id_text", "name: x\nfleet:\n  racks: [1, 2\n  vms: 3\n")
    page.click("#import-submit")
    page.wait_for_selector("#id_text_error")
    said = page.inner_text("#id_text_error")
    assert "line 4, column 6" in said and "not closed" in said, said
    page.wait_for_function("document.activeElement.id === 'id_text'")
    assert page.errors == []
