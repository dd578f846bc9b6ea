"""Numbers as people read them: bytes in IEC units, rates, durations."""

from __future__ import annotations

from django import template

register = template.Library()


def _scaled(value: float, units: list[str], base: float) -> str:
    for unit in units[:-1]:
        if abs(value) < base:
            return f"{value:.3g} {unit}"
        value /= base
    return f"{value:.3g} {units[-1]}"


def human_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, (int, float)):
        if key.endswith("_bytes"):
            return _scaled(float(value), ["B", "KiB", "MiB", "GiB", "TiB"], 1024)
        if key.endswith("_bps"):
            return _scaled(float(value), ["B/s", "KB/s", "MB/s", "GB/s"], 1000)
        if key.endswith("_s"):
            return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.4g} s"
        if isinstance(value, float):
            return f"{value:.4g}"
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {human_value(k, v)}" for k, v in value.items())
    return str(value)


def human_label(key: str) -> str:
    for suffix in ("_bytes", "_bps", "_s"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


@register.filter
def human(value, key: str = "") -> str:
    return human_value(str(key), value)


@register.filter
def label(key: str) -> str:
    return human_label(str(key))


# The groups of figures in a run's summary (dicts) shown as one row per figure, and their names.
GROUP_LABELS = {"postcopy": "post-copy"}


@register.filter
def summary_rows(result: dict | None) -> list[tuple[str, str]]:
    """A run's summary as (label, value) rows: its figures, and post-copy's group of figures
    one row each; lists (rounds, phases) have charts of their own."""
    if not result:
        return []
    rows = []
    for k, v in result.items():
        if isinstance(v, dict) and k in GROUP_LABELS:
            rows += [
                (f"{GROUP_LABELS[k]} {human_label(sub)}", human_value(f"{k}_{sub}", x))
                for sub, x in v.items()
                if not isinstance(x, (list, dict))
            ]
        elif not isinstance(v, (list, dict)):
            rows.append((GROUP_LABELS.get(k, human_label(k)), human_value(k, v)))
    return rows
