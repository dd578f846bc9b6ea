"""The blackout and what may follow it: stop-and-copy, or a switch to post-copy.

Blackout = stop time + final dirty bytes / link rate + device state / link rate + resume time
(with a ``page_time``, each page of the final copy takes at least that: ``pacing.py``). The
stop time is the source's own work once the guest is paused, whatever the bytes (QEMU's
``migration_completion``: ``vm_stop_force_state`` pauses the vCPUs, ``ram_save_complete``
syncs the dirty bitmap one last time, ``qemu_savevm_state_complete_precopy`` saves every
device): a property of the host, 0 unless given (``--stop-time``). The final
copy is not rate-limited (QEMU lifts max-bandwidth once the guest is paused), so it runs at the
full link rate even when live rounds were capped.

What the source's clock sees is shorter (``source_downtime_s``, QEMU's ``downtime`` counter:
``migration_completion`` stops the VM and ``migration_calculate_complete`` reads the clock once
``qemu_savevm_state_complete_precopy`` has flushed the final copy and the device state into the
socket). A send buffer of ``B`` bytes, empty at the stop (the model's pre-copy never gets ahead
of the link), drained at the link rate ``L`` while the source writes at its own rate ``S``: the
source is done after ``max(N / S, (N - B) / L)`` for ``N`` bytes (it fills the buffer at
``S - L`` and then follows the drain, ``B`` bytes ahead of it), never later than the last byte
on the link. The guest's blackout still ends when the destination has the last byte. The
stop time comes first on both clocks (QEMU's counter starts before ``vm_stop``).

Post-copy (Hines & Gopalan, VEE'09; QEMU postcopy-ram): the guest resumes on the target after
only the device state has moved; the pages still on the source are pushed in the background at
link rate, and a page the guest touches before it arrives costs a remote fault (a round trip).
A page of working set ``k`` pushed at a uniformly random time in ``[0, T]`` is touched first
after an exponential time of rate ``r_k / W_k``, so the expected faults are
``p_k * (1 - (1 - exp(-a T)) / (a T))`` with ``a = r_k / W_k`` and ``p_k`` its pending pages.
Writes are the only accesses the model knows, so this is a lower bound. Until the push ends a
failure of either host loses the VM.

A faulting writer waits for its page (QEMU's postcopy: the vCPU blocks on userfaultfd until the
page arrives, ``--fault-latency`` later), so a working set's writes slow down while its faults
are served. With one writer a working set, its faults ``F`` (above, at full speed) become
``F T / (T + F L)`` for a push of ``T`` seconds and a fault latency ``L``: the writer runs for
``T - F' L`` of the push and faults at the same rate while it runs, never more than ``T / L``
faults, never more stall than the push lasts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .pacing import pace_for
from .units import PAGE_SIZE_BYTES


class Switchover(NamedTuple):
    kind: str  # "stop_and_copy", "post_copy" or "abort"
    final_pages: float
    final_bytes: float  # pages on the wire during blackout
    final_copy_s: float
    blackout_s: float  # 0 when aborted
    # the stop to the source's last byte into its socket (QEMU's ``downtime``); 0 when aborted
    source_downtime_s: float = 0.0
    postcopy_pages: float = 0.0
    postcopy_bytes: float = 0.0
    postcopy_s: float = 0.0
    postcopy_faults: float = 0.0
    postcopy_stall_s: float = 0.0
    # pages still on the source at the switch, per working set (the faults' sources)
    postcopy_pending_by_ws: tuple[float, ...] = ()


def device_and_resume_s(spec, link_bps: float) -> float:
    """What every blackout holds besides the pages: the source's own stop work, the device
    state on the link, the target's resume."""
    return spec.stop_time_s + spec.device_state_bytes / link_bps + spec.resume_time_s


def _send_all(spec, memory, link_bps: float) -> tuple[float, float, float]:
    """Every pending page at once: (pages, wire bytes, seconds at ``link_bps``)."""
    pace = pace_for(memory, link_bps, spec.page_time_s)  # before the pages are sent
    pages, wire = memory.send_all()
    return pages, wire, (wire / link_bps if pace is None else pace.total_seconds)


