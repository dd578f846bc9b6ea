"""The source's view of the stop-and-copy: a socket send buffer (``--send-buffer``,
``--sender-rate``) and QEMU's own counters (``source_downtime_s``, ``source_time_s``).

QEMU starts its ``downtime`` clock when it stops the VM (``migration_completion``) and reads
it again once the final copy and the device state have been flushed into the socket
(``migration_calculate_complete``), not once the destination has them. With a send buffer of B
bytes, empty at the stop and drained at the link rate L while the source writes at its own
rate S, the source is done after max(N / S, (N - B) / L) for N bytes. The guest's blackout
still ends with the last byte on the link (and the resume). Every number below is worked out
in the comments.
"""

import pytest

from migrationsim import build_spec, simulate
from migrationsim.spec import InvalidParameter

LINK = 400e6  # B/s
SENDER = 1.2e9  # B/s
DEVICE = 100_000  # B
# a guest that writes nothing, capped at 32 MiB/s: pre-copy stops once pending is below the
# threshold (the measured 33.5 MB/s x 300 ms), and the rest, 6.8 MB, is the final copy
GUEST = dict(
    memory="32MiB",
    dirty_rate="0B/s",
    bandwidth=LINK,
    max_bandwidth="32MiB/s",
    device_state=DEVICE,
    resume_time="5ms",
)
# a sequential writer fast enough that the final copy carries megabytes
BUSY = dict(GUEST, memory="64MiB", working_set="32MiB", dirty_rate="16MiB/s", zero_fraction=0.5)


def run(**params):
    return simulate(build_spec(**params)).to_dict()


def test_without_a_buffer_the_source_is_done_when_the_last_byte_is_on_the_link():
    r = run(**BUSY)
    # blackout = final copy / L + device / L + resume; the source stops its clock before the
    # resume, which is the destination's
    assert r["source_downtime_s"] == pytest.approx(r["blackout_s"] - 0.005, abs=1e-12)
    assert r["source_time_s"] == pytest.approx(r["total_time_s"] - 0.005, abs=1e-12)
    # a sender rate alone changes nothing: without a buffer it waits for the link
    assert run(sender_rate=SENDER, **BUSY)["source_downtime_s"] == r["source_downtime_s"]


def test_a_final_copy_that_fits_goes_at_the_senders_rate():
    plain = run(**GUEST)
    n = plain["final_bytes"] + DEVICE
    assert 6e6 < n < 7e6
    # 8 MiB fill at S - L: the source gets B S / (S - L) = 12.6 MB out before it must wait for
    # the drain, more than the copy: it is done after N / S
    r = run(send_buffer="8MiB", sender_rate=SENDER, **GUEST)
    assert r["source_downtime_s"] == pytest.approx(n / SENDER, rel=1e-12)
    # the guest still waits for the destination: N at 400 MB/s, then the resume
    assert r["blackout_s"] == plain["blackout_s"]
    assert r["blackout_s"] == pytest.approx(n / LINK + 0.005, rel=1e-12)


def test_a_final_copy_larger_than_the_buffer_follows_the_drain_once_it_is_full():
    plain = run(**BUSY)
    n = plain["final_bytes"] + DEVICE
    assert n > 6e6  # megabytes: more than the buffer takes at the sender's rate
    b = 2 * 1024 * 1024
    r = run(send_buffer=b, sender_rate=SENDER, **BUSY)
    # the buffer fills at S - L for B / (S - L) s, taking B S / (S - L) = 3.1 MB, then the
    # source writes as fast as the link drains, B ahead of it: done at (N - B) / L
    assert r["source_downtime_s"] == pytest.approx((n - b) / LINK, rel=1e-12)
    assert r["source_downtime_s"] > n / SENDER
    # nothing else moves: the blackout, the bytes, the rounds
    for key in ("blackout_s", "total_time_s", "bytes_sent", "precopy_time_s", "live_rounds"):
        assert r[key] == plain[key]
    assert r["source_time_s"] == pytest.approx(r["precopy_time_s"] + (n - b) / LINK, rel=1e-12)


def test_a_buffer_as_large_as_the_copy_leaves_only_the_senders_own_time():
    plain = run(**BUSY)
    n = plain["final_bytes"] + DEVICE
    r = run(send_buffer="64MiB", sender_rate=SENDER, **BUSY)
    assert r["source_downtime_s"] == pytest.approx(n / SENDER, rel=1e-12)


def test_the_threads_time_per_page_binds_the_sender_too():
    # a written page is 4,104 B: 10.3 us at the link, 3.4 us at the sender's rate. A thread
    # that needs 5 us a page binds the sender (not the link): the source's own time for the
    # final copy is its pages x 5 us, the device state at the sender's rate
    plain = run(page_time="5us", **BUSY)
    pages = plain["rounds"][-1]["pages"]
    r = run(page_time="5us", send_buffer="64MiB", sender_rate=SENDER, **BUSY)
    assert r["source_downtime_s"] == pytest.approx(pages * 5e-6 + DEVICE / SENDER, rel=1e-9)


def test_the_sender_cannot_be_slower_than_its_link():
    with pytest.raises(InvalidParameter) as err:
        build_spec(bandwidth="1GB/s", sender_rate="500MB/s")
    assert err.value.field == "sender_rate"
    assert "at least the bandwidth" in str(err.value)
    with pytest.raises(InvalidParameter) as err:
        build_spec(send_buffer="-1MiB")
    assert err.value.field == "send_buffer"


def test_an_aborted_migration_has_no_downtime_on_either_side():
    r = run(
        memory="1GiB",
        dirty_rate="1GB/s",
        bandwidth="100MB/s",
        completion_timeout="1s",
        send_buffer="4MiB",
        sender_rate=SENDER,
    )
    assert r["outcome"] == "aborted"
    assert r["source_downtime_s"] == 0 and r["blackout_s"] == 0
