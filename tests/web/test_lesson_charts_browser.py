"""A lesson's chart at a laptop's 1280x800: the legend sits below the plot without squashing it,
and a run that ends in a minute is not squeezed into the first few percent of an axis drawn for
a run of twenty."""

import math
import os

import pytest

from migrationsim.lessons import get
from playground.lessons import results

from .browser_support import chromium, open_page

SHOTS = os.environ.get("UI_SHOTS_DIR", "")  # set it to keep a screenshot of each chart


@pytest.fixture
def page(live_server):  # Chromium after the live server (browser_support.py says why)
    with chromium() as browser:
        yield open_page(browser, 1280, 800)


def _drawn(live_server, page, slug: str) -> dict:
    lesson = get(slug)
    answer = results.outcome_of(lesson).answer
    page.goto(f"{live_server.url}/lessons/{slug}/?pick={answer}")
    page.wait_for_function("document.getElementById('lesson-chart').dataset.drawn === 'true'")
    if SHOTS:
        page.locator("#lesson-chart").screenshot(path=os.path.join(SHOTS, f"lesson-{slug}.png"))
        page.locator("#lesson-result").screenshot(
            path=os.path.join(SHOTS, f"lesson-{slug}-all.png")
        )
    return page.evaluate(
        """() => {
          const el = document.getElementById('lesson-chart');
          const size = el._fullLayout._size;
          const plot = el.querySelector('.cartesianlayer .bg, .nsewdrag').getBoundingClientRect();
          const legend = el.querySelector('.legend').getBoundingClientRect();
          return {plotH: size.h, plotW: size.w, plotBottom: plot.bottom, legendTop: legend.top,
                  xrange: el._fullLayout.xaxis.range, data: el.data.map((t) => t.x)};
        }"""
    )


def test_a_chart_with_six_traces_keeps_its_plot_and_puts_the_legend_below(live_server, page):
    chart = _drawn(live_server, page, "faster-link-under-the-cap")
    assert len(chart["data"]) == 6
    assert chart["plotH"] >= 250, chart  # the legend above squashed it to ~150 px
    assert chart["legendTop"] >= chart["plotBottom"], chart
    assert page.errors == []


def test_the_run_that_converged_fills_the_axis_not_its_first_percent(live_server, page):
    outcome = results.outcome_of(get("downtime-limit-trade"))
    loose_s = outcome.numbers["loose"]["precopy_time_s"]
    chart = _drawn(live_server, page, "downtime-limit-trade")
    low, high = chart["xrange"]
    assert (loose_s - low) / (high - low) >= 0.25, chart["xrange"]
    assert high >= loose_s  # all of the converged run is on it
    assert "double-click" in outcome.chart["title"]
    assert page.errors == []


def test_a_log_axis_labels_only_the_powers_of_ten(live_server, page):
    """Not Plotly's labelled minor ticks ('10k 5 2 1000 5 2 100')."""
    _drawn(live_server, page, "write-heavy-never-converges")
    labels = page.eval_on_selector_all(
        "#lesson-chart .ytick text", "(nodes) => nodes.map((n) => n.textContent)"
    )
    assert len(labels) >= 2, labels
    values = [float(label.replace(",", "")) for label in labels]
    assert all(math.log10(v) == round(math.log10(v)) for v in values), labels
    assert not any("k" in label for label in labels), labels
