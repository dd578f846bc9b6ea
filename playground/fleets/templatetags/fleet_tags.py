"""Fleet numbers and codes as people read them (``migrationsim.humanize``: seconds as
ms/s/min/h, bytes in IEC units; shares as percents; outcomes in the words of
``migrationsim.outcomes``)."""

from __future__ import annotations

from django import template

from migrationsim import outcomes
from playground.fleets.fields import EVENT_KINDS
from playground.fleets.sweeps import param_name, point_in_words
from playground.ops.templatetags.playground_tags import duration, human_value

_KIND_NAMES = dict(EVENT_KINDS)

register = template.Library()
register.filter("duration", duration)  # the one duration filter, under this library too


@register.filter
def fleet_value(value, key: str = "") -> str:
    if value is None:
        return "–"
    if str(key).endswith("_s") and isinstance(value, (int, float)):
        return duration(value)
    return human_value(str(key), value)


@register.filter
def event_kind(code: str) -> str:
    """A maintenance event's kind as the fleet form names it ('Kernel upgrade' for
    ``kernel_upgrade``), the code with spaces if the form does not know it."""
    return _KIND_NAMES.get(str(code), str(code).replace("_", " "))


@register.filter
def vm_outcome(code: str) -> str:
    """A fleet VM's outcome in a few words ('failed: source crash' for ``crashed``, 'migrated
    without converging' for the term ``not_converged``)."""
    said = outcomes.fleet_words(str(code))
    return said.label if said else str(code).replace("_", " ")


@register.filter
def vm_outcome_definition(code: str) -> str:
    said = outcomes.fleet_words(str(code))
    return said.sentence if said else ""


@register.filter
def outcome_counts(summary: dict | None) -> list[tuple[str, str, str, int]]:
    """(code, words, definition, count) for each outcome a run's VMs had, besides unaffected."""
    counts = (summary or {}).get("outcomes") or {}
    return [
        (code, vm_outcome(code), vm_outcome_definition(code), n)
        for code, n in counts.items()
        if n and code != "unaffected"
    ]


@register.filter
def vm_reason(row: dict) -> dict:
    """A fleet VM row's reason in words, with its code when it is one (``outcomes.fleet_vm``)."""
    row = row or {}
    return outcomes.fleet_vm(str(row.get("outcome", "")), str(row.get("reason") or ""))


@register.filter
def percent(part, whole) -> str:
    try:
        return f"{100 * float(part) / float(whole):.1f} %"
    except (TypeError, ValueError, ZeroDivisionError):
        return "–"


@register.filter
def sweep_point(run) -> str:
    """A sweep run's point in words (``sweeps.point_in_words``), not as the stored ``x``/``y``
    keys."""
    return point_in_words(run)


@register.filter
def swept_param(key: str) -> str:
    """A swept parameter in the sweep form's words ("Bandwidth cap per migration"), not its
    scenario key (``policy.max_bandwidth``)."""
    return param_name(key)


@register.filter
def left_unnamed(names, total) -> int:
    """How many of ``total`` a list of example names leaves out (the not-handled rows name six)."""
    try:
        return max(0, int(total) - len(names or ()))
    except (TypeError, ValueError):
        return 0


@register.filter
def all_moved(not_handled) -> bool:
    """Whether every host in scope was handled and every VM the engine lists as not handled moved
    all the same (``not_converged``: migrated, but pre-copy did not converge)."""
    if not not_handled or not_handled.get("hosts_total"):
        return False
    rows = not_handled.get("vms") or ()
    return bool(rows) and all(row.get("outcome") == "not_converged" for row in rows)
