"""The harness reads the migration socket's buffers with `ss` (validation/sockets.py): what a
recorded `ss -tmiH` line says, and the buffer the calibration gives the model."""

import pytest

from validation.sockets import buffer_bytes, parse_ss, send_buffer_from_runs

# the source's socket during a capped migration on this host (session 16), as `ss -tmiH` printed
# it: one line per connection, the extended fields after the addresses
SOURCE_LINE = (
    "0 0 127.0.0.1:37110 127.0.0.1:47123 skmem:(r0,rb131072,t0,tb3939840,f0,w0,o0,bl0,d0) bbr "
    "wscale:10,10 rto:204 rtt:0.066/0.023 mss:65483 pmtu:65535 rcvmss:536 advmss:65483 cwnd:14 "
    "ssthresh:8 bytes_sent:6715062 bytes_acked:6715063 segs_out:150 segs_in:91 "
    "data_segs_out:148 bbr:(bw:87310645848bps,mrtt:0.005,pacing_gain:1.25,cwnd_gain:2) send "
    "111122666667bps lastsnd:32 lastrcv:140 lastack:32 pacing_rate 108046924232bps "
    "delivery_rate 87310666664bps delivered:149 reordering:8 rcv_space:65495 "
    "rcv_ssthresh:65495 minrtt:0.005 snd_wnd:230400\n"
)


def test_the_send_buffer_and_the_peers_window_are_read_from_ss():
    figures = parse_ss(SOURCE_LINE)
    assert figures == {
        "send_buffer_bytes": 3_939_840,
        "queued_bytes": 0,
        "peer_window_bytes": 230_400,
    }
    assert buffer_bytes(figures) == 3_939_840 + 230_400


def test_no_connection_is_no_sample():
    assert parse_ss("") is None
    assert parse_ss("State Recv-Q Send-Q Local Address:Port Peer Address:Port\n") is None


def test_the_buffer_is_the_median_of_the_calibration_streams_last_samples():
    def run(*buffers):
        return {
            "socket_samples": [
                [0.02 * i, {"send_buffer_bytes": b, "queued_bytes": 0, "peer_window_bytes": 100}]
                for i, b in enumerate(buffers)
            ]
        }

    # TCP grows the buffer as the stream goes: each run's last sample counts
    runs = [run(16_384, 2_000_000, 4_000_000), run(3_000_000), run(1_000, 5_000_000)]
    assert send_buffer_from_runs(runs) == 4_000_100
    with pytest.raises(ValueError, match="ss"):
        send_buffer_from_runs([{"socket_samples": []}, {}])
