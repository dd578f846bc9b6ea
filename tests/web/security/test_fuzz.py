"""Every input, fuzzed: the single-VM form, the fleet form, the sweep form, the scenario import
(text and file) and the query parameters. Whatever arrives, the answer is a page with the reason
(a 4xx, the reason next to the field) or the thing made, never a 500; and a refused request
stores nothing and changes nothing. Then hostile uploads, one by one: deep nesting, huge
numbers, wrong types, tags that would build Python objects, alias bombs, bytes that are not
text. (The engine's own parser has its fuzz test: tests/sim/test_fleet_scenario_fuzz.py.)"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.anatomy.models import Run
from playground.fleets import services as fleet_services
from playground.fleets import sweeps
from playground.fleets.forms import FleetForm
from playground.fleets.models import Fleet, FleetRun, Sweep

from ..fleet_support import fleet_post_data, tiny

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """These tests are about input, not about how often (test_limits.py is)."""
    settings.PLAYGROUND_RUNS_PER_MINUTE = 0
    settings.PLAYGROUND_SWEEPS_PER_HOUR = 0
    settings.PLAYGROUND_PLANS_PER_MINUTE = 0


NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**31, 2**63, 10**400]),
)
UNITS = st.sampled_from(
    [
        "",
        "B",
        "KiB",
        "GiB",
        "TiB",
        "PiB",
        "B/s",
        "MB/s",
        "Gbit/s",
        "bit/s",
        "ms",
        "s",
        "min",
        "h",
        "%",
        "ns",
        "Ǵib",
        "\x00",
    ]
)
TYPED = st.builds(lambda n, u: f"{n}{u}", NUMBERS, UNITS)
TEXT = st.one_of(
    TYPED,
    st.text(max_size=50),
    st.sampled_from(
        [
            "",
            " ",
            "<script>alert(1)</script>",
            "1e309GiB",
            "9" * 5000,
            "-0",
            "NaN",
            "inf",
            "０１２",
            "²",
        ]
    ),
)


def _nul_refused(data: dict, response) -> bool:
    """A form holding a NUL in a name or value is refused before any view (``refuse_nul``): 400
    in words. True if it was one."""
    if not any("\x00" in str(key) + str(value) for key, value in data.items()):
        return False
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    return True


def _state():
    return [list(m.objects.order_by("id").values()) for m in (Fleet, Run, FleetRun, Sweep)]


# --- the single-VM form ------------------------------------------------------------------------------

ANATOMY_CHOICES = {
    "workload": ["web", "oltp", "idle", "custom"],
    "policy": ["qemu", "xen", "textbook", "gce"],
    "resolution": ["fluid", "pages"],
    "speed": ["1", "10", "100", "max"],
}


@st.composite
def anatomy_posts(draw, base):
    data = dict(base)
    for name in (
        "memory",
        "dirty_rate",
        "working_set",
        "bandwidth",
        "max_bandwidth",
        "downtime_limit",
    ):
        if draw(st.booleans()):
            data[name] = draw(TEXT)
    for name, choices in ANATOMY_CHOICES.items():
        if draw(st.booleans()):
            data[name] = draw(st.one_of(st.sampled_from(choices), st.text(max_size=10)))
    for name in ("auto_converge", "post_copy", "guest_watches"):
        if draw(st.booleans()):
            data[name] = "on"
    if draw(st.booleans()):
        data["seed"] = draw(st.one_of(st.integers(-(2**70), 2**70), TEXT))
    return data


def test_the_single_vm_form_never_fails(client, form_data):
    @FUZZ
    @given(anatomy_posts(form_data))
    def check(data):
        before = Run.objects.count()
        response = client.post("/runs/", data)
        if _nul_refused(data, response):
            assert Run.objects.count() == before
            return
        assert response.status_code in (302, 422), (data, response.status_code)
        assert Run.objects.count() == before + (response.status_code == 302)
        if response.status_code == 422:
            assert (
                'class="error"' in response.content.decode()
                or "error-box" in response.content.decode()
            )

    check()


# --- the fleet form ----------------------------------------------------------------------------------

FLEET_FIELDS = [
    "name",
    "description",
    "seed",
    "zone",
    "rack_prefix",
    "racks",
    "hosts_per_rack",
    "host_vcpus",
    "host_memory",
    "host_nic",
    "uplink",
    "oversubscription",
    "spine",
    "migration_share",
    "vms_per_host",
    "vm_memory_min",
    "vm_memory_max",
    "vm_vcpus_min",
    "vm_vcpus_max",
    "customers",
    "anti_affinity_groups",
    "gpu_share",
    "policy",
    "downtime_limit",
    "max_bandwidth",
    "completion_timeout",
    "timeout_action",
    "cap_per_source_host",
    "cap_global",
    "headroom",
    "mix_web",
    "events-0-name",
    "events-0-kind",
    "events-0-scope",
    "events-0-scope_names",
    "events-0-start",
    "events-0-deadline",
    "events-0-window_start",
    "events-0-window_end",
    "events-0-max_hosts_in_maintenance",
    "events-0-host_downtime",
    "events-TOTAL_FORMS",
]
SMALL = st.one_of(st.integers(0, 12).map(str), TEXT)


def test_the_fleet_form_never_fails_and_a_refused_save_changes_nothing(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    url = f"/fleets/{fleet.pk}/"
    base = fleet_post_data(client, url)

    @FUZZ
    @given(st.dictionaries(st.sampled_from(FLEET_FIELDS), SMALL, min_size=1, max_size=6))
    def check(changes):
        before = _state()
        response = client.post(url, {**base, **changes})
        if _nul_refused(changes, response):
            assert _state() == before
            return
        assert response.status_code in (302, 422), (changes, response.status_code)
        if response.status_code == 422:
            assert _state() == before
        else:  # saved (each example posts the whole form): its plan page answers too
            assert client.get(f"{url}plan/").status_code in (200, 422)

    check()


def test_unicode_digits_in_a_count_are_read_like_the_engine_reads_them(client, alice):
    """ "²" is a digit to ``str.isdigit`` but no number to ``int`` (a field error, not a 500);
    full-width digits and "1e3" are numbers to the engine (saved)."""
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    url = f"/fleets/{fleet.pk}/"
    for value, status in (("²", 422), ("０１", 302), ("1e3", 302)):
        response = client.post(
            url, {**fleet_post_data(client, url), "events-0-max_hosts_in_maintenance": value}
        )
        assert response.status_code == status, value
        if status == 422:
            assert 'id="id_events-0-max_hosts_in_maintenance_error"' in response.content.decode()


# --- the sweep form ----------------------------------------------------------------------------------

SWEEP_PARAMS = [
    "policy.max_bandwidth",
    "policy.downtime_limit",
    "caps.per_source_host",
    "caps.global",
    "fleet.host.nic",
    "network.migration_share",
    "seed",
]
VALUES = st.lists(
    st.one_of(TYPED, st.integers(-5, 50).map(str), st.text(max_size=8)), max_size=30
).map(", ".join)


def test_the_sweep_form_never_fails_and_a_refused_sweep_stores_nothing(client, alice):
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)

    @FUZZ
    @given(
        st.fixed_dictionaries(
            {
                "x_param": st.one_of(st.sampled_from(SWEEP_PARAMS), st.text(max_size=10)),
                "x_values": VALUES,
                "y_param": st.one_of(st.just(""), st.sampled_from(SWEEP_PARAMS)),
                "y_values": VALUES,
                "metric": st.one_of(st.just("makespan_s"), st.text(max_size=10)),
            }
        )
    )
    def check(data):
        before = _state()
        response = client.post(f"/fleets/{fleet.pk}/sweep/", data)
        if _nul_refused(data, response):
            assert _state() == before
            return
        assert response.status_code in (302, 422), (data, response.status_code)
        if response.status_code == 422:
            assert _state() == before
        else:
            assert client.get(response.url + "results.json").status_code == 200

    check()


# --- the scenario import -------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
PATHS = [
    ("name",),
    ("description",),
    ("seed",),
    ("fleet", "zone"),
    ("fleet", "racks"),
    ("fleet", "racks", 0, "name"),
    ("fleet", "racks", 0, "hosts"),
    ("fleet", "host", "memory"),
    ("fleet", "vms", "per_host"),
    ("fleet", "vms", "mix"),
    ("fleet", "vm_list"),
    ("caps", "per_rack"),
    ("policy", "name"),
    ("policy", "completion_timeout"),
    ("events",),
    ("events", 0, "scope"),
    ("events", 0, "name"),
    ("events", 0, "start"),
    ("network", "migration_share"),
    ("timing",),
]


def _put(data, path, value):
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return data


def _import_checked(client, payload: dict) -> int:
    before = _state()
    response = client.post("/fleets/import/", payload)
    assert response.status_code in (302, 422), (payload, response.status_code)
    if response.status_code == 422:
        assert _state() == before
    else:
        fleet = Fleet.objects.latest("id")
        assert client.get(f"/fleets/{fleet.pk}/").status_code == 200
        assert client.get(f"/fleets/{fleet.pk}/plan/").status_code in (200, 422)
    return response.status_code


def test_any_uploaded_value_is_imported_or_refused_with_a_reason(client):
    @FUZZ
    @given(JSON_VALUES, st.sampled_from(["json", "yaml", "file"]))
    def check(value, how):
        text = json.dumps(value) if how != "yaml" else yaml.safe_dump(value)
        if how == "file":
            from django.core.files.uploadedfile import SimpleUploadedFile

            _import_checked(client, {"file": SimpleUploadedFile("z.json", text.encode())})
        else:
            _import_checked(client, {"text": text})

    check()


def test_a_wrong_value_anywhere_in_a_scenario_is_imported_or_refused_with_a_reason(client):
    @FUZZ
    @given(st.sampled_from(PATHS), st.one_of(JSON_VALUES, TEXT))
    def check(path, value):
        _import_checked(client, {"text": json.dumps(_put(tiny(), path, value), default=str)})

    check()


def test_any_text_is_imported_or_refused_with_a_reason(client):
    @FUZZ
    @given(
        st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
    )
    def check(text):
        _import_checked(client, {"text": text})

    check()


def test_whole_numbers_written_as_text_or_floats_import_as_numbers(client):
    """The engine reads ``"2"`` and ``2.0`` as 2; so does the import (then the form)."""
    data = tiny(seed="7")
    data["fleet"]["racks"][0].update(count=2.0, hosts="2")
    data["fleet"]["host"]["vcpus"] = "32.0"
    data["caps"] = {"per_source_host": "1", "per_target_host": 2.0, "global": "3"}
    assert _import_checked(client, {"text": json.dumps(data)}) == 302
    shown = FleetForm(scenario=Fleet.objects.get().scenario).initial
    assert [shown[k] for k in ("seed", "racks", "hosts_per_rack", "host_vcpus")] == [7, 2, 2, 32]
    assert [shown[k] for k in ("cap_per_source_host", "cap_per_target_host", "cap_global")] == [
        1,
        2,
        3,
    ]


def _nested_list(depth):
    return "[" * depth + "]" * depth


ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=False)
    ]
)
EVENT_ALIASES = yaml.safe_dump({k: v for k, v in tiny().items() if k != "events"}) + (
    "events:\n- &e {name: k, kind: kernel_upgrade, scope: {zone: true}}\n" + "- *e\n" * 300_000
)
HOSTILE = {
    "deep JSON list": _nested_list(100_000),
    "deep JSON object": "{" + '"a":{' * 50_000 + "}" * 50_001,
    "deep YAML": "a: " + _nested_list(50_000),
    "YAML alias bomb (billion laughs)": ALIAS_BOMB,
    "YAML alias bomb in the events": EVENT_ALIASES,
    "YAML self-referencing alias": "&a [*a, *a]",
    "!!python/object/apply (runs a command)": "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new": "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name": "fleet: !!python/name:os.system",
    "!!binary": "fleet: !!binary aGVsbG8=",
    "a 5,000-digit integer (JSON)": '{"seed": ' + "9" * 5000 + "}",
    "a 5,000-digit integer (YAML)": "seed: " + "9" * 5000,
    "a float beyond double": '{"fleet": {"racks": [{"name": "r", "hosts": 1e400}]}}',
    "wrong types": '{"fleet": [], "events": "all of them", "policy": 7}',
    "a list, not a mapping": "[1, 2, 3]",
    "only whitespace": "   \n\t ",
    "a billion VMs": json.dumps(
        _put(tiny(), ("fleet", "racks"), [{"name": "r", "count": 100_000, "hosts": 1000}])
    ),
    "a name longer than its column": json.dumps(
        _put(tiny(), ("fleet", "host", "memory"), "0" * 30 + "64GiB")
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_upload_is_refused_cleanly_and_quickly(name, client, tmp_path):
    marker = tmp_path / "pwned"
    text = HOSTILE[name].replace("{marker}", str(marker))
    started = time.monotonic()
    status = _import_checked(client, {"text": text})
    assert status == 422 and time.monotonic() - started < 10
    assert not marker.exists()  # no tag ran anything


def test_pasted_nul_bytes_are_refused_before_the_form(client):
    """A form's value holding a NUL is refused by the middleware (``refuse_nul``), a multipart
    form's as an urlencoded one's: 400, nothing stored."""
    before = _state()
    response = client.post("/fleets/import/", {"text": "\x00\x01\x02"})
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert _state() == before


def test_a_file_that_is_not_utf8_text_is_refused_next_to_the_field(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/fleets/import/", {"file": SimpleUploadedFile("z.yaml", b"\xff\xfe\x00bad")}
    )
    assert response.status_code == 422 and 'id="id_file_error"' in response.content.decode()
    assert not Fleet.objects.exists()


# --- query parameters ---------------------------------------------------------------------------------


def test_query_parameters_never_fail(client, alice):
    from .conftest import finish

    run = finish(fleet_services.start_run(scenario=tiny(), queue=False, visitor=alice))
    single = Run.objects.create(params={"memory": "4GiB"}, owner_id=alice.user_id)
    sweep = sweeps.create_sweep(
        fleet=None,
        scenario=tiny(),
        x_param="seed",
        x_values=[1],
        metric="makespan_s",
        visitor=alice,
    )
    templates = [
        f"/runs/{single.pk}/events.json?after={{}}",
        "/?from={}",
        "/?scenario={}",
        "/fleets/new/?from_run={}",
        "/fleets/runs/compare/?runs={}",
        f"/fleets/runs/{run.pk}/messages.json?after={{}}",
        f"/fleets/runs/{run.pk}/timeline.json?host={{}}",
        f"/fleets/sweeps/{sweep.pk}/results.json?metric={{}}",
    ]

    @FUZZ
    @given(st.sampled_from(templates), st.one_of(TEXT, st.integers(-(10**30), 10**30).map(str)))
    def check(template, value):
        from urllib.parse import quote

        response = client.get(template.format(quote(str(value), safe="")))
        assert response.status_code < 500, (template, value)

    check()
