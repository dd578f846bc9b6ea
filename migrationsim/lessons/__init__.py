"""Lessons for teachers and their students: a question, a prediction, the run that answers it, and
an explanation read from that run (never written by hand). ``LESSONS`` in the order taught.

    from migrationsim.lessons import get
    lesson = get("write-heavy-never-converges")
    outcome = lesson.outcome()  # runs the model
    print(outcome.answer, outcome.explanation[0])
"""

from .base import Choice, Lesson, Outcome
from .fleet import RACK_EVACUATION
from .single_vm import AIDS, DOWNTIME_LIMIT, FORWARDING, LINK, NOTICE, WRITE_HEAVY

LESSONS: tuple[Lesson, ...] = (
    WRITE_HEAVY,
    DOWNTIME_LIMIT,
    AIDS,
    NOTICE,
    FORWARDING,
    LINK,
    RACK_EVACUATION,
)
BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}


def get(slug: str) -> Lesson | None:
    return BY_SLUG.get(slug)


def for_topic(topic: str) -> tuple[Lesson, ...]:
    """The lessons a page about ``topic`` ("anatomy", "run", "fleet", "plan") links to."""
    return tuple(lesson for lesson in LESSONS if topic in lesson.topics)


__all__ = ["BY_SLUG", "LESSONS", "Choice", "Lesson", "Outcome", "for_topic", "get"]
