from django.apps import AppConfig


class LessonsConfig(AppConfig):
    """Lessons for teachers and their students: a question, a prediction, the run that answers
    it (migrationsim/lessons/) and an explanation read from that run. No tables, no account."""

    name = "playground.lessons"
    label = "lessons"
