"""CSV cells a spreadsheet would run as formulas are text (``playground.ops.csv_safe``, OWASP's
rule): a leading ``= + - @``, tab or carriage return, also behind leading whitespace (the
attacker's trial: ``" =cmd"``, ``"\\t=cmd"`` and ``"\\n=cmd"`` passed the old check)."""

from __future__ import annotations

import csv
import io

import pytest

from playground.ops.csv_safe import csv_safe_cell, csv_safe_row


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+1",
        "-1+2",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        '=HYPERLINK("http://evil/")',
        " =1+1",
        "   @SUM(A1)",
        "\n=1",
        "\n\n+cmd",
        " \t -2+3",
        "\u00a0=1",
    ],
)
def test_a_cell_that_starts_like_a_formula_gets_an_apostrophe(cell):
    assert csv_safe_cell(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell",
    [
        "web-1",
        "r1-h1",
        "a=b",
        "x+y",
        "mail@example.org",
        "",
        " ",
        "2GiB",
        "名前",
        "'already quoted",
    ],
)
def test_ordinary_text_is_left_alone(cell):
    assert csv_safe_cell(cell) == cell


@pytest.mark.parametrize("value", [-1, -2.5, 0, None, True])
def test_numbers_and_other_values_are_never_touched(value):
    assert csv_safe_cell(value) is value


def test_a_row_comes_back_safe_and_a_spreadsheet_reads_text():
    row = csv_safe_row({"vm": " =cmd|' /C calc'!A0", "memory_gib": -4, "host": "r1-h1"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    read = next(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert read == {"vm": "' =cmd|' /C calc'!A0", "memory_gib": "-4", "host": "r1-h1"}
