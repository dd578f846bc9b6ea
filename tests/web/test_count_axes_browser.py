"""Axes of counts (VMs, migrations) label whole numbers only, each once: Plotly's own ticks
over a span under ten are 0.5 apart ("0.5", "1.5"). ``countAxis`` (static/js/plot_text.js) is
what the fleet run page and the compare page give such axes; drawn here by the real Plotly in
headless Chromium."""

from pathlib import Path

import plotly
import pytest

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PLOT_TEXT_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "plot_text.js"


@pytest.fixture
def chart_page(page):  # noqa: F811
    page.set_content('<div id="chart" style="width: 500px; height: 300px"></div>')
    page.add_script_tag(path=str(PLOTLY_JS))
    page.add_script_tag(path=str(PLOT_TEXT_JS))
    return page


def y_labels(page, traces: list[dict]) -> list[str]:  # noqa: F811
    """The y tick labels of a chart of ``traces`` on a count axis."""
    page.evaluate(
        """(traces) => Plotly.newPlot("chart", traces,
             {height: 300, margin: {l: 70, r: 20, t: 10, b: 40},
              yaxis: countAxis({title: {text: "VMs"}}, traces)})""",
        traces,
    )
    return page.eval_on_selector_all(
        "#chart .ytick text", "(nodes) => nodes.map((n) => n.textContent)"
    )


@pytest.mark.parametrize(
    ("ys", "labels"),
    [
        ([0, 1, 2, 1], ["0", "1", "2"]),
        ([0, 0, 0], ["0", "1"]),
        ([1, 3, 2, 5], ["0", "1", "2", "3", "4", "5"]),
        ([2, 7, 9], ["0", "2", "4", "6", "8"]),
    ],
)
def test_a_small_count_axis_labels_each_whole_number_once(chart_page, ys, labels):
    shown = y_labels(chart_page, [{"type": "scatter", "mode": "lines", "y": ys}])
    assert shown[: len(labels)] == labels
    assert shown == sorted(set(shown), key=lambda s: int(s.replace(",", "")))


def test_stacked_counts_take_their_total_as_the_top(chart_page):
    stacked = [
        {"type": "scatter", "mode": "lines", "stackgroup": "one", "y": [1, 2, 1]},
        {"type": "scatter", "mode": "lines", "stackgroup": "one", "y": [1, 1, 0]},
    ]
    assert y_labels(chart_page, stacked) == ["0", "1", "2", "3"]


def test_a_large_count_axis_keeps_plotlys_step_in_whole_numbers_with_separators(chart_page):
    shown = y_labels(chart_page, [{"type": "bar", "x": [1, 2, 3], "y": [40, 12000, 3]}])
    assert "10,000" in shown and all("." not in s and "k" not in s for s in shown), shown
    assert len(shown) == len(set(shown))


def test_a_count_of_ten_or_more_still_gets_whole_steps(chart_page):
    shown = y_labels(chart_page, [{"type": "bar", "x": [1, 2], "y": [10, 4]}])
    values = [int(s) for s in shown]
    assert values == sorted(set(values)) and values[0] == 0 and values[-1] >= 10, shown
