"""``{% lesson_links "run" %}``: the lessons about what a page shows, as a line of links; a fleet
page passes its scenario (``{% lesson_links "plan" fleet.scenario %}``) so a lesson about one
kind of maintenance event is linked only beside that kind (``migrationsim.lessons``). The
anatomy and fleet templates load it (a template library, not an import: nothing below
``lessons`` imports it)."""

from django import template

from migrationsim.lessons import for_scenario, for_topic

register = template.Library()


@register.inclusion_tag("lessons/_links.html")
def lesson_links(topic: str, scenario=None) -> dict:
    if scenario is None:
        return {"lessons": for_topic(topic)}
    return {"lessons": for_scenario(topic, scenario)}
