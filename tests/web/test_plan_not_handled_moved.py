"""The plan's "Stuck or aborted" card said "not every VM moves" beside a Not handled list whose
VMs all moved (heartbleed: 441 VMs "migrated without converging"): it says what became of them."""

from django.template.loader import render_to_string


def _plan(vm_rows, hosts_total=0):
    return {
        "vms_in_scope": 10,
        "hosts_in_scope": 2,
        "hosts": 2,
        "vms": 10,
        "not_placed": 0,
        "not_handled": {
            "hosts": [],
            "hosts_total": hosts_total,
            "hosts_by_status": {},
            "vms": vm_rows,
            "vms_total": sum(r["vms"] for r in vm_rows),
        },
    }


def _card(plan) -> str:
    html = render_to_string("fleets/_plan.html", {"plan": plan, "fleet": {"pk": 1}})
    start = html.index('id="plan-unplaced-not-handled"')
    return html[start : html.index("</p>", start)]


def test_vms_that_moved_without_converging_are_not_told_as_not_moving():
    rows = [
        {"outcome": "not_converged", "code": "timeout_force", "vms": 3, "reason": "", "names": []}
    ]
    card = _card(_plan(rows))
    assert "3 VMs in scope are not handled as planned" in card
    assert "not every VM moves" not in card
    assert "they moved, but their pre-copy did not converge" in card


def test_vms_that_crashed_still_say_not_every_vm_moves():
    rows = [
        {"outcome": "not_converged", "code": "timeout_force", "vms": 3, "reason": "", "names": []},
        {"outcome": "crashed", "code": "host_failed", "vms": 2, "reason": "", "names": []},
    ]
    assert "not every VM moves" in _card(_plan(rows))
    assert "not every VM moves" in _card(_plan([], hosts_total=2))
