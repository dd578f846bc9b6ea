"""Numbers as people read them: one formatter for sizes, rates and durations, used by the CLI,
the pages (through the template filters) and the sentences of the outcome table.

    size(4294967296)      -> '4.0 GiB'
    duration(0.0523)      -> '52.3 ms'
    duration(43500)       -> '12 h 5 min'      (not '725.0 min')
    value("bytes_sent", 4.295e9) -> '4.0 GiB'  (a summary key's unit read from its name)

A chart's axis of durations takes one unit for all its numbers, said on the axis:
``common_duration_unit`` (a sweep's heat map and lines; its cells say each duration in words).
"""

from __future__ import annotations

import math

from .units import (
    format_bytes,
    format_duration,
    format_rate,
    parse_bytes,
    parse_duration,
    parse_rate,
)

# (unit, seconds per unit), smallest first: what an axis of durations may be shown in
DURATION_UNITS = (("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0))


def size(n: float) -> str:
    """Bytes in IEC units: 4294967296 -> '4.0 GiB', 40265318 -> '38.4 MiB'."""
    return format_bytes(float(n))


def rate(bps: float) -> str:
    """Bytes per second as the bits per second links are sold in: 1.25e9 -> '10 Gbit/s'."""
    return format_rate(float(bps))


def duration(s: float) -> str:
    """Seconds in the unit that reads best: '52.3 ms', '12.3 s', '4 min 10 s', '12 h 5 min'."""
    return format_duration(s)


def common_duration_unit(values) -> tuple[str, float]:
    """One unit for an axis of durations (so one label holds): the largest unit in which the
    biggest value is at least 1 (ms below a second). Returns (unit, seconds per unit)."""
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    biggest = max(finite, default=0.0)
    chosen = DURATION_UNITS[0]
    for unit in DURATION_UNITS:
        if biggest >= unit[1]:
            chosen = unit
    return chosen


def change(pct: float) -> str:
    """A change in per cent with its sign, as the plan's tables say it: 0.4 -> '+0.4 %',
    -12.25 -> '-12.2 %' (a relaxation that makes a run longer must not read as a gain)."""
    return f"{pct:+.1f} %"


def percent(share: float) -> str:
    """0.6 -> '60 %'. A share strictly between 0 and 1 never reads as 0 % or 100 %: 0.9999 ->
    '99.99 %' (a 99.99 % headroom said "100 %", and its relaxation "100 % -> 0 %")."""
    pct = share * 100
    text = f"{pct:.0f}"
    if 0 < share < 1 and float(text) in (0.0, 100.0):
        # the fewest decimals that keep it off both ends; a share too small for them: 1e-298
        shown = (f"{pct:.{d}f}" for d in range(1, 16))
        text = next((t for t in shown if float(t) not in (0.0, 100.0)), f"{pct:.3g}")
    return f"{text} %"


# summary keys that hold a share of 1 (said as a percent): auto-converge's deepest throttle
SHARE_KEYS = frozenset({"throttle_max"})


def _is_bytes(key: str) -> bool:
    return key.endswith("_bytes") or key.startswith("bytes_") or "_bytes_" in key or key == "bytes"


def value(key: str, v) -> str:
    """A summary value read by its key's unit suffix (``_bytes``/``bytes_``, ``_bps``, ``_s``)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "none"
    if isinstance(v, (int, float)):
        if key in SHARE_KEYS:
            return percent(v)
        if _is_bytes(key):
            return size(v)
        if key.endswith("_bps"):
            return rate(v)
        if key.endswith("_s"):
            return duration(v)
        if isinstance(v, float):
            if v.is_integer() and abs(v) < 1e15:
                return f"{int(v):,}"
            return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return f"{len(v)} items"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {value(k, x)}" for k, x in v.items())
    return str(v)


def label(key: str) -> str:
    """A summary key as words, its unit suffix dropped: 'blackout_s' -> 'blackout'."""
    for suffix in ("_bytes", "_bps", "_s"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


# the single-VM parameters typed with a unit: how each is read, and how it is said
_PARAMETERS = {
    "memory": (parse_bytes, size),
    "working_set": (parse_bytes, size),
    "dirty_rate": (parse_rate, rate),
    "bandwidth": (parse_rate, rate),
    "max_bandwidth": (parse_rate, rate),
    "downtime_limit": (parse_duration, duration),
}


def parameter(name: str, text) -> str:
    """A parameter as typed, said in the unit people read: bandwidth '1250000000' (bytes/s) ->
    '10 Gbit/s', memory '4GiB' -> '4.0 GiB'; a value that is no quantity ('none', 'web') as
    it is."""
    known = _PARAMETERS.get(name)
    if known is None:
        return str(text)
    read, say = known
    try:
        return say(read(text))
    except (TypeError, ValueError):
        return str(text)


def count(n: int, noun: str) -> str:
    """A count with its noun in the right number: '1 host', '3 hosts', '1,200 VMs' (the noun's
    plural is an 's' added: host, VM, wave, migration)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
