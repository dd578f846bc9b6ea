"""Fleet numbers as people read them (seconds as h/min/s, shares as percents)."""

from __future__ import annotations

from django import template

from playground.ops.templatetags.playground_tags import human_value

register = template.Library()


@register.filter
def duration(seconds) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):  # None, or "" for a run with no summary yet
        return "–"
    if s < 1:
        return f"{s * 1000:.3g} ms"
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


@register.filter
def fleet_value(value, key: str = "") -> str:
    if value is None:
        return "–"
    if str(key).endswith("_s") and isinstance(value, (int, float)):
        return duration(value)
    if key == "bytes_sent" and isinstance(value, (int, float)):
        return human_value("x_bytes", value)
    return human_value(str(key), value)


@register.filter
def percent(part, whole) -> str:
    try:
        return f"{100 * float(part) / float(whole):.1f} %"
    except (TypeError, ValueError, ZeroDivisionError):
        return "–"


@register.filter
def sweep_point(run) -> str:
    """A sweep run's point by parameter name (``policy.max_bandwidth=64MiB/s``), not as the
    stored ``x``/``y`` keys."""
    sweep, point = run.sweep, run.sweep_point or {}
    if sweep is None:
        return ""
    text = f"{sweep.x_param}={point.get('x')}"
    if sweep.y_param:
        text += f", {sweep.y_param}={point.get('y')}"
    return text
