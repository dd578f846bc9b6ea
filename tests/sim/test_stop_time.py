"""The source's own work once the guest is stopped (``--stop-time``): QEMU's
``migration_completion`` starts its downtime clock, pauses the vCPUs (``vm_stop_force_state``),
syncs the dirty bitmap one last time (``ram_save_complete``) and saves every device
(``qemu_savevm_state_complete_precopy``): CPU work beside the bytes. It comes first on both
clocks, the guest's blackout and QEMU's counter; nothing before the stop moves."""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.spec import InvalidParameter

# the guest of the send-buffer tests: it writes nothing, 32 MiB/s cap, 6.8 MB final copy
from .test_send_buffer import DEVICE, GUEST, LINK, SENDER

STOP_S = 0.001


def run(**params):
    return simulate(build_spec(**params)).to_dict()


def test_the_stop_adds_its_time_to_the_blackout_and_to_qemus_counter_and_nothing_else():
    plain, stopped = run(**GUEST), run(stop_time="1ms", **GUEST)
    n = plain["final_bytes"] + DEVICE
    # blackout = stop + final copy / L + device / L + resume
    assert stopped["blackout_s"] == pytest.approx(STOP_S + n / LINK + 0.005, rel=1e-12)
    assert stopped["source_downtime_s"] == pytest.approx(plain["source_downtime_s"] + STOP_S)
    assert stopped["total_time_s"] == pytest.approx(plain["total_time_s"] + STOP_S)
    for key in ("precopy_time_s", "final_bytes", "bytes_sent", "live_rounds"):
        assert stopped[key] == plain[key]


def test_with_a_send_buffer_the_stop_comes_before_the_bytes_on_the_sources_clock():
    # the final copy fits in 8 MiB filled at S: the source is done after stop + N / S
    r = run(stop_time="1ms", send_buffer="8MiB", sender_rate=SENDER, **GUEST)
    n = r["final_bytes"] + DEVICE
    assert r["source_downtime_s"] == pytest.approx(STOP_S + n / SENDER, rel=1e-12)
    assert r["blackout_s"] == pytest.approx(STOP_S + n / LINK + 0.005, rel=1e-12)


def test_post_copy_stops_the_guest_too():
    guest = dict(GUEST, dirty_rate="64MiB/s", working_set="16MiB", post_copy=True)
    plain, stopped = run(**guest), run(stop_time="1ms", **guest)
    assert plain["stop_reason"] == "post_copy"  # the guest resumes on the target at once
    assert stopped["blackout_s"] == pytest.approx(plain["blackout_s"] + STOP_S, rel=1e-12)


def test_the_default_is_no_stop_time():
    assert build_spec(**GUEST).stop_time_s == 0.0


@pytest.mark.parametrize("value", ["-1ms", "1e12s"])
def test_an_impossible_stop_time_is_refused_naming_it(value):
    with pytest.raises(InvalidParameter) as refused:
        build_spec(stop_time=value, **GUEST)
    assert refused.value.field == "stop_time"


def _text(capsys, *flags: str) -> list[str]:
    from migrationsim.cli import main

    args = ["migrate", "--memory", "8GiB", "--workload", "oltp", *flags]
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


def test_the_text_summary_breaks_the_blackout_down_and_names_the_stop_in_it(capsys):
    from migrationsim.humanize import duration

    result = simulate(build_spec(memory="8GiB", workload="oltp", stop_time="1ms")).to_dict()
    lines = _text(capsys, "--stop-time", "1ms")
    parts = [line for line in lines if line.startswith("blackout ")]
    assert parts == [
        f"blackout {duration(result['blackout_s'])} = stop 1 ms (--stop-time) + final copy "
        f"31.1 ms + device state 1.68 ms + resume 20 ms"
    ]
    # without a stop time the breakdown says no stop: there was none
    assert [line for line in _text(capsys) if line.startswith("blackout ")] == [
        "blackout 52.8 ms = final copy 31.1 ms + device state 1.68 ms + resume 20 ms"
    ]


def test_qemus_counter_line_says_the_stop_is_in_it(capsys):
    lines = _text(capsys, "--stop-time", "1ms", "--send-buffer", "4MiB")
    counter = [line for line in lines if line.startswith("QEMU's downtime counter")]
    assert counter and "(the 1 ms stop included)" in counter[0]


def test_the_json_gives_the_blackouts_parts_and_they_add_up_to_it():
    r = run(stop_time="1ms", **GUEST)
    parts = r["blackout_parts_s"]
    assert parts["stop_s"] == STOP_S
    assert parts["final_copy_s"] == pytest.approx(r["final_bytes"] / LINK, rel=1e-12)
    assert parts["device_state_s"] == pytest.approx(DEVICE / LINK, rel=1e-9)
    assert parts["resume_s"] == 0.005
    assert sum(parts.values()) == pytest.approx(r["blackout_s"], rel=1e-12)


def test_post_copys_blackout_has_no_final_copy_and_an_abort_has_no_parts():
    guest = dict(GUEST, dirty_rate="64MiB/s", working_set="16MiB")
    post = run(stop_time="1ms", post_copy=True, **guest)
    assert post["blackout_parts_s"]["final_copy_s"] == 0.0
    assert sum(post["blackout_parts_s"].values()) == pytest.approx(post["blackout_s"], rel=1e-12)
    aborted = run(timeout_action="abort", completion_timeout="1s", **guest)
    assert aborted["outcome"] == "aborted" and aborted["blackout_parts_s"] is None
