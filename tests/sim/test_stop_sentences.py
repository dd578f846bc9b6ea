"""The sentence that says why pre-copy stopped never shows two figures that read as equal where
one fell below the other, and never promises the link's full speed (the stop-and-copy is
uncapped, but a time per page may pace it)."""

from migrationsim import build_spec, simulate
from migrationsim.policies import _below


def test_pending_and_threshold_that_round_alike_are_said_in_bytes():
    assert _below(40_221_912, 40_265_318) == ("40,221,912 B fell below the threshold 40,265,318 B")
    assert _below(30 * 2**20, 40_265_318) == "30.0 MiB fell below the threshold 38.4 MiB"


def test_a_run_paced_by_its_page_time_does_not_claim_full_link_speed():
    result = simulate(build_spec(page_time=250e-9))
    assert result.stop.reason == "threshold_reached"
    assert "full link speed" not in result.stop.message
    assert "without the rate cap" in result.stop.message