def stop_and_copy(spec, memory, link_bps: float) -> Switchover:
    sender_bps = spec.sender_bps or link_bps
    sender_pace = None
    if spec.send_buffer_bytes > 0 and sender_bps > link_bps:
        sender_pace = pace_for(memory, sender_bps, spec.page_time_s)  # before the pages go
    pages, wire, final_copy_s = _send_all(spec, memory, link_bps)
    on_link_s = final_copy_s + spec.device_state_bytes / link_bps  # the last byte delivered
    source_s = on_link_s
    if spec.send_buffer_bytes > 0 and sender_bps > link_bps:
        own_s = wire / sender_bps if sender_pace is None else sender_pace.total_seconds
        own_s += spec.device_state_bytes / sender_bps
        source_s = min(on_link_s, max(own_s, on_link_s - spec.send_buffer_bytes / link_bps))
    return Switchover(
        "stop_and_copy",
        pages,
        wire,
        final_copy_s,
        final_copy_s + device_and_resume_s(spec, link_bps),
        source_downtime_s=spec.stop_time_s + source_s,
    )


def abort() -> Switchover:
    return Switchover("abort", 0.0, 0.0, 0.0, 0.0)


def switch_to_postcopy(spec, memory, link_bps: float) -> Switchover:
    pending_by_ws = memory.pending_by_working_set()
    # pushed in the background after the guest resumes
    pages, wire, push_s = _send_all(spec, memory, link_bps)
    faults = 0.0
    for ws, pending in zip(spec.working_sets, pending_by_ws, strict=False):
        access_rate = ws.page_writes_per_s / max(1, ws.pages)  # per page, per second
        x = access_rate * push_s
        if pending > 0 and x > 0:
            unslowed = pending * (1.0 - (-math.expm1(-x)) / x)
            faults += unslowed * _writer_share(unslowed, push_s, spec.postcopy_fault_latency_s)
    return Switchover(
        "post_copy",
        0.0,
        0.0,
        0.0,
        device_and_resume_s(spec, link_bps),
        postcopy_pages=pages,
        postcopy_bytes=wire,
        postcopy_s=push_s,
        postcopy_faults=faults,
        postcopy_stall_s=faults * spec.postcopy_fault_latency_s,
        postcopy_pending_by_ws=tuple(pending_by_ws),
    )


def _writer_share(faults: float, push_s: float, latency_s: float) -> float:
    """The share of the push a working set's writer runs (not waiting for a fault): T / (T + F L)."""
    stalled = faults * latency_s
    return push_s / (push_s + stalled) if stalled > 0.0 else 1.0


class PostcopyProgress(NamedTuple):
    """Post-copy ``offset_s`` seconds after the guest resumed on the target."""

    faults_per_s: float  # remote page faults per second (expected)
    fetched_on_demand_pages: float  # pages a fault has pulled so far
    pushed_pages: float  # pages the background push has sent so far
    on_source_pages: float  # pages still only on the source: neither pushed nor fetched yet


def postcopy_progress(spec, switchover: Switchover, offset_s: float) -> PostcopyProgress:
    """The same expected faults as ``switch_to_postcopy``, as they accrue over the push.

    A pending page of working set ``k`` is pushed at a uniform time in ``[0, T]`` and touched
    first after an exponential time of rate ``a``; it faults at ``t`` if touched then, before
    its push: fault rate ``p_k a e^(-a t) (1 - t / T)``, whose integral to ``t`` is
    ``p_k ((1 - e^(-a t)) - (1 - e^(-a t) (1 + a t)) / (a T))`` (at ``t = T``, the total of
    ``switch_to_postcopy``). The push sends ``pages / T`` pages a second."""
    push_s = switchover.postcopy_s
    pages = switchover.postcopy_pages
    if push_s <= 0.0:
        return PostcopyProgress(0.0, 0.0, pages, 0.0)
    t = min(max(offset_s, 0.0), push_s)
    rate = fetched = early = 0.0
    for ws, pending in zip(spec.working_sets, switchover.postcopy_pending_by_ws, strict=False):
        a = ws.page_writes_per_s / max(1, ws.pages)
        if pending <= 0 or a <= 0:
            continue
        x = a * push_s
        unslowed = pending * (1.0 - (-math.expm1(-x)) / x)
        share = _writer_share(unslowed, push_s, spec.postcopy_fault_latency_s)
        decay = math.exp(-a * t)
        rate += share * pending * a * decay * (1.0 - t / push_s)
        touched = -math.expm1(-a * t)  # 1 - e^(-a t), exact for small a t
        # 1 - e^(-a t) (1 + a t): touched by t, counting where in [0, t] it happened
        within = touched - a * t * decay
        fetched += share * pending * (touched - within / (a * push_s))
        early += share * pending * touched  # touched by t: fetched, unless pushed already
    # still on the source: a page not yet pushed (1 - t / T of each) and not touched by t
    on_source = max(0.0, (1.0 - t / push_s) * (pages - early))
    return PostcopyProgress(rate, fetched, pages * t / push_s, on_source)


def pending_bytes(memory) -> float:
    return memory.pending * PAGE_SIZE_BYTES
