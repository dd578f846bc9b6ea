"""Sizes in IEC units: the largest unit that shows at least 1, up to EiB, so a region's bytes
read '3.1 PiB', never thousands of TiB (``units.format_bytes``, behind ``humanize.size`` and the
template filters)."""

import pytest

from migrationsim import humanize

KiB, TiB, PiB, EiB = 1024.0, 1024.0**4, 1024.0**5, 1024.0**6


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (3198.9 * TiB, "3.1 PiB"),  # a finished region run's bytes sent
        (1023.9 * TiB, "1023.9 TiB"),
        (PiB, "1.0 PiB"),
        (PiB - 1, "1.0 PiB"),  # not '1024.0 TiB'
        (1023.9 * PiB, "1023.9 PiB"),
        (EiB, "1.0 EiB"),
        (2.5 * EiB, "2.5 EiB"),
        (5000 * EiB, "5000.0 EiB"),  # the largest unit takes whatever is beyond it
    ],
)
def test_large_sizes_are_said_in_pib_and_eib(n, shown):
    assert humanize.size(n) == shown


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1023.6, "1.0 KiB"),  # not '1024 B'
        (1024, "1.0 KiB"),
        (40265318, "38.4 MiB"),
        (4294967296, "4.0 GiB"),
        (-2048, "-2.0 KiB"),
    ],
)
def test_smaller_sizes_keep_their_units(n, shown):
    assert humanize.size(n) == shown


def test_a_summary_value_in_bytes_is_said_in_the_same_units():
    assert humanize.value("bytes_sent", 3198.9 * TiB) == "3.1 PiB"


@pytest.mark.parametrize(
    ("bps", "shown"),
    [
        (1.25e9, "10 Gbit/s"),
        (2e11, "1.6 Tbit/s"),  # a spine: not '1.6e+03 Gbit/s' (the plan's sensitivity table)
        (999.4e9 / 8, "999 Gbit/s"),
        (999.9e9 / 8, "1 Tbit/s"),  # not '1e+03 Gbit/s'
        (1e15, "8 Pbit/s"),  # the fastest rate the model takes
        (134217728, "1.07 Gbit/s"),
        (999.9 / 8, "1 kbit/s"),
        (0.125, "1 bit/s"),
    ],
)
def test_rates_are_said_in_the_largest_unit_that_shows_at_least_1(bps, shown):
    assert humanize.rate(bps) == shown


@pytest.mark.parametrize(
    ("text", "value"),
    [("1PiB", PiB), ("1EiB", EiB), ("2PB", 2e15), ("1Pbit/s", 1e15 / 8), ("1Tbit/s", 1.25e11)],
)
def test_the_units_the_formatters_write_are_read_back(text, value):
    from migrationsim.units import parse_bytes, parse_rate

    parse = parse_rate if text.endswith("/s") else parse_bytes
    assert parse(text) == pytest.approx(value)


def test_a_size_too_big_for_the_model_is_refused_by_its_bound_not_called_not_bytes(capsys):
    from migrationsim.cli import main

    assert main(["migrate", "--memory", "1EiB"]) == 2
    assert "--memory: must be at most 16TiB" in capsys.readouterr().err


def test_a_share_between_none_and_all_never_reads_as_0_or_100_percent():
    """A 99.99 % capacity headroom was said "100 %", and its relaxation "100 % -> 0 %"."""
    from migrationsim.humanize import percent

    assert [percent(x) for x in (0.0, 0.6, 1.0, 0.9999, 0.004, 1e-5, 0.99999999)] == [
        "0 %",
        "60 %",
        "100 %",
        "99.99 %",
        "0.4 %",
        "0.001 %",
        "99.999999 %",
    ]
    assert percent(1e-300) == "1e-298 %"
