"""Lessons on one VM's migration: each runs ``simulate`` (once, or twice to compare) and reads
the answer, the explanation and the chart from the results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrationsim import build_spec, outcomes, simulate, stream
from migrationsim.migration import MigrationResult
from migrationsim.phases import POST_MIGRATION_BROWNOUT, PRE_MIGRATION_BROWNOUT

from .base import Choice, Lesson, Outcome, bytes_, count, duration, mib, rate, share

MAX_CHART_POINTS = 400  # a chart shows at most this many rounds of one run (evenly picked)
SAME_WITHIN = 0.10  # two times within 10 % of each other are "about the same"
SAME_BLACKOUT_S = 1e-4  # blackouts closer than 0.1 ms are "the same"
FOCUS_RATIO = 5  # a chart whose longest run is this many times its shortest focuses on the latter
FOCUS_ROOM = 2.5  # ... showing this many times the shorter run's pre-copy


# --- reading a run ------------------------------------------------------------------------------


def _run(params: Mapping[str, Any]) -> MigrationResult:
    return simulate(build_spec(**params))


def _live(result: MigrationResult) -> list:
    return [r for r in result.rounds if r.phase == "live"]


def _live_rate_bps(result: MigrationResult) -> float:
    """The rate the live rounds were sent at (round 0's: the whole memory at the capped rate)."""
    live = _live(result)
    return live[0].rate_bps if live else result.spec.live_rate_cap_bps


def _min_pending_bytes(result: MigrationResult) -> float:
    return min((r.pending_after_bytes for r in _live(result)), default=0.0)


def _key_numbers(result: MigrationResult) -> dict:
    """The figures a lesson compares, raw (the page caches outcomes: no per-round lists)."""
    return {
        "outcome": result.outcome,
        "converged": result.stop.converged,
        "live_rounds": result.precopy.live_rounds,
        "precopy_time_s": result.precopy.time_s,
        "blackout_s": result.switchover.blackout_s,
        "total_time_s": result.total_time_s,
        "bytes_sent": result.bytes_sent,
    }


def _written_bytes(spec) -> float:
    """The memory the guest keeps writing (its working sets): what is pending after a round
    can never be more than this, however fast the guest writes."""
    return sum(ws.size_bytes for ws in spec.working_sets)


def _hot_set(spec):
    """The working set written fastest (where the guest's writes mostly land)."""
    return max(spec.working_sets, key=lambda ws: ws.write_rate_bps, default=None)


def _phase(result: MigrationResult, name: str):
    return next((p for p in result.phases if p.name == name), None)


def _describe_vm(spec) -> list[str]:
    words = [
        f"a guest with {bytes_(spec.memory_bytes)} of memory"
        + (f" running the {spec.workload} workload" if spec.workload else "")
        + f" that dirties {rate(spec.dirty_rate_bps)} across {bytes_(_written_bytes(spec))}",
        f"{spec.policy} policy on a {rate(spec.bandwidth_bps)} link",
    ]
    if spec.max_bandwidth_bps is None:
        words.append("live rounds not capped")
    elif spec.max_bandwidth_bps < spec.bandwidth_bps:
        words.append(f"live rounds capped at {rate(spec.max_bandwidth_bps)}")
    words.append(f"downtime limit {duration(spec.downtime_limit_s)}")
    if spec.auto_converge:
        words.append("auto-converge on")
    if spec.post_copy:
        words.append("post-copy on")
    words.append(
        "the guest watches maintenance-event"
        if spec.guest_watches
        else "the guest does not watch maintenance-event"
    )
    words.append(
        f"the source forwards packets until the fabric converges ({duration(spec.fabric_convergence_s)})"
        if spec.forwarding
        else f"no packet forwarding (the fabric converges in {duration(spec.fabric_convergence_s)})"
    )
    if spec.policy in ("qemu", "gce"):
        words.append(
            f"the operator's completion timeout is {duration(spec.completion_timeout_s)} "
            f"({spec.timeout_action})"
        )
    return words


def describe_runs(labels: Mapping[str, str]):
    """A ``describe`` for single-VM lessons: each run's label and its parameters in words."""

    def describe(runs: Mapping[str, Any]) -> tuple[str, ...]:
        lines, first = [], None
        for key, params in runs.items():
            words = _describe_vm(build_spec(**params))
            if first is None:
                first = words
                lines.append(f"{labels.get(key, key)}: {', '.join(words)}.")
            else:
                differ = [w for w in words if w not in first]
                lines.append(
                    f"{labels.get(key, key)}: the same guest, but {', '.join(differ)}."
                    if differ
                    else f"{labels.get(key, key)}: the same again."
                )
        return tuple(lines)

    return describe


def _pending_traces(result: MigrationResult, name: str) -> list[dict]:
    """Pending bytes (MiB) at the end of each live round and the threshold QEMU compared it
    with, over seconds of pre-copy."""
    live = _live(result)
    step = max(1, len(live) // MAX_CHART_POINTS)
    shown = live[::step] + ([live[-1]] if live and (len(live) - 1) % step else [])
    x = [r.start_s + r.duration_s * r.repeat for r in shown]
    return [
        {
            "name": f"{name}: pending",
            "x": [0.0, *x],
            "y": [mib(result.spec.memory_bytes), *(mib(r.pending_after_bytes) for r in shown)],
            "type": "scatter",
            "mode": "lines",
        },
        {
            "name": f"{name}: threshold",
            "x": x,
            "y": [mib(r.threshold_bytes) for r in shown],
            "type": "scatter",
            "mode": "lines",
            "line": {"dash": "dot"},
        },
    ]


def _pending_chart(traces: list[dict]) -> dict:
    return {
        "title": "Pending memory after each live round",
        "x_title": "seconds of pre-copy",
        "y_title": "MiB still to send",
        "y_type": "log",
        "traces": traces,
    }


def _focused(chart: dict, results, label) -> dict:
    """A chart whose runs end far apart (one converged in a minute, one ran on for twenty)
    first shows the span of the shorter with room after it, so its points are not squeezed into
    the first few percent of the axis; the title says what runs on beyond it (the chart's
    autorange, a double-click, shows it all)."""
    ends = sorted((r.precopy.time_s, i) for i, r in enumerate(results))
    (short_s, _), (long_s, longest) = ends[0], ends[-1]
    if short_s <= 0 or long_s < FOCUS_RATIO * short_s:
        return chart
    shown_s = FOCUS_ROOM * short_s
    return {
        **chart,
        "x_range": [0.0, shown_s],
        "title": f"{chart['title']}: the first {duration(shown_s)} (the run with "
        f"{label(results[longest])} went on to {duration(long_s)}; double-click the chart to "
        f"see it all)",
    }


def _verdict(lesson_choices: tuple[Choice, ...], answer: str, happened: str) -> str:
    right = next((c.text for c in lesson_choices if c.key == answer), None)
    if right is None:
        return f"{happened} None of the predictions describes that."
    return f"{happened} So the answer is: {right[0].lower() + right[1:]}."


# --- 1. a write-heavy guest ---------------------------------------------------------------------

WRITE_HEAVY_CHOICES = (
    Choice("converges", "It converges after a few more rounds than usual, then pauses briefly"),
    Choice("long_blackout", "QEMU stops waiting and pauses the guest as long as the rest takes"),
    Choice(
        "never",
        "Pending never falls to the threshold: pre-copy runs until the operator's timeout "
        "abandons the migration",
    ),
)


def _write_heavy_answer(result: MigrationResult) -> str:
    if result.stop.converged:
        return "converges"
    return "never" if result.outcome == "aborted" else "long_blackout"


def teach_write_heavy(runs: Mapping[str, Any]) -> Outcome:
    (params,) = runs.values()
    result = _run(params)
    spec = result.spec
    live = _live(result)
    live_bps = _live_rate_bps(result)
    dirty_bps = spec.dirty_rate_bps
    pending0 = live[0].pending_after_bytes if live else 0.0
    lowest = _min_pending_bytes(result)
    threshold = result.precopy.threshold_bytes
    sent = result.bytes_sent
    answer = _write_heavy_answer(result)
    paragraphs = [
        f"The guest dirtied memory at {rate(dirty_bps)}; the live rounds sent at "
        f"{rate(live_bps)}: the guest wrote {dirty_bps / live_bps:.2f} times as fast as "
        f"pre-copy copied.",
        f"Round 0 copied all {bytes_(spec.memory_bytes)}; by its end {bytes_(pending0)} "
        f"were dirty again. QEMU switches over only when what is left fits in the downtime "
        f"limit: at most {bytes_(threshold)} (the measured bandwidth x "
        f"{duration(spec.downtime_limit_s)}).",
    ]
    if result.stop.converged:
        paragraphs.append(
            f"After {result.precopy.live_rounds} live rounds ({duration(result.precopy.time_s)}) "
            f"pending fell to {bytes_(lowest)}, under the threshold, and the guest paused for "
            f"{duration(result.switchover.blackout_s)}."
        )
    else:
        paragraphs.append(
            f"Over {result.precopy.live_rounds} live rounds pending never fell below "
            f"{bytes_(lowest)}, {lowest / max(threshold, 1):.1f} times the threshold: each "
            f"round took long enough for the guest to dirty as much again, and it writes "
            f"across {bytes_(_written_bytes(spec))}, far more than the threshold lets through."
        )
    paragraphs.append(
        f"{result.stop.message} In {duration(result.precopy.time_s)} of pre-copy it sent "
        f"{bytes_(sent)}, {sent / spec.memory_bytes:.1f} times the guest's memory."
    )
    if not result.stop.converged:
        paragraphs.append(
            "A guest that rewrites more memory in a round than the threshold lets through "
            "cannot converge by waiting: something must slow its writes (auto-converge), change "
            "the method (post-copy), or allow a pause long enough for what it rewrites. How "
            "fast it writes is only half of it: a guest that writes even faster, but into less "
            "memory, can converge (the lesson on the downtime limit shows one)."
        )
    happened = (
        f"The run {'converged' if result.stop.converged else 'did not converge'} "
        f"({'' if result.stop.converged else outcomes.label(result.stop.reason) + '; '}"
        f"outcome: {outcomes.label(result.outcome)})."
    )
    return Outcome(
        answer=answer,
        verdict=_verdict(WRITE_HEAVY_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=("this run",),
        figures=(
            ("dirty rate", (rate(dirty_bps),)),
            ("live copy rate", (rate(live_bps),)),
            ("switch-over threshold", (bytes_(threshold),)),
            ("lowest pending", (bytes_(lowest),)),
            ("live rounds", (count(result.precopy.live_rounds),)),
            ("pre-copy time", (duration(result.precopy.time_s),)),
            ("bytes sent", (bytes_(sent),)),
            ("outcome", (result.outcome,)),
        ),
        chart=_pending_chart(_pending_traces(result, "this run")),
        numbers={
            "dirty_rate_bps": dirty_bps,
            "live_rate_bps": live_bps,
            "threshold_bytes": threshold,
            "lowest_pending_bytes": lowest,
            "live_rounds": result.precopy.live_rounds,
            "precopy_time_s": result.precopy.time_s,
            "bytes_sent": sent,
            "outcome": result.outcome,
        },
    )


WRITE_HEAVY_LABELS = {"guest": "The write-heavy guest"}

WRITE_HEAVY = Lesson(
    slug="write-heavy-never-converges",
    title="Why a write-heavy VM never converges",
    summary="Pre-copy against a guest that rewrites memory faster than the link copies it.",
    question="This guest rewrites its memory faster than QEMU copies it live. What happens to "
    "pre-copy?",
    choices=WRITE_HEAVY_CHOICES,
    runs=(("guest", {"memory": "8GiB", "workload": "cache"}),),
    describe=describe_runs(WRITE_HEAVY_LABELS),
    labels=WRITE_HEAVY_LABELS,
    teach=teach_write_heavy,
    topics=("anatomy", "run"),
)


# --- 2. what the downtime limit trades ----------------------------------------------------------

DOWNTIME_CHOICES = (
    Choice(
        "same",
        "Both converge in about the same time: the looser limit only lengthens the blackout",
    ),
    Choice(
        "trade", "Both converge; the looser limit ends pre-copy clearly sooner, for a longer pause"
    ),
    Choice("unlock", "Only the looser limit converges; with the tighter one the migration fails"),
    Choice("neither", "Neither converges: the limit makes no difference for this guest"),
)


def _downtime_answer(tight: MigrationResult, loose: MigrationResult) -> str:
    a, b = tight.stop.converged, loose.stop.converged
    if a and b:
        saved = (tight.total_time_s - loose.total_time_s) / tight.total_time_s
        return "trade" if saved > SAME_WITHIN else "same"
    if b:
        return "unlock"
    return "neither" if not a else ""


def _limit_label(result: MigrationResult) -> str:
    return f"limit {duration(result.spec.downtime_limit_s)}"


def _limit_sentence(result: MigrationResult) -> str:
    spec, pre = result.spec, result.precopy
    start = (
        f"With a {duration(spec.downtime_limit_s)} limit QEMU waits until at most "
        f"{bytes_(pre.threshold_bytes)} is pending ({rate(_live_rate_bps(result))} measured x "
        f"{duration(spec.downtime_limit_s)})."
    )
    if result.stop.converged:
        return (
            f"{start} Pending reached {bytes_(_min_pending_bytes(result))} after "
            f"{pre.live_rounds} live rounds ({duration(pre.time_s)}); the guest paused for "
            f"{duration(result.switchover.blackout_s)} while the last "
            f"{bytes_(result.switchover.final_bytes)} crossed at the full link rate "
            f"({rate(spec.bandwidth_bps)}). {bytes_(result.bytes_sent)} sent in all."
        )
    return (
        f"{start} Pending never fell below {bytes_(_min_pending_bytes(result))}: after "
        f"{count(pre.live_rounds)} live rounds and {duration(pre.time_s)} the migration "
        f"ended {result.outcome}, {bytes_(result.bytes_sent)} sent."
    )


def teach_downtime_limit(runs: Mapping[str, Any]) -> Outcome:
    results = sorted((_run(p) for p in runs.values()), key=lambda r: r.spec.downtime_limit_s)
    tight, loose = results[0], results[-1]
    answer = _downtime_answer(tight, loose)
    paragraphs = [_limit_sentence(tight), _limit_sentence(loose)]
    if tight.stop.converged and loose.stop.converged:
        paragraphs.append(
            f"The looser limit paused the guest for {duration(loose.switchover.blackout_s)} "
            f"instead of {duration(tight.switchover.blackout_s)} and ended the migration "
            f"after {duration(loose.total_time_s)} instead of {duration(tight.total_time_s)}."
        )
    elif loose.stop.converged:
        paragraphs.append(
            f"The looser limit bought the whole migration: a {duration(loose.switchover.blackout_s)} "
            f"pause instead of {duration(tight.precopy.time_s)} of copying for nothing. What this "
            f"guest rewrites all the time cannot fit under {bytes_(tight.precopy.threshold_bytes)}, "
            f"but fits under {bytes_(loose.precopy.threshold_bytes)}."
        )
    hot = _hot_set(loose.spec)
    if loose.stop.converged and hot is not None:
        live_bps = _live_rate_bps(loose)
        # the rest of its writes, named: pending (83.8 MiB) above the hot set (81.9 MiB) read as
        # a contradiction of "never more than the memory written to"
        rest = [ws for ws in loose.spec.working_sets if ws is not hot]
        rest_said = (
            f" (the other {rate(sum(ws.write_rate_bps for ws in rest))} spread over "
            f"{bytes_(sum(ws.size_bytes for ws in rest))})"
            if rest
            else ""
        )
        pending_said = (
            f"what was rewritten during it: the {bytes_(hot.size_bytes)} plus the little of the "
            f"rest it touched meanwhile"
            if rest
            else "what was rewritten during it, never more than the memory written to"
        )
        paragraphs.append(
            f"This guest writes {rate(loose.spec.dirty_rate_bps)}, "
            f"{loose.spec.dirty_rate_bps / live_bps:.1f} times as fast as pre-copy copies, and "
            f"still converged under the looser limit: {rate(hot.write_rate_bps)} of its writes "
            f"land in the same {bytes_(hot.size_bytes)}, rewritten again and again{rest_said}. "
            f"What is pending after a round is {pending_said}: how fast the guest writes "
            f"decides how quickly that fills up again, how much memory it writes decides where "
            f"pending stays."
        )
    for result in (tight, loose):
        spec = result.spec
        if result.stop.converged and result.switchover.blackout_s < spec.downtime_limit_s / 2:
            paragraphs.append(
                f"With the {duration(spec.downtime_limit_s)} limit the blackout "
                f"({duration(result.switchover.blackout_s)}) stayed well under the limit: the "
                f"threshold is worked out from the live rate ({rate(_live_rate_bps(result))}), "
                f"but the final copy runs at the full link rate ({rate(spec.bandwidth_bps)})."
            )
            break
    happened = (
        f"The {duration(tight.spec.downtime_limit_s)} limit "
        f"{'converged' if tight.stop.converged else 'did not converge'}; the "
        f"{duration(loose.spec.downtime_limit_s)} limit "
        f"{'converged' if loose.stop.converged else 'did not converge'}."
    )
    return Outcome(
        answer=answer,
        verdict=_verdict(DOWNTIME_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=(_limit_label(tight), _limit_label(loose)),
        figures=_compare_figures(tight, loose),
        chart=_focused(
            _pending_chart(
                _pending_traces(tight, _limit_label(tight))
                + _pending_traces(loose, _limit_label(loose))
            ),
            (tight, loose),
            _limit_label,
        ),
        numbers={
            "tight": _key_numbers(tight),
            "loose": _key_numbers(loose),
        },
    )


def _compare_figures(*results: MigrationResult) -> tuple:
    def row(label, read):
        return (label, tuple(read(r) for r in results))

    return (
        row("outcome", lambda r: f"{r.outcome} ({r.stop.reason.replace('_', ' ')})"),
        row("threshold", lambda r: bytes_(r.precopy.threshold_bytes)),
        row("live rounds", lambda r: count(r.precopy.live_rounds)),
        row("pre-copy time", lambda r: duration(r.precopy.time_s)),
        row(
            "blackout",
            lambda r: duration(r.switchover.blackout_s) if r.outcome == "migrated" else "none",
        ),
        row("first byte to done", lambda r: duration(r.total_time_s)),
        row("bytes sent", lambda r: bytes_(r.bytes_sent)),
        row("most throttled", lambda r: share(r.precopy.throttle_max)),
    )


DOWNTIME_LABELS = {"tight": "Tight limit", "loose": "Looser limit"}

DOWNTIME_LIMIT = Lesson(
    slug="downtime-limit-trade",
    title="What the downtime limit trades",
    summary="The same guest under a tighter and a looser downtime limit.",
    question="The same guest is migrated twice, once with a tight downtime limit and once with "
    "a looser one. What does the looser limit change?",
    choices=DOWNTIME_CHOICES,
    runs=(
        ("tight", {"memory": "8GiB", "workload": "ingest", "downtime_limit": "300ms"}),
        ("loose", {"memory": "8GiB", "workload": "ingest", "downtime_limit": "1s"}),
    ),
    describe=describe_runs(DOWNTIME_LABELS),
    labels=DOWNTIME_LABELS,
    teach=teach_downtime_limit,
    topics=("anatomy", "run"),
)


# --- 3. auto-converge against post-copy ---------------------------------------------------------

AIDS_CHOICES = (
    Choice(
        "auto_converge", "Auto-converge finishes first: throttling the vCPUs brings pre-copy home"
    ),
    Choice(
        "post_copy",
        "Post-copy finishes first: after one pass the guest runs on the target and pulls the rest",
    ),
    Choice("tie", "They take about as long"),
)


def _aids_answer(auto: MigrationResult, post: MigrationResult) -> str:
    done = {k: r.outcome == "migrated" for k, r in (("auto", auto), ("post", post))}
    if done["auto"] != done["post"]:
        return "auto_converge" if done["auto"] else "post_copy"
    a, b = auto.total_time_s, post.total_time_s
    if abs(a - b) <= SAME_WITHIN * max(a, b):
        return "tie"
    return "auto_converge" if a < b else "post_copy"


def teach_aids(runs: Mapping[str, Any]) -> Outcome:
    auto, post = (_run(p) for p in runs.values())
    answer = _aids_answer(auto, post)
    pre = auto.precopy
    throttled = [r for r in _live(auto) if r.throttle > 0]
    paragraphs = []
    if throttled:
        since = throttled[0].start_s
        paragraphs.append(
            f"Auto-converge: pre-copy ran {count(pre.live_rounds)} live rounds in "
            f"{duration(pre.time_s)}. From {duration(since)} on QEMU throttled the vCPUs, up to "
            f"{share(pre.throttle_max)} of their time, so the guest ran slower for "
            f"{duration(pre.time_s - since)}; then a {duration(auto.switchover.blackout_s)} "
            f"blackout ({auto.outcome}, {bytes_(auto.bytes_sent)} sent)."
        )
    else:
        paragraphs.append(
            f"Auto-converge never throttled: pre-copy ran {count(pre.live_rounds)} live rounds "
            f"in {duration(pre.time_s)}, then a {duration(auto.switchover.blackout_s)} blackout "
            f"({auto.outcome})."
        )
    sw = post.switchover
    if sw.kind == "post_copy":
        paragraphs.append(
            f"Post-copy: one pass of {count(post.precopy.live_rounds)} live round"
            f"{'s' if post.precopy.live_rounds != 1 else ''} ({duration(post.precopy.time_s)}), "
            f"a {duration(sw.blackout_s)} blackout, then the guest ran on the target while "
            f"{bytes_(sw.postcopy_bytes)} still on the source were pushed or fetched in "
            f"{duration(sw.postcopy_s)}. {count(sw.postcopy_faults)} times it touched a page not "
            f"there yet and waited {duration(post.spec.postcopy_fault_latency_s)} for it "
            f"({duration(sw.postcopy_stall_s)} of stalls added up). For those "
            f"{duration(sw.postcopy_s)} the guest's memory lived on two hosts: had either failed, "
            f"the VM was lost."
        )
    else:
        paragraphs.append(
            f"Post-copy was never needed: pre-copy stopped ({post.stop.reason.replace('_', ' ')}) "
            f"after {duration(post.precopy.time_s)}, a {duration(sw.blackout_s)} blackout."
        )
    a, b = auto.total_time_s, post.total_time_s
    paragraphs.append(
        f"From the first copied byte until the source was no longer needed: auto-converge "
        f"{duration(a)}, post-copy {duration(b)}. Auto-converge sent "
        f"{bytes_(auto.bytes_sent)}, post-copy {bytes_(post.bytes_sent)}."
    )
    happened = f"Auto-converge took {duration(a)} and post-copy {duration(b)}."
    return Outcome(
        answer=answer,
        verdict=_verdict(AIDS_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=("auto-converge", "post-copy"),
        figures=_compare_figures(auto, post)
        + (
            (
                "post-copy phase",
                tuple(
                    duration(r.switchover.postcopy_s)
                    if r.switchover.kind == "post_copy"
                    else "none"
                    for r in (auto, post)
                ),
            ),
        ),
        chart=_pending_chart(
            _pending_traces(auto, "auto-converge") + _pending_traces(post, "post-copy")
        ),
        numbers={"auto": _key_numbers(auto), "post": _key_numbers(post)},
    )


AIDS_LABELS = {"auto_converge": "Auto-converge", "post_copy": "Post-copy"}

AIDS = Lesson(
    slug="auto-converge-vs-post-copy",
    title="Auto-converge against post-copy on the same guest",
    summary="Two ways out for a guest that never converges, on the same guest.",
    question="A guest that never converges by itself is migrated twice: once with auto-converge "
    "(QEMU throttles its vCPUs), once with post-copy. Which one finishes first?",
    choices=AIDS_CHOICES,
    runs=(
        ("auto_converge", {"memory": "8GiB", "workload": "cache", "auto_converge": True}),
        ("post_copy", {"memory": "8GiB", "workload": "cache", "post_copy": True}),
    ),
    describe=describe_runs(AIDS_LABELS),
    labels=AIDS_LABELS,
    teach=teach_aids,
    topics=("anatomy", "run"),
)


# --- 4. what the 60 s notice buys ---------------------------------------------------------------

NOTICE_CHOICES = (
    Choice("faster", "The warned guest migrates faster: its blackout is shorter"),
    Choice(
        "prepare",
        "The migration is the same; the warned guest gets time to prepare before anything moves, "
        "and the maintenance takes that much longer",
    ),
    Choice("no_blackout", "The warned guest skips the blackout"),
)


def _notice_answer(watches: MigrationResult, ignores: MigrationResult) -> str:
    bw, bi = watches.switchover.blackout_s, ignores.switchover.blackout_s
    if watches.outcome == "migrated" and bw == 0:
        return "no_blackout"
    if bw < bi * (1 - 1e-9):
        return "faster"
    if abs(bw - bi) <= 1e-9 * max(bi, 1e-12) and watches.notice_s > ignores.notice_s:
        return "prepare"
    return ""


def _warning(notice_s: float) -> str:
    return f"{duration(notice_s)} of warning" if notice_s > 0 else "no warning"


def _blackout_change(diff_s: float, blackout_s: float) -> str:
    """How the notice changed the blackout, without a '0 ms' for nothing."""
    if abs(diff_s) < SAME_BLACKOUT_S:
        return (
            f"The notice did not change the blackout ({duration(blackout_s)} both times, the "
            f"same to within {duration(SAME_BLACKOUT_S)})."
        )
    return f"The notice changed the blackout by {duration(abs(diff_s))}."


def _trip(result: MigrationResult) -> str:
    copy = _phase(result, PRE_MIGRATION_BROWNOUT)
    blackout = _phase(result, "blackout")
    where = (
        f"pre-copy began at {duration(copy.start_s)} and the blackout at "
        f"{duration(blackout.start_s)} lasted {duration(blackout.duration_s)}"
        if blackout
        else f"pre-copy began at {duration(copy.start_s)}"
    )
    return f"{where}; everything was over at {duration(result.phases[-1].end_s)}"


def teach_notice(runs: Mapping[str, Any]) -> Outcome:
    results = sorted((_run(p) for p in runs.values()), key=lambda r: -r.notice_s)
    watches, ignores = results[0], results[-1]
    answer = _notice_answer(watches, ignores)
    end_w, end_i = watches.phases[-1].end_s, ignores.phases[-1].end_s
    diff = watches.switchover.blackout_s - ignores.switchover.blackout_s
    paragraphs = [
        f"The guest that watches maintenance-event saw it turn to {watches.notice_value} at "
        f"t = 0 and had {duration(watches.notice_s)} before anything moved: {_trip(watches)}.",
        f"The guest that never read the key got {_warning(ignores.notice_s)}: {_trip(ignores)}.",
        f"{_blackout_change(diff, watches.switchover.blackout_s)} It moved everything "
        f"{duration(end_w - end_i)} later; the maintenance took {duration(end_w)} instead of "
        f"{duration(end_i)}.",
        f"What the {duration(watches.notice_s)} buy is time for the guest itself: to drain "
        f"connections, flush or checkpoint, or hand its work to a replica before the brownout "
        f"starts. The migration does not go faster for it.",
    ]
    happened = (
        f"The watching guest's blackout was {duration(watches.switchover.blackout_s)}, the "
        f"other's {duration(ignores.switchover.blackout_s)}; the watcher's started "
        f"{duration(end_w - end_i)} later."
    )
    traces = [
        {
            "name": name.replace("_", " "),
            "phase": name,  # the web page colours and names phases as the anatomy page does
            "y": ["watches the key", "does not watch"],
            "x": [
                next((p.duration_s for p in r.phases if p.name == name), 0.0)
                for r in (watches, ignores)
            ],
            "type": "bar",
            "orientation": "h",
        }
        for name in [p.name for p in watches.phases]
    ]
    return Outcome(
        answer=answer,
        verdict=_verdict(NOTICE_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=("watches the key", "does not watch"),
        figures=(
            (
                "warning",
                tuple(
                    duration(r.notice_s) if r.notice_s > 0 else "none" for r in (watches, ignores)
                ),
            ),
            (
                "pre-copy starts at",
                tuple(
                    duration(_phase(r, PRE_MIGRATION_BROWNOUT).start_s) for r in (watches, ignores)
                ),
            ),
            (
                "blackout",
                (
                    duration(watches.switchover.blackout_s),
                    duration(ignores.switchover.blackout_s),
                ),
            ),
            ("all over at", (duration(end_w), duration(end_i))),
        ),
        chart={
            "title": "The phases, from the maintenance trigger",
            "x_title": "seconds from the trigger",
            "y_title": "",
            "barmode": "stack",
            "traces": traces,
        },
        numbers={"watches": _key_numbers(watches), "ignores": _key_numbers(ignores)},
    )


NOTICE_LABELS = {"watches": "Watching guest", "ignores": "Other guest"}

NOTICE = Lesson(
    slug="maintenance-event-notice",
    title="What the 60 s notice buys a guest that watches maintenance-event",
    summary="The same guest, once watching the metadata key and once not.",
    question="One guest polls the maintenance-event metadata key, the other never reads it. "
    "What does the warning change for the watching guest?",
    choices=NOTICE_CHOICES,
    runs=(
        ("watches", {"memory": "8GiB", "workload": "web", "guest_watches": True}),
        ("ignores", {"memory": "8GiB", "workload": "web", "guest_watches": False}),
    ),
    describe=describe_runs(NOTICE_LABELS),
    labels=NOTICE_LABELS,
    teach=teach_notice,
    topics=("anatomy", "run", "fleet"),
)


# --- 5. why the post-migration brownout forwards packets ----------------------------------------

FORWARDING_CHOICES = (
    Choice("none", "None: QEMU's self-announcements redirect the traffic at once"),
    Choice("blackout", "Only those that arrive during the blackout"),
    Choice("convergence", "All those that reach the old host until the fabric converges"),
)


def _forwarding_series(params: Mapping[str, Any]) -> tuple[list[float], ...]:
    """The engine's own forwarding events: (seconds after resume, forwarded, lost, and the
    seconds after resume of QEMU's self-announcements)."""
    events = list(stream(build_spec(**params), memory_map_cells=1))
    start = next(
        e["t_s"]
        for e in events
        if e["kind"] == "phase_start" and e["phase"] == POST_MIGRATION_BROWNOUT
    )
    points = [e for e in events if e["kind"] == "forwarding"]
    return (
        [e["t_s"] - start for e in points],
        [e["forwarded_packets"] for e in points],
        [e["lost_packets"] for e in points],
        [e["t_s"] - start for e in events if e["kind"] == "announce"],
    )


def _forwarding_answer(without: MigrationResult) -> str:
    lost = without.forwarding.lost_packets if without.forwarding else 0.0
    if lost <= 0:
        return "none"
    lost_s = lost / without.spec.packet_rate_pps
    by_blackout = abs(lost_s - without.switchover.blackout_s)
    by_fabric = abs(lost_s - without.forwarding.fabric_convergence_s)
    return "convergence" if by_fabric <= by_blackout else "blackout"


def teach_forwarding(runs: Mapping[str, Any]) -> Outcome:
    pairs = sorted(((_run(p), p) for p in runs.values()), key=lambda rp: not rp[0].spec.forwarding)
    (with_, with_params), (without, without_params) = pairs[0], pairs[-1]
    answer = _forwarding_answer(without)
    spec, fwd, lost = with_.spec, with_.forwarding, without.forwarding
    pps = spec.packet_rate_pps
    stale = fwd.forwarded_packets + fwd.lost_packets
    announce = ", ".join(f"{t * 1000:.0f}" for t in fwd.announcements_s)
    paragraphs = [
        f"The guest receives {count(pps)} packets/s. After it resumed on the target the fabric "
        f"took {duration(fwd.fabric_convergence_s)} to send its traffic there; QEMU announced "
        f"the move at {announce} ms. Until then {count(stale)} packets still reached the old "
        f"host.",
        f"With forwarding the source sent {count(fwd.forwarded_packets)} of them on to the "
        f"target, each {duration(fwd.added_latency_s)} late (one more hop), and lost "
        f"{count(fwd.lost_packets)}.",
        f"Without forwarding {count(lost.lost_packets)} packets were dropped: "
        f"{duration(lost.lost_packets / pps)} of the guest's traffic, which TCP must retransmit "
        f"and UDP simply loses. The blackout itself lasted only "
        f"{duration(without.switchover.blackout_s)}.",
        f"That is why the post-migration brownout lasts {duration(fwd.duration_s)}: the guest "
        f"already runs on the target, but until the fabric converges the source keeps "
        f"forwarding.",
    ]
    happened = (
        f"Without forwarding {count(lost.lost_packets)} packets were lost, "
        f"{duration(lost.lost_packets / pps)} of traffic; the blackout was "
        f"{duration(without.switchover.blackout_s)} and the fabric took "
        f"{duration(lost.fabric_convergence_s)}."
    )
    t_with, forwarded, _, announced = _forwarding_series(with_params)
    t_without, _, dropped, _ = _forwarding_series(without_params)
    return Outcome(
        answer=answer,
        verdict=_verdict(FORWARDING_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=("forwarding", "no forwarding"),
        figures=(
            ("packets/s to the guest", (count(pps), count(without.spec.packet_rate_pps))),
            (
                "fabric convergence",
                (duration(fwd.fabric_convergence_s), duration(lost.fabric_convergence_s)),
            ),
            ("packets forwarded", (count(fwd.forwarded_packets), count(lost.forwarded_packets))),
            ("packets lost", (count(fwd.lost_packets), count(lost.lost_packets))),
            (
                "blackout",
                (duration(with_.switchover.blackout_s), duration(without.switchover.blackout_s)),
            ),
        ),
        chart={
            "title": "Packets that reached the old host after the guest resumed",
            "x_title": "seconds after resume",
            "y_title": "packets (cumulative)",
            "traces": [
                {
                    "name": "forwarded (forwarding on)",
                    "x": t_with,
                    "y": forwarded,
                    "type": "scatter",
                    "mode": "lines",
                },
                {
                    "name": "lost (forwarding off)",
                    "x": t_without,
                    "y": dropped,
                    "type": "scatter",
                    "mode": "lines",
                    "line": {"dash": "dash"},
                },
                {
                    "name": "QEMU announces the move",
                    "x": announced,
                    "y": [0.0] * len(announced),
                    "type": "scatter",
                    "mode": "markers",
                    "marker": {"symbol": "triangle-up", "size": 12},
                },
            ],
        },
        numbers={"with": _key_numbers(with_), "without": _key_numbers(without)},
    )


FORWARDING_LABELS = {"forwarding": "Forwarding", "no_forwarding": "No forwarding"}

FORWARDING = Lesson(
    slug="post-migration-brownout-forwarding",
    title="Why the post-migration brownout forwards packets",
    summary="After the guest resumes on the target, its packets still reach the old host.",
    question="The guest has resumed on the target, but the network still delivers its packets "
    "to the old host for a while. If the old host did not forward them, which would the guest "
    "lose?",
    choices=FORWARDING_CHOICES,
    runs=(
        ("forwarding", {"memory": "8GiB", "workload": "web"}),
        (
            "no_forwarding",
            {"memory": "8GiB", "workload": "web", "forwarding": False},
        ),
    ),
    describe=describe_runs(FORWARDING_LABELS),
    labels=FORWARDING_LABELS,
    teach=teach_forwarding,
    topics=("anatomy", "run"),
)


# --- 7. what a faster link buys under QEMU's cap ------------------------------------------------

LINK_CHOICES = (
    Choice("scales", "Pre-copy finishes about as many times sooner as the link is faster"),
    Choice("blackout_only", "Pre-copy takes as long as before; only the blackout gets shorter"),
    Choice("nothing", "Nothing changes: the guest's writes set the pace, not the link"),
)


def _link_answer(slow: MigrationResult, fast: MigrationResult) -> str:
    link_ratio = fast.spec.bandwidth_bps / slow.spec.bandwidth_bps
    speedup = slow.precopy.time_s / fast.precopy.time_s
    if speedup >= link_ratio / 2:
        return "scales"
    if fast.switchover.blackout_s < slow.switchover.blackout_s * (1 - SAME_WITHIN):
        return "blackout_only"
    return "nothing"


def _link_label(result: MigrationResult) -> str:
    cap = result.spec.max_bandwidth_bps
    capped = f", capped at {rate(cap)}" if cap is not None else ", no cap"
    return f"{rate(result.spec.bandwidth_bps)}{capped}"


def teach_link(runs: Mapping[str, Any]) -> Outcome:
    slow, fast, *uncapped = (_run(p) for p in runs.values())
    answer = _link_answer(slow, fast)
    paragraphs = [
        f"The link became {fast.spec.bandwidth_bps / slow.spec.bandwidth_bps:.0f} times faster "
        f"({rate(slow.spec.bandwidth_bps)} to {rate(fast.spec.bandwidth_bps)}), but the live "
        f"rounds ran at {rate(_live_rate_bps(slow))} and {rate(_live_rate_bps(fast))}: QEMU's "
        f"max-bandwidth cap, not the link, set their pace. Pre-copy took "
        f"{duration(slow.precopy.time_s)} ({slow.precopy.live_rounds} live rounds) and "
        f"{duration(fast.precopy.time_s)} ({fast.precopy.live_rounds} live rounds).",
        f"The blackout is not capped: its final copy runs at the full link rate. It lasted "
        f"{duration(slow.switchover.blackout_s)} on the slower link (the last "
        f"{bytes_(slow.switchover.final_bytes)}) and {duration(fast.switchover.blackout_s)} on "
        f"the faster one (the last {bytes_(fast.switchover.final_bytes)}).",
    ]
    for free in uncapped:
        paragraphs.append(
            f"With the cap lifted ({_link_label(free)}) the live rounds ran at "
            f"{rate(_live_rate_bps(free))}: pre-copy took {duration(free.precopy.time_s)} in "
            f"{free.precopy.live_rounds} live round{'s' if free.precopy.live_rounds != 1 else ''}, "
            f"and the blackout was {duration(free.switchover.blackout_s)}: the threshold "
            f"({bytes_(free.precopy.threshold_bytes)}) is the measured bandwidth x the downtime "
            f"limit, so a faster measured rate lets QEMU stop with more left to copy."
        )
    happened = (
        f"Pre-copy took {duration(slow.precopy.time_s)} on {rate(slow.spec.bandwidth_bps)} and "
        f"{duration(fast.precopy.time_s)} on {rate(fast.spec.bandwidth_bps)}; the blackout "
        f"{duration(slow.switchover.blackout_s)} and {duration(fast.switchover.blackout_s)}."
    )
    results = (slow, fast, *uncapped)
    return Outcome(
        answer=answer,
        verdict=_verdict(LINK_CHOICES, answer, happened),
        explanation=tuple(paragraphs),
        columns=tuple(_link_label(r) for r in results),
        figures=(("live copy rate", tuple(rate(_live_rate_bps(r)) for r in results)),)
        + _compare_figures(*results),
        chart=_pending_chart([t for r in results for t in _pending_traces(r, _link_label(r))]),
        numbers={"slow": _key_numbers(slow), "fast": _key_numbers(fast)},
    )


LINK_LABELS = {
    "slow": "The link as it is",
    "fast": "A faster link",
    "uncapped": "The faster link, cap lifted",
}

LINK = Lesson(
    slug="faster-link-under-the-cap",
    title="What a faster link buys a QEMU migration",
    summary="The same guest on a much faster link, with QEMU's default bandwidth cap.",
    question="The same guest is migrated again over a much faster link, with QEMU's default "
    "settings. What does the faster link change?",
    choices=LINK_CHOICES,
    runs=(
        ("slow", {"memory": "8GiB", "workload": "web", "bandwidth": "10Gbit/s"}),
        ("fast", {"memory": "8GiB", "workload": "web", "bandwidth": "100Gbit/s"}),
        (
            "uncapped",
            {
                "memory": "8GiB",
                "workload": "web",
                "bandwidth": "100Gbit/s",
                "max_bandwidth": "none",
            },
        ),
    ),
    describe=describe_runs(LINK_LABELS),
    labels=LINK_LABELS,
    teach=teach_link,
    topics=("anatomy", "run"),
)
