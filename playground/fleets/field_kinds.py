"""The kinds of field the fleet form has (``fields.py`` arranges them into its tables): how a
scenario value becomes a form value and back (``Conversion``: a share stored as 0..1 shown in
percent, a blank text or a false flag meaning the key is absent), the quantity a text field
holds (``Quantity``: a size, a rate or a duration, read as the engine reads it), and the form
field of each kind (sizes and rates typed with their units, whole numbers, percents, flags,
choices)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from migrationsim import humanize
from migrationsim.units import bare_number, parse_bytes, parse_duration, parse_rate

from .paths import ABSENT

MAX_DESCRIPTION = 4000
TEXT_ATTRS = {"spellcheck": "false", "autocomplete": "off"}


# --- conversions: scenario value <-> form value ---------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    read: Callable[[Any], Any]  # the scenario's value -> the form's initial value
    write: Callable[[Any], Any]  # the form's cleaned value -> the scenario's (ABSENT: no key)
    blank: Any = None  # the form's value when the scenario has no key and the engine no default


def whole_number(value: Any) -> int:
    """A whole number as the engine reads one: ``2``, ``2.0`` and ``"2"`` are all 2."""
    return int(float(value))


def _number(value: float) -> int | float:
    return int(value) if float(value) == int(value) else value


def _percent(share: Any) -> float:
    return round(float(share) * 100, 6)


def _share(percent: float) -> int | float:
    return _number(round(float(percent) / 100, 8))


def _host_limit(text: str) -> Any:
    """``2`` is a count, ``10%`` a share; digits the engine reads as text (full-width) stay text."""
    return int(text) if text.isascii() and text.isdigit() else text or ABSENT


TEXT = Conversion(
    read=lambda v: str(v).strip(), write=lambda v: v.replace("\r\n", "\n") or ABSENT, blank=""
)
WHOLE = Conversion(read=whole_number, write=lambda v: ABSENT if v is None else v)
NUMBER = Conversion(read=float, write=_number)
PERCENT = Conversion(read=_percent, write=_share, blank=0.0)
MIX_SHARE = Conversion(read=_percent, write=lambda v: _share(v) if v else ABSENT, blank=0)
FLAG = Conversion(read=bool, write=lambda v: True if v else ABSENT, blank=False)
HOST_LIMIT = Conversion(read=str, write=_host_limit, blank="")


# --- quantities: a text field holding a size, a rate or a duration -----------------------------


@dataclass(frozen=True)
class Quantity:
    """How the engine reads a quantity typed in a text field (a bare number is bytes, bytes per
    second or seconds: ``migrationsim.units``) and how the pages say one (``humanize``)."""

    read: Callable[[Any], float]
    say: Callable[[float], str]
    unit: str = ""  # what a bare number is in: B, B/s, s
    example: str = ""  # the same written with its unit

    def unit_missing(self, value: Any, example: str = "") -> str | None:
        """Why a value typed on a form without its unit is refused there (``300`` in a
        downtime limit is 300 s to the engine, where the person meant 300 ms), saying how it
        would read; None for a value with its unit, or not a number at all."""
        said = self.said(value) if isinstance(value, str) else None
        if said is None or bare_number(value) == 0:  # (nothing is nothing in any unit)
            return None
        text = value.strip()
        return (
            f"give its unit: {text} alone would be read as {text} {self.unit} ({said}); "
            f"e.g. {example or self.example}"
        )

    def said(self, value: Any) -> str | None:
        """A value typed without its unit (``10``, ``"0.5"``) in the unit people read
        (``10 s``, ``500 ms``); None for one typed with its unit or not a quantity at all."""
        if bare_number(value) is None:  # written with its unit, or no number
            return None
        try:
            return self.say(self.read(value))
        except (TypeError, ValueError, OverflowError):
            return None


SIZE = Quantity(read=parse_bytes, say=humanize.size, unit="B", example="16GiB")
RATE = Quantity(read=parse_rate, say=humanize.rate, unit="B/s", example="10Gbit/s")
DURATION = Quantity(read=parse_duration, say=humanize.duration, unit="s", example="300ms or 5min")


# --- form fields -------------------------------------------------------------------------------


def text(label: str, example: str = "", help_text: str = "", *, required=True, max_length=20):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"placeholder": example, **TEXT_ATTRS}),
    )


def whole(label: str, help_text: str = "", *, required=True, low=0, high=2_147_483_647):
    return forms.IntegerField(
        label=label, required=required, min_value=low, max_value=high, help_text=help_text
    )


def percent(label: str, help_text: str = ""):
    return forms.FloatField(label=label, min_value=0, max_value=100, help_text=help_text)


def mix_share(workload: str):
    return forms.FloatField(
        label=workload,
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


def flag(label: str):
    return forms.BooleanField(label=label, required=False)


def choice(label: str, choices, *, required=True):
    return forms.ChoiceField(label=label, choices=choices, required=required)


def description_field():
    return forms.CharField(
        label="Description",
        required=False,
        validators=[MaxLengthValidator(MAX_DESCRIPTION)],
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_DESCRIPTION}),
    )
