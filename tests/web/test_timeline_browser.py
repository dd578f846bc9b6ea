"""The run pages' timelines and shortcuts in headless Chromium, against a real stack.

The anatomy's phase timeline opens on the migration (a 60 s guest notice would dwarf a migration
of seconds), computed from the run's own events, with a toggle to the whole run, a range slider
and millisecond ticks when a few seconds or less are on screen. The playback shortcuts work
whatever has focus except text fields. On the fleet run page the 96 VMs of the demo keep
readable row labels, and the Results anchor lands below the sticky playback bar."""

import itertools
import re

import pytest

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)
from .test_fleet_browser import _start_demo_run

TIMELINE = "document.getElementById('chart-timeline')"


def _start_run_with_notice(stack, tab, speed):
    tab.goto(stack.base_url + "/?scenario=")
    tab.fill("#id_memory", "2GiB")
    tab.select_option("#id_workload", "web")
    tab.check("#id_guest_watches")  # the 60 s notice before a migration of a few seconds
    tab.select_option("#id_speed", speed)
    tab.click("#simulate")
    tab.wait_for_url(re.compile(r"/runs/\d+/$"), timeout=15_000)


def _events(tab):
    return tab.evaluate(
        """async () => {
            const config = JSON.parse(document.getElementById('run-config').textContent);
            return (await (await fetch(config.events_url)).json()).events;
        }"""
    )


def _phase_time(events, kind, phase):
    return next(e["t_s"] for e in events if e["kind"] == kind and e.get("phase") == phase)


def _x_range(tab):
    return tab.evaluate(f"{TIMELINE}._fullLayout.xaxis.range.slice()")


def _drag_zoom(tab, from_s, to_s):
    """A visitor's zoom: a drag across the plot between two simulated times."""
    box = tab.evaluate(
        f"""(() => {{
            const gd = {TIMELINE}, size = gd._fullLayout._size, ax = gd._fullLayout.xaxis;
            const r = gd.getBoundingClientRect();
            return {{x0: r.left + size.l + ax.d2p({from_s}), x1: r.left + size.l + ax.d2p({to_s}),
                     y: r.top + size.t + size.h * 0.3}};
        }})()"""
    )
    tab.mouse.move(box["x0"], box["y"])
    tab.mouse.down()
    tab.mouse.move((box["x0"] + box["x1"]) / 2, box["y"], steps=5)
    tab.mouse.move(box["x1"], box["y"], steps=5)
    tab.mouse.up()


def test_the_timeline_opens_on_the_migration_and_a_toggle_shows_the_whole_run(stack, page):  # noqa: F811
    _start_run_with_notice(stack, page, "max")
    page.wait_for_function("window.anatomy.state().finished", timeout=60_000)
    page.wait_for_timeout(300)  # the last redraw
    events = _events(page)
    notice_end = _phase_time(events, "phase_end", "guest_notice")
    brownout = _phase_time(events, "phase_start", "pre_migration_brownout")
    blackout = _phase_time(events, "phase_start", "blackout")
    end = max(e.get("end_s", e["t_s"]) for e in events)
    assert notice_end >= 30 and end - brownout < notice_end, "the notice dwarfs the migration"

    # the default view: the migration, from a little before the brownout to the end
    start, stop = _x_range(page)
    assert notice_end < start < brownout < blackout < end <= stop, (start, stop, events[-1])
    assert stop - start < 1.5 * (end - brownout)
    assert page.evaluate("window.anatomy.state().timelineView") == "migration"
    # the notice is folded off the left, said on its row; the slider shows the whole run
    notes = page.evaluate(f"{TIMELINE}.layout.annotations.map((a) => [a.y, a.text])")
    assert any(y == "Guest notice" and "before this view" in text for y, text in notes), notes
    slider = page.evaluate(f"{TIMELINE}._fullLayout.xaxis.rangeslider")
    assert slider["visible"] and slider["range"][0] <= 0 and slider["range"][1] >= end
    assert page.inner_text("#timeline-view") == "Show the whole timeline"

    page.click("#timeline-view")
    page.wait_for_function("window.anatomy.state().timelineView == 'whole'")
    page.wait_for_timeout(300)
    start, stop = _x_range(page)
    assert start <= 0 and stop >= end
    assert page.inner_text("#timeline-view") == "Show the migration"
    notes = page.evaluate(f"{TIMELINE}.layout.annotations.map((a) => a.text)")
    assert not [text for text in notes if "before this view" in text], notes

    page.click("#timeline-view")
    page.wait_for_function("window.anatomy.state().timelineView == 'migration'")
    page.wait_for_timeout(300)
    assert notice_end < _x_range(page)[0] < brownout

    # a zoom onto the blackout: kept, and the ticks are in milliseconds
    _drag_zoom(page, blackout - 0.2, blackout + 0.3)
    page.wait_for_function("window.anatomy.state().timelineView == 'zoomed'")
    page.wait_for_timeout(300)
    start, stop = _x_range(page)
    assert start < blackout < stop and stop - start < 1, (start, stop)
    axis = page.evaluate(f"{TIMELINE}.layout.xaxis")
    assert axis["title"]["text"].startswith("milliseconds after")
    assert len(axis["ticktext"]) >= 3 and all(t.endswith(" ms") for t in axis["ticktext"])
    assert page.inner_text("#timeline-view") == "Show the migration"
    page.keyboard.press("z")  # the toggle's key: back to the migration, seconds again
    page.wait_for_function("window.anatomy.state().timelineView == 'migration'")
    page.wait_for_timeout(300)
    assert page.evaluate(f"{TIMELINE}.layout.xaxis.title.text") == "simulated time (s)"
    migration = _x_range(page)
    _drag_zoom(page, blackout - 0.2, blackout + 0.3)
    page.wait_for_function("window.anatomy.state().timelineView == 'zoomed'")
    page.dblclick("#chart-timeline .nsewdrag")  # Plotly's reset: the page's own view again
    page.wait_for_function("window.anatomy.state().timelineView == 'migration'")
    page.wait_for_timeout(300)
    assert _x_range(page) == pytest.approx(migration)
    assert page.errors == []


