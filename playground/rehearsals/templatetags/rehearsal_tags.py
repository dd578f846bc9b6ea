from django import template

register = template.Library()


@register.filter
def ago(seconds) -> str:
    """Wall seconds since something, short: ``0.4 s ago``, ``3 min ago``."""
    if seconds is None:
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s ago"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
