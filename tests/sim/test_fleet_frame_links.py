"""The live page's "Busiest links": each frame carries the links busiest at its time, busiest
first, as the engine ranked them (the page draws one line per rank, so it follows whichever
links are busy, in a region zone after zone)."""

import pytest

from migrationsim.fleet.frames import FleetStream
from migrationsim.fleet.text import preset_scenario


def _stream(data: dict, bucket_s: float) -> tuple[list[dict], dict[float, dict]]:
    """The frames, and the engine's link samples by their time."""
    samples: dict[float, dict] = {}

    def keep(event: dict) -> None:
        if event["kind"] == "links":
            samples[event["t_s"]] = event

    return list(FleetStream(data, bucket_s=bucket_s, on_event=keep).frames()), samples


@pytest.fixture(scope="module")
def demo():
    return _stream(preset_scenario("demo"), bucket_s=60)


def test_a_frame_shows_the_links_busiest_at_its_own_time_not_a_bucket_before(demo):
    frames, samples = demo
    busy = [f for f in frames if f["links"]]
    assert len(busy) >= 10
    for frame in busy:
        sample = samples[frame["t_s"]]  # the engine's sample at the frame's time
        assert frame["links"] == [
            [link["link"], round(link["utilisation"], 4)] for link in sample["links"]
        ]


def test_a_frame_ranks_at_most_eight_links_busiest_first(demo):
    frames, _ = demo
    for frame in frames:
        shares = [share for _, share in frame["links"]]
        assert len(shares) <= 8 and shares == sorted(shares, reverse=True)
        assert all(0 < share <= 1 for share in shares)
    assert frames[-1]["links"] == []  # the run is over: nothing is busy


def _small_region(racks_per_zone: int) -> dict:
    data = preset_scenario("region")
    for group in data["fleet"]["racks"]:
        group["count"] = racks_per_zone
    return data


def test_in_a_region_the_busiest_links_follow_the_upgrade_from_zone_to_zone():
    frames, _ = _stream(_small_region(3), bucket_s=300)
    zones_in_turn = []
    for frame in frames:
        zones = {name[0] for name, _ in frame["links"]}  # a-r1/up, b-r2-h3/tx, ...
        assert len(zones) <= 1  # one zone at a time
        if zones and (not zones_in_turn or zones_in_turn[-1] != min(zones)):
            zones_in_turn.append(min(zones))
    assert zones_in_turn == ["a", "b", "c", "d"]
