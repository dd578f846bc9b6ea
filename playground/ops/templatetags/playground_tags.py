"""Numbers and codes as people read them: bytes in IEC units, rates, durations
(``migrationsim.humanize``, the one formatter), and outcome and reason codes in words
(``migrationsim.outcomes``, the one table)."""

from __future__ import annotations

from django import template

from migrationsim import humanize, outcomes

register = template.Library()


def human_value(key: str, value) -> str:
    return humanize.value(key, value)


def human_label(key: str) -> str:
    return humanize.label(key)


@register.filter
def human(value, key: str = "") -> str:
    return human_value(str(key), value)


@register.filter
def change(pct) -> str:
    """A signed change in per cent (``humanize.change``): '+0.4 %', '-12.2 %'."""
    return humanize.change(float(pct))


@register.filter
def duration(seconds) -> str:
    """Seconds as ``humanize.duration`` reads them ('64.98' -> '1 min 5 s'); '–' for none."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):  # None, or "" for a run with no summary yet
        return "–"
    return humanize.duration(s)


@register.filter
def param(value, name: str = "") -> str:
    """A single-VM parameter as typed, in the unit people read (``humanize.parameter``)."""
    return humanize.parameter(str(name), value)


@register.filter
def label(key: str) -> str:
    return human_label(str(key))


# The groups of figures in a run's summary (dicts) shown as one row per figure, and their names.
GROUP_LABELS = {"postcopy": "post-copy"}


# summary keys that hold a code: shown in words, the code in the cell's data-code
_CODE_ROWS = {"outcome": "outcome", "stop_reason": "why pre-copy stopped"}


@register.filter
def summary_rows(result: dict | None) -> list[tuple[str, str, str]]:
    """(label, value in words, code or "") for each plain value of a run's summary."""
    if not result:
        return []
    said = run_outcome(result)
    rows = []
    for k, v in result.items():
        if isinstance(v, dict) and k in GROUP_LABELS:  # post-copy's figures, one row each
            rows += [
                (f"{GROUP_LABELS[k]} {human_label(sub)}", human_value(f"{k}_{sub}", x), "")
                for sub, x in v.items()
                if not isinstance(x, (list, dict))
            ]
            continue
        if isinstance(v, (list, dict)):
            continue
        if k == "outcome":
            rows.append((_CODE_ROWS[k], said["label"], said["code"]))
        elif k == "stop_reason":
            rows.append((_CODE_ROWS[k], outcomes.label(str(v)), str(v)))
        else:
            rows.append((GROUP_LABELS.get(k, human_label(k)), human_value(k, v), ""))
    return rows


@register.filter
def run_outcome(result: dict | None) -> dict | None:
    """One migration's outcome in words (code, label, sentence) from its stored summary: the
    words it carries, or the table's for a summary stored before it carried them."""
    return outcomes.of_result(result)


@register.filter
def code_label(code: str) -> str:
    """Any outcome or reason code in a few words (``outcomes.label``)."""
    return outcomes.label(str(code)) if code else ""


@register.filter
def code_sentence(code: str) -> str:
    """Any outcome or reason code as a sentence (``outcomes.describe``)."""
    return outcomes.describe(str(code)) if code else ""
