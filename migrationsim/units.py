"""Quantities with units, as people type them: ``4GiB``, ``800MB``, ``10Gbit/s``, ``300ms``.

SI prefixes (k, M, G, T, P, E) are powers of 1000; IEC prefixes (Ki, Mi, Gi, Ti, Pi, Ei) powers
of 1024.
A bare number means bytes, bytes per second or seconds. Inside the model everything is bytes and
seconds.
"""

from __future__ import annotations

import math
import re

PAGE_SIZE_BYTES = 4096

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
_PREFIX = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}
# P and E too, as the formatters write them ('3.1 PiB', '8 Pbit/s'): '1EiB' is read, then
# refused by the parameter's own bound, not called 'not bytes'
_QUANTITY = re.compile(
    r"^\s*" + _NUMBER + r"\s*(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?\s*([A-Za-z/]*)\s*$"
)
_SECONDS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "ns": 1e-9,
    "µs": 1e-6,
    "min": 60.0,
    "h": 3600.0,
}
_DURATION = re.compile(r"^\s*" + _NUMBER + r"\s*(s|sec|ms|us|µs|ns|min|h)?\s*$")


_BARE = re.compile(r"^\s*" + _NUMBER + r"\s*$")


def bare_number(value: object) -> float | None:
    """A quantity written without its unit (``50``, ``4.5``, ``"4e9"``, ``" 300 "``), which the
    parsers below read as bytes, bytes per second or seconds; None for one with its unit, a
    bool, or what is no number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _BARE.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def _split(text: str) -> tuple[float, float, str]:
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"cannot read {text!r} as a quantity (examples: 4GiB, 10Gbit/s, 300ms)")
    number, prefix, unit = match.groups()
    return float(number), _PREFIX[prefix or ""], unit


def _finite_non_negative(value: float, text: object) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} must be a finite number >= 0")
    return value


def parse_bytes(value: str | float | int) -> float:
    """``"4GiB"`` -> 4294967296.0. Units: B (or none)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite_non_negative(float(value), value)
    number, scale, unit = _split(str(value))
    if unit not in ("", "B"):
        raise ValueError(f"{value!r}: a size takes bytes (B), for example 4GiB or 800MB")
    return _finite_non_negative(number * scale, value)


def parse_rate(value: str | float | int) -> float:
    """A data rate in bytes per second: ``"10Gbit/s"`` -> 1.25e9, ``"128MiB/s"``, ``"1.25GB/s"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite_non_negative(float(value), value)
    number, scale, unit = _split(str(value))
    if unit in ("", "B/s", "Bps"):
        factor = 1.0
    elif unit in ("bit/s", "b/s", "bps", "bit"):
        factor = 1.0 / 8.0
    else:
        raise ValueError(f"{value!r}: a rate takes B/s or bit/s, for example 10Gbit/s or 128MiB/s")
    return _finite_non_negative(number * scale * factor, value)


def parse_duration(value: str | float | int) -> float:
    """A duration in seconds: ``"300ms"`` -> 0.3, ``"2min"`` -> 120."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite_non_negative(float(value), value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"cannot read {value!r} as a duration (examples: 300ms, 2s, 1.5min)")
    number, unit = match.groups()
    return _finite_non_negative(float(number) * _SECONDS[unit or ""], value)


_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")  # IEC, each 1024 times the last


def format_bytes(n: float) -> str:
    """Human-readable IEC size: 40265318 -> '38.4 MiB'. The unit is the largest that shows at
    least 1 (up to EiB), so never 1024 or more of a unit below EiB: '3.1 PiB', not
    '3198.9 TiB', and '1.0 PiB', not '1024.0 TiB', just under a PiB."""
    if not abs(n) >= 1023.5:  # what would show as 1024 B is 1.0 KiB (a NaN stays in B)
        return f"{n:.0f} B"
    power = 1
    while power < len(_BYTE_UNITS) and abs(n) / 1024.0**power >= 1023.95:  # .1f: 1024.0
        power += 1
    return f"{n / 1024.0**power:.1f} {_BYTE_UNITS[power - 1]}"


_BIT_RATES = (("Pbit/s", 1e15), ("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3))


def format_rate(bps: float) -> str:
    """Bytes/s shown as bits/s, the way links are sold: 1.25e9 -> '10 Gbit/s'; a spine of
    2e11 B/s is '1.6 Tbit/s', not '1.6e+03 Gbit/s' (up to Pbit/s: the model's fastest rate,
    1e15 B/s, is '8 Pbit/s')."""
    bits = bps * 8
    for unit, scale in _BIT_RATES:
        shown = f"{bits / scale:.3g}"
        if float(shown) >= 1:  # 999.9 Gbit/s is '1 Tbit/s', never '1e+03 Gbit/s'
            return f"{shown} {unit}"
    return f"{bits:.3g} bit/s"


def _significant(x: float, digits: int = 3) -> str:
    """At most ``digits`` significant digits, no exponent, no trailing zeros: 52.34 -> '52.3',
    25.0 -> '25', 0.5 -> '0.5'."""
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(s: float) -> str:
    """Seconds in the unit that reads best: '3.28 µs', '0.35 ms', '52.3 ms', '12.3 s', '4 min 10 s',
    '12 h 5 min' (not '725.0 min'), '3 d 4 h'; past a month in words ('2.3 years')."""
    s = float(s)
    if not math.isfinite(s):
        return "forever" if s > 0 else "-"
    if s < 0:
        return "-" + format_duration(-s)
    if 0 < s < 1e-5:  # microseconds: '3.28 µs', not '0.00328 ms'; a typed 1e-320 s is short
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        ms = _significant(s * 1000)
        return "1 s" if ms == "1000" else f"{ms} ms"
    if s < 60:
        text = _significant(s)
        return "1 min 0 s" if text == "60" else f"{text} s"
    if s < 3600:
        minutes, seconds = divmod(round(s), 60)
        return "1 h 0 min" if minutes >= 60 else f"{minutes} min {seconds} s"
    if s < 2 * 86400:
        hours, minutes = divmod(round(s / 60), 60)
        return f"{hours} h {minutes} min"
    if s < 31 * 86400:
        days, hours = divmod(round(s / 3600), 24)
        return f"{days} d {hours} h"
    return format_long_duration(s)


def format_long_duration(s: float) -> str:
    """Durations of any size, in words: '2.3 days', '4.4 million years'."""
    year = 365.25 * 86400
    if s < 31 * 86400:
        return format_duration(s)
    if s < year:
        return f"{s / 86400:.1f} days"
    years = s / year
    for word, scale in (("billion", 1e9), ("million", 1e6), ("thousand", 1e3)):
        if years >= scale:
            return f"{years / scale:.1f} {word} years"
    return f"{years:.1f} years"
