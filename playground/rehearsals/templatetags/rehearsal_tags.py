"""The rehearsal board's times, as ``migrationsim.humanize`` reads durations."""

from django import template

from migrationsim import humanize

register = template.Library()


@register.filter
def ago(seconds) -> str:
    """Wall seconds since something: ``400 ms ago``, ``3 min 12 s ago``."""
    if seconds is None:
        return ""
    return f"{humanize.duration(max(0.0, float(seconds)))} ago"
