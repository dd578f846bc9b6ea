"""One lesson end to end in headless Chromium: open it anonymous, pick a prediction, run it (htmx
swaps the result in), read the explanation and the chart, see whether the pick was right, and
reload the shared URL to get the same page back."""

from migrationsim.lessons import get
from playground.lessons import results

from .browser_support import page_after_live_server  # noqa: F401  (the page fixture)

LESSON = "write-heavy-never-converges"


def test_a_learner_predicts_runs_and_reads_whether_the_prediction_was_right(live_server, page):
    lesson = get(LESSON)
    outcome = results.outcome_of(lesson)
    wrong = next(c for c in lesson.choices if c.key != outcome.answer)

    page.goto(f"{live_server.url}/lessons/")
    page.click(f"text={lesson.title}")
    page.wait_for_selector("#predict-form")
    assert page.inner_text("#lesson-question") == lesson.question
    assert page.query_selector("#lesson-result") is None  # nothing shown before a prediction

    page.check(f"#pick-{wrong.key}")
    page.click("#run-lesson")
    verdict = page.wait_for_selector("#lesson-verdict", timeout=15_000)
    assert "was not right" in verdict.inner_text()
    assert page.url.endswith(f"/lessons/{LESSON}/?pick={wrong.key}")  # htmx pushed the URL
    explanation = page.inner_text("#lesson-explanation")
    assert outcome.explanation[0] in explanation and outcome.explanation[-1] in explanation
    page.wait_for_function("document.getElementById('lesson-chart').dataset.drawn === 'true'")
    plotted = page.evaluate("document.getElementById('lesson-chart').data[0].y.length")
    assert plotted == len(outcome.chart["traces"][0]["y"])
    assert "the run's answer" in page.inner_text(f".lesson-answer:has(#pick-{outcome.answer})")

    page.check(f"#pick-{outcome.answer}")
    page.click("#run-lesson")
    page.wait_for_selector("#lesson-verdict.lesson-right", timeout=15_000)
    assert "was right" in page.inner_text("#lesson-verdict")

    page.goto(live_server.url + page.get_attribute("#share-link", "href"))
    assert "was right" in page.inner_text("#lesson-verdict")
    page.wait_for_function("document.getElementById('lesson-chart').dataset.drawn === 'true'")
    assert page.errors == []
