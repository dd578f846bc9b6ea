"""The run's "Not handled" panel names six VMs of a row as examples: when the row counts more,
it says how many it left out (hw-failure's "10 failed: source crash" named six, and nothing
said there were four more)."""

from django.template.loader import render_to_string

from playground.fleets.templatetags.fleet_tags import left_unnamed


def test_the_names_left_out_are_counted():
    assert left_unnamed([f"vm-{i}" for i in range(6)], 10) == 4
    assert left_unnamed(["vm-1"], 1) == 0
    assert left_unnamed([], "x") == 0  # a stored summary of an unexpected shape: nothing said


def test_a_row_of_ten_vms_with_six_names_says_and_4_more():
    names = ["vm-41", "vm-42", "vm-44", "vm-49", "vm-50", "vm-53"]
    row = {"vms": 10, "outcome": "crashed", "reason": "its host failed", "code": "source_failed"}
    html = render_to_string(
        "fleets/_run_not_handled.html",
        {
            "not_handled": {
                "hosts_total": 0,
                "vms_total": 10,
                "hosts": [],
                "vms": [row | {"names": names}],
            }
        },
    )
    assert "(vm-41, vm-42, vm-44, vm-49, vm-50, vm-53 and 4 more)" in html
    html = render_to_string(
        "fleets/_run_not_handled.html",
        {
            "not_handled": {
                "hosts_total": 0,
                "vms_total": 2,
                "hosts": [],
                "vms": [row | {"vms": 2, "names": ["a", "b"]}],
            }
        },
    )
    assert "(a, b)" in html and "more" not in html
