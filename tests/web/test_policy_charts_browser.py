"""The convergence aids seen in headless Chromium: the auto-converge showcase draws the CPU
throttle the engine set, round by round; the post-copy showcase draws its phase on the timeline,
its band, remote page faults per second and pages fetched on demand, and lists its figures in
the summary. Every figure checked against the run's own stored events."""

import re
import subprocess

import pytest

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)
from .support import PYTHON, ROOT


@pytest.fixture
def showcases(stack):
    """The named scenarios, loaded into the stack's database as ``./run`` does."""
    subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "load_presets"],
        cwd=ROOT,
        env=stack.env,
        check=True,
        capture_output=True,
    )
    return stack


def play_showcase(stack, page, slug):  # noqa: F811
    """Start the showcase as a visitor would (no 60 s notice, as fast as possible) and wait
    for the playback to end; returns the run's stored events."""
    page.goto(f"{stack.base_url}/?scenario={slug}")
    page.uncheck("#id_guest_watches")
    page.select_option("#id_speed", "max")
    page.click("#simulate")
    page.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)
    page.wait_for_function("window.anatomy.state().finished", timeout=60_000)
    page.wait_for_selector("#summary-table", timeout=10_000)
    return page.evaluate("fetch(location.pathname + 'events.json').then((r) => r.json())")["events"]


def chart(page, element_id):  # noqa: F811
    return page.evaluate(
        f"(() => {{ const c = document.getElementById('{element_id}');"
        " return { data: c.data.map((t) => ({ name: t.name, x: t.x, y: t.y })),"
        " shapes: c.layout.shapes || [] }; })()"
    )


def test_the_auto_converge_showcase_draws_the_throttle_the_engine_set(showcases, page):  # noqa: F811
    events = play_showcase(showcases, page, "cache-autoconverge")
    live = [e for e in events if e["kind"] == "round" and e["phase"] == "live"]
    summary = events[-1]["result"]
    assert summary["outcome"] == "migrated" and summary["throttle_max"] > 0

    (line,) = chart(page, "chart-throttle")["data"]
    # one step per live round, held to the last round's end
    assert line["x"] == pytest.approx([e["t_s"] for e in live] + [live[-1]["end_s"]])
    assert line["y"] == pytest.approx([100 * e["throttle"] for e in live] + [line["y"][-2]])
    steps = sorted({round(y) for y in line["y"]})
    assert steps[0] == 0 and steps[1] == 20 and max(steps) == round(100 * summary["throttle_max"])
    assert all(b - a == 10 for a, b in zip(steps[1:], steps[2:], strict=False))
    assert page.is_visible("#chart-throttle") and not page.query_selector("#chart-postcopy")
    assert page.errors == []


def test_the_post_copy_showcase_draws_its_phase_its_faults_and_its_summary(showcases, page):  # noqa: F811
    events = play_showcase(showcases, page, "muncher-postcopy")
    postcopy = events[-1]["result"]["postcopy"]
    band = {e["kind"]: e["t_s"] for e in events if e.get("phase") == "post_copy"}
    samples = [e for e in events if e["kind"] == "postcopy"]

    drawn = chart(page, "chart-postcopy")
    rate, fetched, pushed = drawn["data"]
    assert rate["name"] == "remote page faults per second"
    assert rate["x"] == pytest.approx([s["t_s"] for s in samples])
    assert rate["y"] == pytest.approx([s["faults_per_s"] for s in samples])
    assert rate["y"][0] > 0 and rate["y"][-1] == 0
    assert fetched["name"] == "pages fetched on demand"
    assert fetched["y"][-1] == pytest.approx(postcopy["faults"])
    assert pushed["y"][-1] == pytest.approx(postcopy["pages"])
    (shade,) = drawn["shapes"]
    assert (shade["x0"], shade["x1"]) == pytest.approx((band["phase_start"], band["phase_end"]))

    timeline = chart(page, "chart-timeline")["data"]
    row = next(t for t in timeline if t["name"] == "Post-copy")
    assert row["x"] == pytest.approx([band["phase_end"] - band["phase_start"]])

    # the memory grid follows post-copy to its end, not left at the last pre-copy round
    assert page.inner_text("#memory-round") == "post-copy done: every page on the target"
    grid = page.evaluate("document.getElementById('chart-memory').data[0].z")
    assert grid and all(v == 0 for row in grid for v in row)

    summary = page.inner_text("#summary-table")
    for label in ("post-copy pages", "post-copy faults", "post-copy duration"):
        assert label in summary
    assert not page.query_selector("#chart-throttle")
    assert page.errors == []
