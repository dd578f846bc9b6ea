"""Lessons for teachers and their students: a question, a prediction, the run that answers it, and
an explanation read from that run (never written by hand). ``LESSONS`` in the order taught.

    from migrationsim.lessons import get
    lesson = get("write-heavy-never-converges")
    outcome = lesson.outcome()  # runs the model
    print(outcome.answer, outcome.explanation[0])
"""

from collections.abc import Mapping
from typing import Any

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

# The lessons about one kind of maintenance event (``fleet.scenario.EVENT_KINDS``), by kind: the
# one place that says which scenario a fleet lesson is about. A fleet page links such a lesson
# only when its scenario has an event of that kind (the rack evacuation is a kernel upgrade, not
# a failing host); a lesson no kind names (the 60 s notice) is about every fleet.
EVENT_KIND_LESSONS: dict[str, tuple[Lesson, ...]] = {
    "kernel_upgrade": (RACK_EVACUATION,),
}


def get(slug: str) -> Lesson | None:
    return BY_SLUG.get(slug)


def for_topic(topic: str) -> tuple[Lesson, ...]:
    """The lessons a page about ``topic`` ("anatomy", "run", "fleet", "plan") links to."""
    return tuple(lesson for lesson in LESSONS if topic in lesson.topics)


def event_kinds(scenario: Mapping[str, Any] | None) -> set[str]:
    """The kinds of maintenance event a fleet scenario dict holds (``hw_failure``, ...)."""
    events = (scenario or {}).get("events") if isinstance(scenario, Mapping) else None
    if not isinstance(events, list):
        return set()
    return {str(e.get("kind")) for e in events if isinstance(e, Mapping) and e.get("kind")}


def for_scenario(topic: str, scenario: Mapping[str, Any] | None) -> tuple[Lesson, ...]:
    """The lessons a fleet page about ``topic`` ("fleet", "plan") links for this scenario: those
    about one of its event kinds (``EVENT_KIND_LESSONS``), and those about no kind in
    particular; none about an event the scenario does not have."""
    kinds = event_kinds(scenario)
    tied = {lesson.slug for tied in EVENT_KIND_LESSONS.values() for lesson in tied}
    matching = {lesson.slug for kind in kinds for lesson in EVENT_KIND_LESSONS.get(kind, ())}
    return tuple(
        lesson for lesson in for_topic(topic) if lesson.slug not in tied or lesson.slug in matching
    )


__all__ = [
    "BY_SLUG",
    "EVENT_KIND_LESSONS",
    "LESSONS",
    "Choice",
    "Lesson",
    "Outcome",
    "event_kinds",
    "for_scenario",
    "for_topic",
    "get",
]
