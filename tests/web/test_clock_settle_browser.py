"""A fleet run's clock at the end: the page read "simulated time 22 h 41 min" beside a makespan
of 22 h 36 min (region): while waiting for frames it runs up to a bucket ahead of the last one,
and a slow tick at a high speed overshoots. Once the run is done and every frame played,
``fleet.js`` settles ``RunStream.Clock`` on the last frame's time (static/js/run_stream.js)."""

from pathlib import Path

from .browser_support import browser, page  # noqa: F401  (the Chromium fixtures)

JS = Path(__file__).resolve().parents[2] / "static" / "js"


def test_the_clock_settles_on_the_runs_last_time_and_never_moves_forward_for_it(page):  # noqa: F811
    page.set_content("<div class='player'></div>")
    page.add_script_tag(path=str(JS / "run_stream.js"))
    ran_ahead, behind = page.evaluate(
        """() => {
            const clock = new RunStream.Clock({speed: 300});
            clock.advance(1.0);  // 300 s: ahead of a run that ended at 281.5 s
            const ranAhead = clock.settle(281.5);
            const early = new RunStream.Clock({speed: 300});
            early.advance(0.5);  // 150 s: still behind the end, playback goes on
            return [ranAhead, early.settle(281.5)];
        }"""
    )
    assert ran_ahead == 281.5
    assert behind == 150
    assert "clock.settle(acc.t[acc.t.length - 1])" in (JS / "fleet.js").read_text()
