"""The fleet pages say why a VM or a host did not move in words alone: the results' Why column
and "Why VMs did not move" table, the plan's stuck-or-aborted reasons and capacity check, and
the not-handled hosts and VMs of the plan and of the run. A reason's code ("target_failed",
"host_skipped") is not printed after its words; it stays in a ``data-reason`` attribute for
scripts and tests (the CLI prints ``[code]``: its output is a contract, unchanged)."""

import html as htmllib
import re

import pytest
from django.utils.html import escape

from migrationsim import outcomes
from playground.fleets import services as fleet_services
from playground.fleets.fields import EVENT_KINDS
from playground.runs.pipeline import execute_run

from .fleet_support import planned, tiny
from .support import RecordingPublisher

pytestmark = pytest.mark.django_db

# every target fails: each VM gives up after its attempts (aborted, "target_failed"), and the
# hosts it keeps running on are skipped ("host_skipped")
TARGETS_FAIL = {"failures": {"target_failure": 1.0}}


def _visible(fragment: str) -> str:
    """What a reader sees of a fragment: its text, without tags and attributes."""
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _element(page: str, element_id: str, end: str) -> str:
    part = page[page.index(f'id="{element_id}"') :]
    return part[: part.index(end)]


@pytest.fixture
def results(client, alice) -> str:
    run = fleet_services.start_run(scenario=tiny(**TARGETS_FAIL), queue=False, visitor=alice)
    assert execute_run(kind="fleet", run_id=run.pk, publisher=RecordingPublisher()) is True
    return client.get(f"/fleets/runs/{run.pk}/results/").content.decode()


def test_the_why_column_says_the_sentence_without_its_code(results):
    vms = _element(results, "problem-vms", "</table>")
    sentence = escape(outcomes.describe("target_failed"))
    assert f'<td data-reason="target_failed">{sentence}</td>' in vms
    assert "target_failed" not in _visible(vms) and "<code" not in vms


def test_why_vms_did_not_move_says_each_reason_in_words_alone(results):
    table = _element(results, "unfinished-table", "</table>")
    said = outcomes.REASONS["target_failed"]
    assert (
        f'<tr data-reason="target_failed"><th scope="row" title="{escape(said.sentence)}">'
        f"{escape(said.label)}</th><td>6</td></tr>"
    ) in table
    assert "target_failed" not in _visible(table) and "<code" not in table


def test_the_runs_not_handled_hosts_and_vms_say_why_in_words_alone(results):
    hosts = _element(results, "run-not-handled-hosts", "</ul>")
    vms = _element(results, "run-not-handled-vms", "</ul>")
    assert '<li data-reason="host_skipped"><strong>r1-h1</strong> · skipped by k:' in hosts
    assert '<li data-reason="aborted"><strong>6</strong> <span class="vm-outcome"' in vms
    assert "<code" not in hosts and "<code" not in vms
    assert "host_skipped" not in _visible(hosts)
    assert "gave up after 3 attempts (vm-1," in _visible(vms)


def test_the_plan_says_why_vms_are_stuck_or_aborted_and_not_handled_in_words_alone(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(**TARGETS_FAIL), visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    unplaced = _element(page, "plan-unplaced", "</section>")
    said = outcomes.REASONS["target_failed"]
    assert (
        f'<li data-reason="target_failed" title="{escape(said.sentence)}"><strong>6</strong> · '
        f"{escape(said.label)}</li>"
    ) in unplaced
    not_handled = _element(page, "plan-not-handled", "</section>")
    assert '<li data-reason="host_skipped"><strong>r1-h1</strong>' in not_handled
    assert '<li data-reason="aborted"><strong>6</strong>' in not_handled
    assert "<code" not in unplaced and "<code" not in not_handled
    assert "target_failed" not in _visible(unplaced) and "host_skipped" not in _visible(not_handled)


def test_the_plans_capacity_check_names_the_wait_in_words(client, alice):
    """Every host of the zone in maintenance at once: no wave fits, and the check says the VMs
    will wait for a target in words ("no target"), not by the code "no_target"."""
    crowded = tiny()
    crowded["events"][0].update(scope={"zone": True}, max_hosts_in_maintenance=4)
    fleet = fleet_services.create_fleet(scenario=crowded, visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    check = _element(page, "plan-capacity", "</section>")
    assert 'Some VMs will wait (<span data-reason="no_target">no target</span>)' in check
    assert "no_target" not in _visible(check)


def test_the_plan_names_each_events_kind_as_the_form_does(client, alice):
    """The plan's heading for an event reads "kernel-upgrade-1 (Kernel upgrade): ...", the kind
    as the fleet form offers it, with its code in ``data-kind``."""
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    page = planned(client, f"/fleets/{fleet.pk}/plan/").content.decode()
    (kind,) = {e["kind"] for e in tiny()["events"]}
    heading = page[page.index(f'<h2 data-kind="{kind}">') :]
    heading = _visible(heading[: heading.index("</h2>")])
    assert f"({dict(EVENT_KINDS)[kind]}):" in heading and kind not in heading
