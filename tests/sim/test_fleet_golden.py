"""Golden runs: each shipped preset (and a few variants that reach the failure, post-copy and
sampling paths) gives exactly the summary and the event stream recorded in
``golden/fleet_runs.json``. Those values were computed before the event kernel was split out of
the engine; a refactor that changes an event, its order or a single float fails here.

A deliberate change of the model regenerates them: ``python -m tests.sim.test_fleet_golden``.
"""

import copy
import hashlib
import json
from pathlib import Path

import pytest

from migrationsim.fleet import FleetRun, load_scenario, parse_scenario, summarize

from .fleet_support import small_region

GOLDEN = Path(__file__).with_name("golden") / "fleet_runs.json"


def _preset(name: str) -> dict:
    return copy.deepcopy(load_scenario(name).raw)


def _small_heartbleed() -> dict:
    data = _preset("heartbleed")
    data["fleet"]["racks"][0]["count"] = 4  # 128 hosts, 2,048 VMs (the preset has 25,600)
    return data


def _stressed_demo() -> dict:
    data = _preset("demo")
    data["policy"] = {"name": "qemu", "downtime_limit": "50ms", "post_copy": True}
    data["failures"] = {"auth_failure": 0.2, "target_failure": 0.1, "source_failure": 0.05}
    data["caps"] = {"per_source_host": 3, "per_target_host": 1, "per_rack": 4, "per_customer": 2}
    data["events"][0].update(window={"start": "5min", "end": "25min"}, deadline="2h")
    return data


# name -> (scenario dict, FleetRun keywords)
CASES = {
    "demo": (lambda: _preset("demo"), {}),
    "bios-rollout": (lambda: _preset("bios-rollout"), {}),
    "hw-failure": (lambda: _preset("hw-failure"), {}),
    "gce-calibrated": (lambda: _preset("gce-calibrated"), {}),
    "heartbleed-128-hosts": (_small_heartbleed, {}),
    "demo-sampled-every-60s": (lambda: _preset("demo"), {"sample_every_s": 60.0}),
    "demo-post-copy-failures-window": (_stressed_demo, {"sample_every_s": 30.0}),
    "region-2-racks-a-zone": (lambda: small_region(2, 8), {}),
}


def observe(name: str) -> dict:
    """The run's summary and a SHA-256 of its full event stream (every key, every float)."""
    make, options = CASES[name]
    run = FleetRun(parse_scenario(make()), **options)
    digest = hashlib.sha256()
    count = 0
    for event in run.events():
        digest.update(json.dumps(event, sort_keys=True).encode() + b"\n")
        count += 1
    summary = json.loads(json.dumps(summarize(run)))
    return {"events": count, "events_sha256": digest.hexdigest(), "summary": summary}


@pytest.mark.parametrize("name", CASES)
def test_a_seeded_run_gives_exactly_its_golden_events_and_summary(name):
    golden = json.loads(GOLDEN.read_text())[name]
    observed = observe(name)
    assert observed["summary"] == golden["summary"]
    assert (observed["events"], observed["events_sha256"]) == (
        golden["events"],
        golden["events_sha256"],
    )


if __name__ == "__main__":
    GOLDEN.write_text(
        json.dumps({name: observe(name) for name in CASES}, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {GOLDEN}")
