"""One VM's whole trip: notice, target setup, pre-copy, blackout, post-migration brownout,
cleanup. ``simulate`` returns the result; ``stream`` yields events as they are produced."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import NamedTuple

from . import phases as ph
from .forwarding import Forwarding, post_migration_brownout
from .humanize import duration, size
from .memory_fluid import FluidMemory
from .memory_pages import LONG_WORK_BUDGET_PAGES, PageMemory
from .notice import guest_notice
from .policies import XEN_MAX_RATE_BPS, XEN_RATE_HEADROOM_BPS, Stop
from .precopy import KeptRounds, LinkRate, Precopy, PrecopyOutcome, Round, _new_round
from .spec import MigrationSpec
from .switchover import (
    Switchover,
    abort,
    postcopy_progress,
    stop_and_copy,
    switch_to_postcopy,
)
from .units import PAGE_SIZE_BYTES, format_rate
from .workload import PRESETS


def new_memory(spec: MigrationSpec, pages_work_budget: int = LONG_WORK_BUDGET_PAGES):
    regions = spec.regions
    if spec.resolution == "fluid":
        return FluidMemory(spec, regions), regions
    return PageMemory(spec, regions, work_budget=pages_work_budget), regions


class MigrationResult(NamedTuple):
    spec: MigrationSpec
    rounds: tuple[Round, ...]  # live rounds, then the final (blackout) copy if there was one
    precopy: PrecopyOutcome
    switchover: Switchover
    forwarding: Forwarding | None  # None when the migration was aborted
    phases: tuple[ph.Phase, ...]
    notice_value: str
    notice_s: float

    @property
    def stop(self) -> Stop:
        return self.precopy.stop

    @property
    def outcome(self) -> str:
        return "aborted" if self.switchover.kind == "abort" else "migrated"

    @property
    def total_time_s(self) -> float:
        """From the first byte of pre-copy until the guest no longer needs the source."""
        return self.precopy.time_s + self.switchover.blackout_s + self.switchover.postcopy_s

    @property
    def source_time_s(self) -> float:
        """From the first byte of pre-copy until the source has written its last byte into its
        socket (QEMU's ``total-time`` and the MIGRATION completed event): ``total_time_s``
        less what a send buffer lets the source finish before the destination has it."""
        sw = self.switchover
        return self.precopy.time_s + sw.source_downtime_s + sw.postcopy_s

    @property
    def bytes_sent(self) -> float:
        device = 0.0 if self.switchover.kind == "abort" else self.spec.device_state_bytes
        return (
            self.precopy.live_wire_bytes
            + self.switchover.final_bytes
            + self.switchover.postcopy_bytes
            + device
        )

    def to_dict(self) -> dict:
        """Every figure of the result; ``outcome_words`` is the outcome in words (the one
        table, ``outcomes.py``): what the narration, the badges and the CLI say."""
        from . import outcomes  # not at import time: the table reads the fleet's reasons too

        spec, sw, fwd = self.spec, self.switchover, self.forwarding
        result = {
            "policy": spec.policy,
            "resolution": spec.resolution,
            "outcome": self.outcome,
            "converged": self.stop.converged,
            "stop_reason": self.stop.reason,
            "stop_message": self.stop.message,
            "live_rounds": self.precopy.live_rounds,
            "total_time_s": self.total_time_s,
            "precopy_time_s": self.precopy.time_s,
            "blackout_s": sw.blackout_s,
            # its parts (they add up to it; None when aborted): what the text's breakdown says
            "blackout_parts_s": self.blackout_parts(),
            # what QEMU's own counters say (the source's view: a send buffer ends them early)
            "source_downtime_s": sw.source_downtime_s,
            "source_time_s": self.source_time_s,
            "bytes_sent": self.bytes_sent,
            "final_bytes": sw.final_bytes,
            "threshold_bytes": self.precopy.threshold_bytes,
            "throttle_max": self.precopy.throttle_max,
            "rounds": [r.to_dict() for r in self.rounds],
            "rounds_summarised": any(r.repeat > 1 for r in self.rounds),
            "postcopy": None
            if sw.kind != "post_copy"
            else {
                "pages": sw.postcopy_pages,
                "bytes": sw.postcopy_bytes,
                "duration_s": sw.postcopy_s,
                "faults": sw.postcopy_faults,
                "fault_stall_s": sw.postcopy_stall_s,
                "vm_at_risk_s": sw.postcopy_s,
            },
            "post_brownout_s": fwd.duration_s if fwd else 0.0,
            "fabric_convergence_s": fwd.fabric_convergence_s if fwd else 0.0,
            "forwarded_packets": fwd.forwarded_packets if fwd else 0.0,
            "lost_packets": fwd.lost_packets if fwd else 0.0,
            "forwarding_latency_s": fwd.added_latency_s if fwd else 0.0,
            "announcements_s": fwd.announcements_s if fwd else [],
            "notice": {"value": self.notice_value, "lead_s": self.notice_s},
            "phases": [p.to_dict() for p in self.phases],
            "end_to_end_s": self.phases[-1].end_s,
            "memory_bytes": spec.memory_bytes,
            "dirty_rate_bps": spec.dirty_rate_bps,
            "bandwidth_bps": spec.bandwidth_bps,
            "max_bandwidth_bps": spec.max_bandwidth_bps,
            "downtime_limit_s": spec.downtime_limit_s,
            "workload": spec.workload,
            "seed": spec.seed,
        }
        result["outcome_words"] = outcomes.single_vm(result)
        return result

    def summary_lines(self) -> list[str]:
        """A short human summary (the CLI's output without --json)."""
        spec, sw = self.spec, self.switchover
        said = self.to_dict()["outcome_words"]
        lines = [
            f"policy {spec.policy} ({spec.resolution}), {size(spec.memory_bytes)} guest, "
            f"link {format_rate(spec.bandwidth_bps)}{self._downtime_limit_words()}"
            f"{self._live_rate_words()}",
            self._guest_words(),
            f"{said['label']} [{said['code']}]: {said['sentence']}",
            f"why pre-copy stopped [{self.stop.reason}]: {self.stop.message}",
            f"live rounds {self.precopy.live_rounds}, pre-copy {duration(self.precopy.time_s)}, "
            f"blackout {duration(sw.blackout_s)}, total {duration(self.total_time_s)} "
            # 'total' is QEMU's migration time (first byte to done), not the whole maintenance:
            # the notice, the target's setup, the forwarding and the cleanup are said beside it
            f"(pre-copy to {'the abort' if sw.kind == 'abort' else 'done'}); "
            f"end to end {duration(self.phases[-1].end_s)} "
            "(notice to cleanup)",
            f"sent {size(self.bytes_sent)} (final copy {size(sw.final_bytes)}), "
            f"max throttle {self.precopy.throttle_max:.0%}",
        ]
        if sw.kind != "abort":
            lines.append(self._blackout_parts_words())
        if spec.auto_converge and spec.policy not in ("qemu", "gce"):
            # asked for, but the textbook and xen loops have no throttle: said, not left to
            # 'max throttle 0%' (post-copy, the other aid, is refused for these policies)
            lines.append(
                f"auto-converge: not applied, the {spec.policy} policy has no vCPU throttle "
                "(a qemu/gce feature)"
            )
        if sw.kind == "stop_and_copy" and spec.send_buffer_bytes > 0:
            stop = f" (the {duration(spec.stop_time_s)} stop included)" if spec.stop_time_s else ""
            lines.append(
                f"QEMU's downtime counter would say {duration(sw.source_downtime_s)}{stop}: the "
                f"source is done once its {size(spec.send_buffer_bytes)} send buffer holds the "
                "rest, before the destination has it"
            )
        if sw.kind == "post_copy":
            lines.append(
                f"post-copy: {size(sw.postcopy_bytes)} pushed in "
                f"{duration(sw.postcopy_s)}, ~{sw.postcopy_faults:.0f} remote faults"
            )
        if self.forwarding:
            lines.append(
                f"post-migration brownout {duration(self.forwarding.duration_s)}: "
                f"{self.forwarding.forwarded_packets:.0f} packets forwarded"
            )
        return lines

    def blackout_parts(self) -> dict | None:
        """What the blackout is made of, the engine's own parts (switchover.py): the source's
        stop work (--stop-time), the final copy (stop-and-copy only; 0 after post-copy's
        switch), the device state on the link (--device-state), the target's resume
        (--resume-time); they add up to ``blackout_s``. None for an abort (no blackout)."""
        spec, sw = self.spec, self.switchover
        if sw.kind == "abort":
            return None
        final_copy_s = sw.final_copy_s if sw.kind == "stop_and_copy" else 0.0
        device_s = sw.blackout_s - spec.stop_time_s - final_copy_s - spec.resume_time_s
        return {
            "stop_s": spec.stop_time_s,
            "final_copy_s": final_copy_s,
            "device_state_s": max(0.0, device_s),
            "resume_s": spec.resume_time_s,
        }

    def _blackout_parts_words(self) -> str:
        """The blackout, part by part (``blackout_parts``), in words."""
        sw, part = self.switchover, self.blackout_parts()
        parts = [(f"stop {duration(part['stop_s'])} (--stop-time)", part["stop_s"] > 0)]
        parts.append((f"final copy {duration(part['final_copy_s'])}", sw.kind == "stop_and_copy"))
        parts.append((f"device state {duration(part['device_state_s'])}", True))
        parts.append((f"resume {duration(part['resume_s'])}", True))
        said = " + ".join(words for words, shown in parts if shown)
        return f"blackout {duration(sw.blackout_s)} = {said}"

    def _guest_words(self) -> str:
        """What the guest writes, as the run used it: a bare 'migrate' runs the web workload, and
        '--dirty-rate' replaces a workload's working sets by one; the first line said neither."""
        spec = self.spec
        sets = ", ".join(
            f"{ws.write_rate_bps / 1e6:.4g} MB/s across {size(ws.size_bytes)} ({ws.pattern})"
            for ws in spec.working_sets
            if ws.write_rate_bps > 0
        )
        if spec.workload:
            workload = f"the {spec.workload} workload"
        elif spec.working_sets == PRESETS["web"].working_sets_for(spec.memory_bytes):
            workload = "the web workload (the default: no --workload or --dirty-rate given)"
        else:
            workload = "no workload preset"
        writes = f"writes {sets}" if sets else "writes nothing"
        return (
            f"guest: {workload}, {writes}; zero pages {spec.zero_fraction:.0%}; "
            f"{spec.packet_rate_pps:,.0f} packets/s in"
        )

    def _downtime_limit_words(self) -> str:
        """The downtime limit the run used, in words, where the policy reads it (xen stops by
        rounds and volume): a bare '--downtime-limit 300' is 300 s, not QEMU's 300 ms, and the
        first line shows which it was."""
        spec = self.spec
        if spec.policy == "xen":
            return ""
        steps = spec.downtime_ramp_steps
        if steps > 0 and spec.policy in ("qemu", "gce"):
            # Nova's ramp (policies.Qemu.downtime_limit_s): the limit in force starts at
            # limit/steps; '300 ms' alone hid that the first rounds aimed at 60 ms
            every = spec.downtime_ramp_delay_s_per_gib * spec.memory_bytes / 1024**3
            return (
                f", downtime limit ramping from {duration(spec.downtime_limit_s / steps)} to "
                f"{duration(spec.downtime_limit_s)} in {steps} steps, one every {duration(every)}"
            )
        return f", downtime limit {duration(spec.downtime_limit_s)}"

    def _live_rate_words(self) -> str:
        """What limits the live rounds' rate when it is not the link (the summary's first line
        names it: a what-if on the link alone, '--bandwidth 20Gbit/s', changes nothing then, and
        the reader sees why)."""
        spec = self.spec
        cap = spec.live_rate_cap_bps
        if spec.policy == "xen" and spec.adaptive_rate:
            return (
                f"; live rounds at xen's adaptive rate (the last round's dirty rate + "
                f"{format_rate(XEN_RATE_HEADROOM_BPS)}), at most "
                f"{format_rate(min(cap, XEN_MAX_RATE_BPS))}"
            )
        if cap < spec.bandwidth_bps:
            return f"; live rounds capped at {format_rate(cap)} (--max-bandwidth)"
        return ""


def _migrate(
    spec: MigrationSpec,
    link: LinkRate,
    memory,
    at_switch: Callable | None = None,
    switch_bps: float | None = None,
) -> Generator[Round, None, MigrationResult]:
    """Yields each round as it is simulated (the final copy last); returns the result.
    ``at_switch(memory)`` sees the memory as pre-copy left it, before the switch-over sends
    the rest; ``switch_bps``: the switch-over's rate (``stream``)."""
    run = Precopy(spec, memory)
    kept = KeptRounds()
    for live_round in run.rounds(link):
        kept.add(live_round)
        yield live_round
    if at_switch is not None:
        at_switch(memory)
    result = _after_precopy(spec, link, memory, kept.done(), run.result, switch_bps)
    if result.rounds and result.rounds[-1].phase == "final":
        yield result.rounds[-1]
    return result


def _after_precopy(
    spec: MigrationSpec,
    link: LinkRate,
    memory,
    rounds: list[Round],
    outcome: PrecopyOutcome,
    switch_bps: float | None = None,
) -> MigrationResult:
    """The blackout (or abort, or switch to post-copy), the post-migration brownout and the
    timeline, once pre-copy has stopped. The switch-over runs at ``switch_bps`` when given,
    else at the link's rate at that moment."""
    if switch_bps:
        link_bps = float(switch_bps)
    elif len(link.points) == 1:
        link_bps = link.points[0][1]
    else:
        link_bps = link.rate_at(outcome.time_s)
    action = outcome.stop.action
    if action == "abort":
        switchover = abort()
    elif action == "post_copy":
        switchover = switch_to_postcopy(spec, memory, link_bps)
    else:
        switchover = stop_and_copy(spec, memory, link_bps)
        final = _new_round(  # Round(index, phase, start_s, duration_s, bytes, pages,
            Round,  # dirty_bytes, pending_after_bytes, rate_bps, throttle, threshold_bytes, repeat)
            (
                outcome.live_rounds,
                "final",
                outcome.time_s,
                switchover.final_copy_s,
                switchover.final_bytes,
                switchover.final_pages,
                0.0,
                0.0,
                link_bps,
                outcome.throttle,
                outcome.threshold_bytes,
                1,
            ),
        )
        rounds.append(final)

    aborted = switchover.kind == "abort"
    forwarding = None if aborted else post_migration_brownout(spec, switchover.postcopy_s)
    notice_value, notice_s = guest_notice(guest_watches=spec.guest_watches)
    timeline = ph.timeline(
        notice_s=notice_s,
        setup_s=spec.target_setup_s,
        precopy_s=outcome.time_s,
        blackout_s=switchover.blackout_s,
        post_brownout_s=forwarding.duration_s if forwarding else 0.0,
        cleanup_s=spec.cleanup_s,
        aborted=aborted,
    )
    return MigrationResult(
        spec,
        tuple(rounds),
        outcome,
        switchover,
        forwarding,
        tuple(timeline),
        notice_value,
        notice_s,
    )


def simulate(
    spec: MigrationSpec,
    link_rate_changes: Sequence[tuple[float, float]] = (),
    pages_work_budget: int = LONG_WORK_BUDGET_PAGES,
) -> MigrationResult:
    """Run one migration. ``link_rate_changes``: ``(t_s, bandwidth_bps)`` pairs, t from the
    start of pre-copy, for a link whose rate changes while the migration runs.
    ``pages_work_budget``: the pages resolution's work budget (memory_pages.py)."""
    memory, _ = new_memory(spec, pages_work_budget)
    link = LinkRate(spec.bandwidth_bps, link_rate_changes)
    run = Precopy(spec, memory)
    kept = KeptRounds()
    for live_round in run.rounds(link):
        kept.add(live_round)
    return _after_precopy(spec, link, memory, kept.done(), run.result)


def stream(
    spec: MigrationSpec,
    memory_map_cells: int = 1024,
    link_rate_changes: Sequence[tuple[float, float]] = (),
    memory_map_every_s: float = 1.0,
    memory_map_first_rounds: int = 50,
    pages_work_budget: int = LONG_WORK_BUDGET_PAGES,
    switch_bps: float | None = None,
) -> Iterator[dict]:
    """Yield JSON-ready events in simulated-time order (``t_s`` from the maintenance trigger)
    as the model produces them; the last is ``{"kind": "summary", "result": {...}}``.

    Round events carry ``memory_map``: the share of dirty pages in each of
    ``memory_map_cells`` equal address ranges after the round (a square grid if it is a square).
    A migration that never converges can sync every 100 ms for minutes (thousands of rounds):
    past the first ``memory_map_first_rounds`` rounds a map is attached at most once per
    ``memory_map_every_s`` simulated seconds (and always to the final copy), so a stream stays
    small; every round event is still sent.

    ``switch_bps``: the rate of the switch-over (the final copy, or post-copy's push) when it
    is not the link's at that moment: a fleet VM's replay gives the uncapped burst its path
    had in the fleet (``fleet/single_vm.py``).
    """
    memory, regions = new_memory(spec)
    cells = max(1, min(memory_map_cells, spec.memory_pages))
    width = max(1, int(round(cells**0.5)))
    notice_value, notice_s = guest_notice(guest_watches=spec.guest_watches)
    start_s = notice_s + spec.target_setup_s

    def phase(name: str, t_s: float) -> dict:
        return {"kind": "phase_start", "phase": name, "t_s": t_s, "explain": ph.EXPLANATIONS[name]}

    yield {
        "kind": "memory_layout",
        "t_s": 0.0,
        "memory_map_width": width,
        "regions": [
            {
                "kind": r.kind,
                "start": r.start_page / spec.memory_pages,
                "end": r.end_page / spec.memory_pages,
                "working_set": r.working_set,
            }
            for r in regions
        ],
        "memory_map": memory.memory_map(cells),
        # before round 0 every page is pending: QEMU's count, and what it costs on the wire
        "pending_bytes": memory.pending * PAGE_SIZE_BYTES,
        "pending_wire_bytes": memory.pending_wire_bytes(),
    }
    yield {"kind": "notice", "t_s": 0.0, "value": notice_value, "lead_s": notice_s}
    yield phase(ph.GUEST_NOTICE, 0.0)
    yield {"kind": "phase_end", "phase": ph.GUEST_NOTICE, "t_s": notice_s}
    yield phase(ph.TARGET_SETUP, notice_s)
    yield {"kind": "phase_end", "phase": ph.TARGET_SETUP, "t_s": start_s}
    yield phase(ph.PRE_MIGRATION_BROWNOUT, start_s)

    at_switch: list[list[float]] = []  # post-copy: the pending pages' map at the switch
    run = _migrate(
        spec,
        LinkRate(spec.bandwidth_bps, link_rate_changes),
        memory,
        (lambda mem: at_switch.append(mem.memory_map(cells))) if spec.post_copy else None,
        switch_bps,
    )
    last_map_s = -math.inf
    while True:
        try:
            r = next(run)
        except StopIteration as done:
            result: MigrationResult = done.value
            break
        if r.phase == "final":
            yield {
                "kind": "phase_end",
                "phase": ph.PRE_MIGRATION_BROWNOUT,
                "t_s": start_s + r.start_s,
            }
            yield phase(ph.BLACKOUT, start_s + r.start_s)
        event = {
            "kind": "round",
            **r.to_dict(),
            "t_s": start_s + r.start_s,
            "end_s": start_s + r.start_s + r.duration_s * r.repeat,
            # what the pending pages cost on the wire (a zero page is a 9 B marker), beside
            # pending_after_bytes, QEMU's count (every pending page x 4096 B)
            "pending_wire_bytes": memory.pending_wire_bytes(),
        }
        end_s = event["end_s"]
        if (
            r.index < memory_map_first_rounds
            or r.phase == "final"
            or end_s - last_map_s >= memory_map_every_s
        ):
            event["memory_map"] = memory.memory_map(cells)
            event["memory_map_width"] = width
            last_map_s = end_s
        yield event

    by_name = {p.name: p for p in result.phases}
    if ph.BLACKOUT not in by_name:
        yield {
            "kind": "phase_end",
            "phase": ph.PRE_MIGRATION_BROWNOUT,
            "t_s": by_name[ph.PRE_MIGRATION_BROWNOUT].end_s,
        }
    elif result.switchover.kind == "post_copy":
        yield {
            "kind": "phase_end",
            "phase": ph.PRE_MIGRATION_BROWNOUT,
            "t_s": by_name[ph.PRE_MIGRATION_BROWNOUT].end_s,
        }
        yield phase(ph.BLACKOUT, by_name[ph.BLACKOUT].start_s)
    for name in (ph.BLACKOUT, ph.POST_MIGRATION_BROWNOUT):
        if name not in by_name:
            continue
        p = by_name[name]
        if name == ph.POST_MIGRATION_BROWNOUT:
            yield phase(name, p.start_s)
            yield from sorted(
                _forwarding_events(result, p)
                + _postcopy_events(result, p, phase, at_switch[0] if at_switch else None, width),
                key=lambda e: e["t_s"],
            )
        yield {"kind": "phase_end", "phase": name, "t_s": p.end_s}
    cleanup = by_name[ph.CLEANUP]
    yield {
        **phase(ph.CLEANUP, cleanup.start_s),
        **({"explain": ph.ABORTED_CLEANUP} if result.outcome == "aborted" else {}),
    }
    yield {"kind": "notice", "t_s": cleanup.end_s, "value": "NONE", "lead_s": 0.0}
    yield {"kind": "phase_end", "phase": ph.CLEANUP, "t_s": cleanup.end_s}
    yield {"kind": "summary", "t_s": cleanup.end_s, "result": result.to_dict()}


POSTCOPY_SAMPLES = 40  # points on the post-copy charts, denser where faults are most frequent
POSTCOPY_MAP_EVERY = 4  # a post-copy sample with the memory map: every 4th, and the last


def _postcopy_events(
    result: MigrationResult,
    brownout: ph.Phase,
    phase,
    switch_map: list[float] | None = None,
    width: int = 1,
) -> list[dict]:
    """With post-copy: its phase (from the guest's resume on the target to the last page) and
    its progress, sampled at ``T (i / n)^2`` into the push of ``T`` seconds. Every
    ``POSTCOPY_MAP_EVERY``-th sample (and the last) carries ``memory_map``: the pages still
    only on the source, cell by cell (the map at the switch, times the share still there:
    the model pushes the pages in no particular order)."""
    sw = result.switchover
    if sw.kind != "post_copy":
        return []
    start, push_s = brownout.start_s, sw.postcopy_s
    events = [phase(ph.POST_COPY, start)]
    for i in range(POSTCOPY_SAMPLES + 1):
        offset = push_s * (i / POSTCOPY_SAMPLES) ** 2
        progress = postcopy_progress(result.spec, sw, offset)
        event = {"kind": "postcopy", "t_s": start + offset, **progress._asdict()}
        if switch_map is not None and (i % POSTCOPY_MAP_EVERY == 0 or i == POSTCOPY_SAMPLES):
            left = progress.on_source_pages / sw.postcopy_pages if sw.postcopy_pages else 0.0
            event["memory_map"] = [v * left for v in switch_map]
            event["memory_map_width"] = width
        events.append(event)
    events.append({"kind": "phase_end", "phase": ph.POST_COPY, "t_s": start + push_s})
    return events


def _forwarding_events(result: MigrationResult, phase: ph.Phase) -> list[dict]:
    """Self-announcements and the forwarded-packet count over the brownout, in time order."""
    fwd = result.forwarding
    events = [
        {"kind": "announce", "t_s": phase.start_s + offset}
        for offset in fwd.announcements_s
        if offset <= phase.duration_s
    ]
    points = 10
    for i in range(points + 1):
        share = i / points
        events.append(
            {
                "kind": "forwarding",
                "t_s": phase.start_s + fwd.fabric_convergence_s * share,
                "forwarded_packets": fwd.forwarded_packets * share,
                "lost_packets": fwd.lost_packets * share,
            }
        )
    return sorted(events, key=lambda e: e["t_s"])