def test_the_shortcuts_work_after_a_button_or_the_speed_is_clicked(stack, page):  # noqa: F811
    _start_run_with_notice(stack, page, "1")  # real time: the notice alone lasts a minute
    page.wait_for_function("window.anatomy.state().received > 5", timeout=30_000)
    state = "window.anatomy.state()"

    page.click("#btn-step")  # pauses, plays one step; the focus stays on the button
    assert page.evaluate("document.activeElement.id") == "btn-step"
    before = page.evaluate(state)
    assert before["playing"] is False
    page.keyboard.press("s")
    assert page.evaluate(state)["played"] > before["played"]
    page.keyboard.press("Space")  # play, and nothing else (not a click on the focused Step)
    page.wait_for_timeout(200)
    assert page.evaluate(state)["playing"] is True
    page.keyboard.press("Space")
    page.wait_for_timeout(200)
    assert page.evaluate(state)["playing"] is False

    page.click("#btn-play")  # playing again; the focus on Play
    page.keyboard.press("Space")  # pauses once (a second toggle by the button's click would not)
    page.wait_for_timeout(200)
    assert page.evaluate(state)["playing"] is False

    page.select_option("#speed", "100")
    page.focus("#speed")
    played = page.evaluate(state)["played"]
    page.keyboard.press("r")  # restart, from the focused select
    restarted = page.evaluate(state)
    assert restarted["playing"] is True and restarted["played"] < played
    page.keyboard.press("4")
    assert page.input_value("#speed") == "max"
    page.keyboard.press("z")
    assert page.evaluate(state)["timelineView"] == "whole"
    assert page.errors == []


