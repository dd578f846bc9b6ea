"""A lesson's run, once per process: lessons are deterministic (fixed parameters and seeds), so
the first visitor's run answers every later one. The biggest (a small fleet's plan, re-run once
per relaxed limit) takes well under a second."""

from __future__ import annotations

from functools import cache

from migrationsim.lessons import Lesson, Outcome, get


@cache
def _outcome(slug: str) -> Outcome:
    return get(slug).outcome()


@cache
def _setup(slug: str) -> tuple[str, ...]:
    return get(slug).setup()


def outcome_of(lesson: Lesson) -> Outcome:
    return _outcome(lesson.slug)


def setup_of(lesson: Lesson) -> tuple[str, ...]:
    return _setup(lesson.slug)
