"""The plan page and `python -m migrationsim fleet --plan --json` show the same plan: the web
reads it from the same function of migrationsim that the command line prints."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrationsim.fleet.text import preset_scenario
from playground.fleets import services as fleet_services

from .fleet_support import planned

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("preset", ["demo", "bios-rollout"])
def test_the_plan_page_shows_the_plan_the_command_line_prints(preset, alice, client, tmp_path):
    fleet = fleet_services.create_fleet(scenario=preset_scenario(preset), visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/")
    assert page.status_code == 200

    scenario_file = tmp_path / "zone.json"
    scenario_file.write_text(json.dumps(fleet.to_scenario()))
    cli = subprocess.run(
        [sys.executable, "-m", "migrationsim", "fleet", str(scenario_file), "--plan", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    printed = json.loads(cli.stdout)
    shown = page.context["plan"]
    assert shown == {k: v for k, v in printed.items() if k != "policy"}
    assert printed["vms_in_scope"] > 0 and printed["eta_s"] > 0
    assert f"{printed['vms_in_scope']:,}".encode() in page.content  # and the page prints it