@pytest.fixture
def narrow_page(browser):  # noqa: F811
    """A window where the playback bar wraps onto more than one line."""
    context = browser.new_context(viewport={"width": 760, "height": 700})
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def test_the_fleet_timeline_labels_do_not_overlap_and_the_results_anchor_clears_the_bar(
    stack, narrow_page
):
    page = narrow_page
    _start_demo_run(stack, page)
    page.select_option("#speed", "max")
    page.wait_for_function("window.fleetRun.state().finished", timeout=60_000)
    page.wait_for_selector("#fleet-summary-table", timeout=10_000)
    page.wait_for_timeout(400)  # the last redraw
    state = page.evaluate("window.fleetRun.state()")
    assert state["mode"] == "vm" and state["timelineRows"] >= 40, state

    labels = page.evaluate(
        """[...document.querySelectorAll('#chart-timeline .ytick text')]
            .map((t) => t.getBoundingClientRect()).filter((r) => r.height > 0)
            .map((r) => [r.top, r.bottom]).sort((a, b) => a[0] - b[0])"""
    )
    assert 3 <= len(labels) < state["timelineRows"], (len(labels), state["timelineRows"])
    overlaps = [(a, b) for a, b in itertools.pairwise(labels) if b[0] < a[1]]
    assert not overlaps, overlaps

    # a row without a label still names its VM on hover
    target = page.evaluate(
        """(() => {
            const gd = document.getElementById('chart-timeline'), L = gd._fullLayout;
            const shown = new Set(L.yaxis.tickvals);
            const trace = gd.data.find((t) => t.type === 'bar');
            const i = trace.y.findIndex((name) => !shown.has(name));
            let r = gd.getBoundingClientRect();
            const y = () => r.top + L._size.t + L.yaxis.d2p(trace.y[i]);
            window.scrollBy(0, y() - innerHeight / 2);  // the row mid-window, clear of the bar
            r = gd.getBoundingClientRect();
            return {name: trace.y[i], y: y(),
                    x: r.left + L._size.l + L.xaxis.d2p(trace.base[i] + trace.x[i] / 2)};
        })()"""
    )
    page.mouse.move(target["x"], target["y"])
    page.wait_for_selector("#chart-timeline .hoverlayer .hovertext", timeout=5_000)
    hover = page.text_content("#chart-timeline .hoverlayer .hovertext")
    assert hover.startswith(target["name"] + " ("), (hover, target)

    # the Results link: its section starts just below the sticky playback bar, not under it
    page.click("a[href='#results']")
    page.wait_for_timeout(300)
    bar = page.evaluate("document.querySelector('.player').getBoundingClientRect().toJSON()")
    results = page.evaluate("document.getElementById('results').getBoundingClientRect().toJSON()")
    assert bar["height"] > 80, bar  # wrapped: a fixed guess of one line's height would not do
    assert bar["bottom"] <= results["top"] <= bar["bottom"] + 40, (bar, results)

    # shortcuts: not while typing a VM's name; after a click on a button, yes (and only once)
    page.select_option("#speed", "10")  # a replay plays for a while
    ended = page.evaluate("window.fleetRun.state()")
    assert ended["playing"] is False
    page.click("#anatomy-vm")
    page.keyboard.type("vm r ")
    assert page.input_value("#anatomy-vm") == "vm r "
    assert page.evaluate("window.fleetRun.state()")["played"] == ended["played"]
    assert page.evaluate("window.fleetRun.state().playing") is False
    page.click("#zoom-clear")
    page.keyboard.press("Space")  # a replay from the start
    page.wait_for_timeout(200)
    assert page.evaluate("window.fleetRun.state().playing") is True
    page.keyboard.press("Space")
    page.wait_for_timeout(200)
    assert page.evaluate("window.fleetRun.state().playing") is False
    assert page.errors == []


def _fits(tab, chart_id):
    """The chart's drawn width against its element's and the window's."""
    return tab.evaluate(
        f"""(() => {{
          const el = document.getElementById('{chart_id}');
          const box = el.getBoundingClientRect();
          return {{plot: el._fullLayout.width, element: Math.round(box.width),
                   right: Math.round(box.right), page: document.documentElement.clientWidth}};
        }})()"""
    )


def _resized_and_refitted(tab, chart_id):
    for width in (1280, 900, 700, 1280):
        tab.set_viewport_size({"width": width, "height": 800})
        tab.wait_for_timeout(700)  # the resize handler redraws the chart
        fit = _fits(tab, chart_id)
        assert abs(fit["plot"] - fit["element"]) <= 2, (width, fit)
        assert fit["right"] <= fit["page"], (width, fit)


def test_the_anatomy_timeline_is_laid_out_again_when_the_window_is_resized(stack, page):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 800})
    _start_run_with_notice(stack, page, "max")
    page.wait_for_function("window.anatomy.state().finished", timeout=60_000)
    _resized_and_refitted(page, "chart-timeline")
    assert page.errors == []


def test_the_fleet_timeline_is_laid_out_again_when_the_window_is_resized(stack, page):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 800})
    _start_demo_run(stack, page)
    page.select_option("#speed", "max")
    page.wait_for_function("window.fleetRun.state().finished", timeout=30_000)
    _resized_and_refitted(page, "chart-timeline")
    assert page.errors == []


def test_the_anatomy_timeline_refits_a_resize_while_the_run_plays(stack, page):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 800})
    _start_run_with_notice(stack, page, "10")
    page.wait_for_function("window.anatomy.state().received > 0", timeout=20_000)
    _resized_and_refitted(page, "chart-timeline")
    assert not page.evaluate("window.anatomy.state().finished")  # it was still playing
    assert page.errors == []
