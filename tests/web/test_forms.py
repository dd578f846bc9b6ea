import pytest

from playground.anatomy.forms import DEFAULTS, AnatomyForm
from playground.anatomy.runner import ERROR_CUSTOM_NEEDS_RATE


def test_the_defaults_are_a_valid_migration(form_data):
    form = AnatomyForm(form_data)
    assert form.is_valid(), form.errors


def test_the_form_defaults_match_what_the_page_prefills():
    form = AnatomyForm(initial=DEFAULTS)
    assert form["memory"].value() == "4GiB"
    assert form["bandwidth"].value() == "10Gbit/s"
    assert form["downtime_limit"].value() == "300ms"


@pytest.mark.parametrize(
    "field, value",
    [
        ("memory", "lots"),
        ("memory", "-4GiB"),
        ("bandwidth", "10 parsecs"),
        ("bandwidth", "0Gbit/s"),
        ("downtime_limit", "soon"),
        ("max_bandwidth", "fast"),
    ],
)
def test_it_puts_the_models_complaint_next_to_the_field(form_data, field, value):
    form = AnatomyForm({**form_data, field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert form.errors[field][0]  # a reason, in words


def test_a_custom_workload_needs_a_dirty_rate(form_data):
    form = AnatomyForm({**form_data, "workload": "custom", "dirty_rate": ""})
    assert not form.is_valid()
    assert form.errors["dirty_rate"] == [ERROR_CUSTOM_NEEDS_RATE]


def test_a_custom_working_set_must_fit_in_memory(form_data):
    form = AnatomyForm(
        {**form_data, "workload": "custom", "dirty_rate": "100MB/s", "working_set": "64GiB"}
    )
    assert not form.is_valid()
    assert "working_set" in form.errors


def test_a_custom_workload_with_rate_and_working_set_is_valid(form_data):
    form = AnatomyForm(
        {**form_data, "workload": "custom", "dirty_rate": "200MB/s", "working_set": "1GiB"}
    )
    assert form.is_valid(), form.errors


def test_a_preset_ignores_leftover_custom_values(form_data):
    form = AnatomyForm({**form_data, "workload": "web", "dirty_rate": "nonsense"})
    assert form.is_valid(), form.errors


def test_post_copy_is_refused_for_xen(form_data):
    form = AnatomyForm({**form_data, "policy": "xen", "post_copy": "on"})
    assert not form.is_valid()
    assert "post_copy" in form.errors


def test_unknown_policy_is_a_field_error(form_data):
    form = AnatomyForm({**form_data, "policy": "teleport"})
    assert not form.is_valid()
    assert "policy" in form.errors


@pytest.mark.parametrize("seed", ["-1", "1.5", "x"])
def test_the_seed_is_a_whole_number_from_zero(form_data, seed):
    form = AnatomyForm({**form_data, "seed": seed})
    assert not form.is_valid()
    assert "seed" in form.errors


def test_every_model_preset_is_offered_plus_custom():
    from migrationsim import PRESETS

    names = [value for value, _ in AnatomyForm().fields["workload"].choices]
    assert names == [*PRESETS, "custom"]


def test_run_params_keep_the_values_as_typed(form_data):
    form = AnatomyForm({**form_data, "memory": " 8GiB "})
    assert form.is_valid(), form.errors
    params = form.run_params()
    assert params["memory"] == "8GiB"
    assert params["guest_watches"] is True and params["post_copy"] is False
    assert params["speed"] == "10" and params["seed"] == 1


def test_every_bad_field_is_named_at_once(form_data):
    """Five bad fields were said one a submit: "Seed: Ensure this value is greater than or equal
    to 0" alone, the memory, downtime limit and dirty rate only on later tries."""
    form = AnatomyForm(
        {
            **form_data,
            "memory": "4 parsecs",
            "downtime_limit": "1e30s",
            "seed": "-1",
            "workload": "custom",
            "dirty_rate": "nan",
        }
    )
    assert not form.is_valid()
    assert set(form.errors) == {"memory", "downtime_limit", "seed", "dirty_rate"}
    assert "at most 2000s" in form.errors["downtime_limit"][0]


def test_a_rule_across_fields_is_said_once(form_data):
    form = AnatomyForm({**form_data, "workload": "custom", "dirty_rate": "", "memory": "x"})
    assert not form.is_valid()
    assert form.errors["dirty_rate"] == [ERROR_CUSTOM_NEEDS_RATE]
    assert set(form.errors) == {"memory", "dirty_rate"}


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("downtime_limit", "300", "300 alone would be read as 300 s (5 min 0 s); e.g. 300ms"),
        ("memory", "4096", "4096 alone would be read as 4096 B (4.0 KiB); e.g. 4GiB"),
        ("bandwidth", "10000", "10000 alone would be read as 10000 B/s (80 kbit/s)"),
    ],
)
def test_a_quantity_without_its_unit_is_refused_saying_how_it_would_read(
    form_data, field, value, said
):
    """`300` in the downtime limit ran a 300 s limit (blackout 2.4 s, not 50 ms); `4096` memory
    a 4 KiB VM. The command line reads bare numbers so, by contract; a form asks for the unit."""
    form = AnatomyForm({**form_data, field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert form.errors[field][0].startswith("give its unit: ") and said in form.errors[field][0]
    with_unit = {"downtime_limit": "300ms", "memory": "4096MiB", "bandwidth": "10000MB/s"}
    assert AnatomyForm({**form_data, field: with_unit[field]}).is_valid()
