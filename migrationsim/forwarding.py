"""The post-migration brownout: the guest runs on the target while the fabric catches up.

Until the network fabric converges on the VM's new location, packets for the VM still arrive at
the source, which forwards them to the target (Google's transparent maintenance); each takes one
more host hop. Without forwarding they are lost. QEMU also announces the move itself with
RARP/GARP packets at 0, 50, 200, 450 and 800 ms after the guest resumes (net/announce.c:
initial 50 ms, +100 ms a round, 5 rounds).
"""

from __future__ import annotations

from typing import NamedTuple

ANNOUNCE_INITIAL_S = 0.050
ANNOUNCE_STEP_S = 0.100
ANNOUNCE_ROUNDS = 5


def announcement_times_s() -> list[float]:
    """Offsets after resume at which QEMU sends its self-announcements."""
    times, t, gap = [], 0.0, ANNOUNCE_INITIAL_S
    for _ in range(ANNOUNCE_ROUNDS):
        times.append(round(t, 6))
        t += gap
        gap += ANNOUNCE_STEP_S
    return times


ANNOUNCEMENTS_S = tuple(announcement_times_s())


class Forwarding(NamedTuple):
    duration_s: float  # the post-migration brownout
    fabric_convergence_s: float
    forwarded_packets: float
    lost_packets: float
    added_latency_s: float  # per forwarded packet
    announcements_s: list


def post_migration_brownout(spec, postcopy_s: float = 0.0) -> Forwarding:
    stale_packets = spec.packet_rate_pps * spec.fabric_convergence_s
    fabric_s, forwarding = spec.fabric_convergence_s, spec.forwarding
    return _new_forwarding(
        Forwarding,
        (
            fabric_s if fabric_s >= postcopy_s else postcopy_s,  # the brownout
            fabric_s,
            stale_packets if forwarding else 0.0,  # forwarded
            0.0 if forwarding else stale_packets,  # lost
            spec.forwarding_latency_s if forwarding else 0.0,
            list(ANNOUNCEMENTS_S),
        ),
    )


_new_forwarding = tuple.__new__  # a Forwarding from its fields, without the keyword pass
