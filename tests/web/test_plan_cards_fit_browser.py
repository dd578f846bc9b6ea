"""The plan's "Will be terminated" card at 1280 px: its reason "onHostMaintenance=TERMINATE:"
(one long word) ran out of the card over the next one (heartbleed)."""

from pathlib import Path

from .browser_support import browser, open_page  # noqa: F401  (the Chromium fixtures)

CSS = Path(__file__).resolve().parents[2] / "static" / "css"

CARDS = """<main><div class="plan-grid">
{card}{card}{card}
<section class="panel plan-card" id="terminate"><h2>Will be terminated</h2><p class="big">1,499</p>
<ul class="reasons"><li><strong>245</strong> · onHostMaintenance=TERMINATE: stopped, restarted
elsewhere if automaticRestart</li></ul></section>
</div></main>"""


def test_a_long_reason_wraps_inside_its_card(browser):  # noqa: F811
    page = open_page(browser, width=1280, height=900)
    try:
        card = '<section class="panel plan-card"><h2>How long</h2><p class="big">5 h</p></section>'
        page.set_content(CARDS.format(card=card))
        for name in ("playground.css", "fleet.css"):
            page.add_style_tag(path=str(CSS / name))
        widths = page.eval_on_selector(
            "#terminate",
            "(el) => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().width]",
        )
        assert widths[0] <= widths[1] + 1, widths
    finally:
        page.context.close()
