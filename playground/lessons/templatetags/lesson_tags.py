"""``{% lesson_links "run" %}``: the lessons about what a page shows, as a line of links. The
anatomy and fleet templates load it (a template library, not an import: nothing below
``lessons`` imports it)."""

from django import template

from migrationsim.lessons import for_topic

register = template.Library()


@register.inclusion_tag("lessons/_links.html")
def lesson_links(topic: str) -> dict:
    return {"lessons": for_topic(topic)}
