"""The binding limit, computed: re-plan with each constraint relaxed in turn and name the one that
moves the makespan most, then every other one that alone also moves it by ``MOVES_PCT`` or more
(the most first, each with its own re-run's makespan), and every one that changes nothing.

A relaxation counts as a gain only when it does at least the same work: as few hosts not handled
and as few VMs not moved as the plan itself. One that shortens the makespan by leaving more
undone (fewer VMs moved is less to wait for) is shown with a note and never named as the binding
limit; one that does more work says so in the sentence.

Every relaxation is the same scenario (same seed, same VMs) with one limit loosened: counts and
bandwidths x4 (per-source-host, per-target-host, per-rack, per-customer and global caps; hosts
out at once; host NICs; rack uplinks and the spine; the per-migration bandwidth cap, QEMU's
128 MiB/s by default), the capacity headroom to 0, every host's vCPUs and memory x4 (the same VMs,
more room to place them), deadlines and windows removed. A cap no VM ever waited on is not
re-run: the engine would take exactly the same steps (a cap only acts by making a VM wait), so
its change is 0 by construction.

Cost: each relaxation is one more engine run. A scenario with more than ``SLICE_VMS`` VMs in
scope is analysed on a slice: its first event alone, on the first whole racks of that event's
host order holding about ``SLICE_VMS`` VMs, inside the whole fleet (every other host stays a
possible target), with the event's hosts-at-once limit, the global cap and the spine scaled to
the slice so it rolls through as many waves at the same pace. The table says which.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from migrationsim import humanize
from migrationsim.humanize import count
from migrationsim.spec import MAX_RATE_BPS, PARAMETERS, POLICY_DEFAULTS
from migrationsim.units import format_duration

from . import reasons as why
from .prediction import Prediction, observe
from .scenario import Scenario, _group_of_each_rack, rack_names_of

SLICE_VMS = 1000  # above this many VMs in scope, relaxations run on a slice
FACTOR = 4  # counts and rates are relaxed x4
# the limits on how many migrations run at once (relaxed, more of them share the same links)
CONCURRENCY = (
    "per_source_host",
    "per_target_host",
    "per_rack",
    "per_customer",
    "global",
    "hosts_at_once",
)
MOVES_PCT = 1.0  # a change under 1 % of the makespan "changes nothing"

# name -> (the words, the queued reason code that shows it acted, or None: always re-run)
CONSTRAINTS = {
    "per_source_host": ("per-source-host cap", why.CAP_SOURCE_HOST),
    "per_target_host": ("per-target-host cap", None),
    "per_rack": ("per-rack cap", why.CAP_RACK),
    "per_customer": ("per-customer cap", why.CAP_CUSTOMER),
    "global": ("global cap", why.CAP_GLOBAL),
    "hosts_at_once": ("hosts-out-at-once limit", None),
    "max_bandwidth": ("per-migration bandwidth cap", None),
    "nic": ("host NIC bandwidth", None),
    "uplink": ("rack uplink and spine bandwidth", None),
    "headroom": ("capacity headroom", None),
    "capacity": ("placement capacity", None),
    "deadline": ("deadline", None),
    "window": ("maintenance window", None),
}


def _rate(bps: float) -> str:
    """A rate as every page says one (``humanize.rate``: bits/s, as links are sold), so the
    per-migration cap reads '1.07 Gbit/s' here as in the single-VM pages."""
    return humanize.rate(bps)


def _edge(s: float) -> str:
    """A window's edge, a time after the event's start: '0 s' for its start, not '0 ms'."""
    return format_duration(s) if s else "0 s"


def _times(text: str) -> str:
    """A relaxed value, and by how much: '8 (x4)'."""
    return f"{text} (x{FACTOR})"


def _capacity(scenario: Scenario, factor: float = 1.0) -> str:
    """Every host group's vCPUs and memory: '64 vCPUs, 256.0 GiB per host'."""
    groups = sorted({(g.vcpus, g.memory_bytes) for g in scenario.racks})
    return (
        " / ".join(f"{int(v * factor)} vCPUs, {humanize.size(m * factor)}" for v, m in groups)
        + " per host"
    )


def _max_bandwidth(scenario: Scenario) -> float | None:
    """The per-migration cap as the single-VM model reads it: "", "none", "off" and
    "unlimited" are no cap, "policy" (or none given, or null) the policy's (a bare ``parse_rate``
    failed the plan on a cap of "" the schema had accepted)."""
    policy = scenario.policy
    value = policy.get("max_bandwidth", "policy")
    if (
        value is None or value == "policy"
    ):  # null is the policy's cap too, as ``build_spec`` reads it
        return POLICY_DEFAULTS[policy.get("policy", "qemu")]["max_bandwidth"]
    return PARAMETERS["max_bandwidth"].parse(value)


def _relaxed_rate(bps: float, most: float) -> tuple[float, str]:
    """A rate relaxed x``FACTOR``, but at most ``most`` (the single-VM model's fastest link,
    1e15 B/s: beyond it a relaxation's run failed the whole plan), and its words."""
    if bps * FACTOR <= most:
        return bps * FACTOR, _times(_rate(bps * FACTOR))
    return most, f"{_rate(most)} (the fastest modelled)"


def relaxations(scenario: Scenario) -> list[dict]:
    """The meaningful relaxations of this scenario: [{name, label, current, relaxed, apply}]."""
    caps = scenario.caps
    out = []

    def add(name, current, relaxed, apply, factor=1.0):
        out.append(
            {
                "name": name,
                "label": CONSTRAINTS[name][0],
                "current": current,
                "relaxed": relaxed,
                "apply": apply,
                "capacity_factor": factor,
            }
        )

    for name, attr in (
        ("per_source_host", "per_source_host"),
        ("per_target_host", "per_target_host"),
        ("per_rack", "per_rack"),
        ("per_customer", "per_customer"),
        ("global", "global_"),
    ):
        value = getattr(caps, attr)
        if value is not None:
            add(
                name,
                str(value),
                _times(str(value * FACTOR)),
                lambda s, a=attr, v=value: dataclasses.replace(
                    s, caps=dataclasses.replace(s.caps, **{a: v * FACTOR})
                ),
            )
    # a BIOS rollout takes one whole rack at a time whatever its limit (``Rollout``): its
    # limit is no constraint, and a row saying "30%, 10 of 32 hosts" would show one it never had
    limited = [ev for ev in scenario.events if ev.kind != "bios_rollout"]
    if any(_limit(ev, scenario) < _hosts(ev, scenario) for ev in limited):
        add(
            "hosts_at_once",
            ", ".join(_limit_text(ev, scenario) for ev in limited),
            _times(", ".join(str(_limit(ev, scenario) * FACTOR) for ev in limited)),
            lambda s: dataclasses.replace(
                s,
                events=tuple(
                    dataclasses.replace(ev, max_hosts_in_maintenance=_limit(ev, s) * FACTOR)
                    for ev in s.events
                ),
            ),
        )
    cap = _max_bandwidth(scenario)
    relaxed_cap, words = _relaxed_rate(cap or 0.0, MAX_RATE_BPS)
    if cap is not None and relaxed_cap > cap:  # (a cap at the fastest has nothing to relax)
        add(
            "max_bandwidth",
            _rate(cap),
            words,
            lambda s: dataclasses.replace(s, policy={**s.policy, "max_bandwidth": relaxed_cap}),
        )
    nics = sorted({g.nic_bps for g in scenario.racks})
    fastest_nic = MAX_RATE_BPS / scenario.migration_share  # a migration gets its share of it
    relaxed_nics = {n: _relaxed_rate(n, fastest_nic) for n in nics}
    if any(relaxed > n for n, (relaxed, _) in relaxed_nics.items()):
        add(
            "nic",
            " / ".join(_rate(n) for n in nics),
            " / ".join(words for _, words in relaxed_nics.values()),
            lambda s: dataclasses.replace(
                s,
                racks=tuple(
                    dataclasses.replace(g, nic_bps=_relaxed_rate(g.nic_bps, fastest_nic)[0])
                    for g in s.racks
                ),
            ),
        )
    if len(scenario.racks) > 1 or any(g.count > 1 for g in scenario.racks):
        ups = sorted({g.uplink_bps for g in scenario.racks})
        spine = scenario.spine_bps

        def uplinks(factor: float) -> str:
            text = " / ".join(_rate(u * factor) for u in ups)
            return text + (f", spine {_rate(spine * factor)}" if spine else "")

        add(
            "uplink",
            uplinks(1),
            _times(uplinks(FACTOR)),
            lambda s: dataclasses.replace(
                s,
                spine_bps=None if s.spine_bps is None else s.spine_bps * FACTOR,
                racks=tuple(
                    dataclasses.replace(g, uplink_bps=g.uplink_bps * FACTOR) for g in s.racks
                ),
            ),
        )
    if caps.headroom > 0:
        add(
            "headroom",
            humanize.percent(caps.headroom),
            humanize.percent(0.0),
            lambda s: dataclasses.replace(s, caps=dataclasses.replace(s.caps, headroom=0.0)),
        )
    add("capacity", _capacity(scenario), _times(_capacity(scenario, FACTOR)), lambda s: s, FACTOR)
    deadlines = [ev for ev in scenario.events if ev.deadline_s is not None]
    if deadlines:
        add(
            "deadline",
            ", ".join(format_duration(ev.deadline_s) for ev in deadlines),
            "none",
            lambda s: dataclasses.replace(
                s, events=tuple(dataclasses.replace(ev, deadline_s=None) for ev in s.events)
            ),
        )
    windows = [ev for ev in scenario.events if ev.window is not None]
    if windows:
        add(
            "window",
            ", ".join(
                # a daily window from the event's start: '0 s-5 min 0 s daily', not '0 ms-...'
                f"{_edge(ev.window[0])}-{_edge(ev.window[1])} daily"
                for ev in windows
            ),
            "always open",
            lambda s: dataclasses.replace(
                s, events=tuple(dataclasses.replace(ev, window=None) for ev in s.events)
            ),
        )
    return out


def _hosts(ev, scenario: Scenario) -> int:
    if ev.scope_zone:
        return scenario.host_count
    return len(_scope_names(ev, scenario))


def _scope_names(ev, scenario: Scenario) -> list[str]:
    names = []
    racks, hosts, zones = set(ev.scope_racks), set(ev.scope_hosts), set(ev.scope_zones)
    for rack, g in zip(
        rack_names_of(scenario.racks), _group_of_each_rack(scenario.racks), strict=False
    ):
        in_zone = (g.zone or scenario.zone) in zones
        for j in range(g.hosts):
            host = f"{rack}-h{j + 1}"
            if ev.scope_zone or in_zone or rack in racks or host in hosts:
                names.append(host)
    return names


def _limit(ev, scenario: Scenario) -> int:
    """The event's hosts-at-once limit as a count (the engine's rule, ``Rollout``)."""
    limit = ev.max_hosts_in_maintenance
    total = _hosts(ev, scenario)
    if isinstance(limit, str):
        return max(1, math.ceil(float(limit[:-1]) / 100 * total))
    return int(limit)


def _limit_text(ev, scenario: Scenario) -> str:
    """The limit as the scenario writes it, a share with the count it gives here ("15%, 5 of
    32 hosts": a slice's bare 5 beside an event that says 15 % of 1,600 hosts read as a mistake)."""
    if isinstance(ev.max_hosts_in_maintenance, str):
        return f"{ev.max_hosts_in_maintenance}, {_limit(ev, scenario)} of {_hosts(ev, scenario):,} hosts"
    return str(_limit(ev, scenario))


def slice_of(
    scenario: Scenario, vms_in_scope: int, vms_per_host: float
) -> tuple[Scenario, str] | None:
    """A representative slice of a big scenario (see the module's docstring), or None when the
    scenario is small enough to relax whole."""
    if vms_in_scope <= SLICE_VMS:
        return None
    ev = scenario.events[0]
    names = _scope_names(ev, scenario)
    rack_index = {n: i for i, n in enumerate(rack_names_of(scenario.racks))}
    order = sorted(
        names, key=lambda n: (rack_index[n.rsplit("-h", 1)[0]], int(n.rsplit("-h", 1)[1]))
    )
    rack_size: dict[str, int] = {}
    for n in order:
        rack_size[n.rsplit("-h", 1)[0]] = rack_size.get(n.rsplit("-h", 1)[0], 0) + 1
    want = max(1, int(SLICE_VMS / max(vms_per_host, 1e-9)))
    chosen, racks = [], []
    for rack, size in rack_size.items():  # whole racks, in the rollout's order
        if chosen and len(chosen) + size > want:
            break
        racks.append(rack)
        chosen.extend(n for n in order if n.rsplit("-h", 1)[0] == rack)
    if len(chosen) > want * 1.5:  # one rack is already too big: its first hosts
        chosen = chosen[:want]
    if len(chosen) >= len(order):
        return None
    share = len(chosen) / len(order)
    limit = _limit(ev, scenario)
    new_limit = (
        max(1, round(limit * share))
        if not isinstance(ev.max_hosts_in_maintenance, str)
        else ev.max_hosts_in_maintenance
    )
    sliced_ev = dataclasses.replace(
        ev,
        scope_zone=False,
        scope_zones=(),
        scope_racks=(),
        scope_hosts=tuple(chosen),
        max_hosts_in_maintenance=new_limit,
    )
    caps = scenario.caps
    new_caps = (
        caps
        if caps.global_ is None
        else dataclasses.replace(caps, global_=max(1, round(caps.global_ * share)))
    )
    spine = None if scenario.spine_bps is None else scenario.spine_bps * share
    sliced = dataclasses.replace(scenario, events=(sliced_ev,), caps=new_caps, spine_bps=spine)
    other = len(scenario.events) - 1
    where = (
        f"racks {racks[0]}-{racks[-1]}"
        if len(racks) > 1 and len(chosen) > 1
        else f"{len(chosen)} hosts of {racks[0]}"
    )
    words = (
        f"a slice: {ev.name}'s first {len(chosen):,} of {len(order):,} hosts ({where}, about "
        f"{round(len(chosen) * vms_per_host):,} VMs) inside the whole fleet, at most "
        f"{_limit(sliced_ev, sliced)} of them out at once"
        + (f", global cap {new_caps.global_}" if caps.global_ is not None else "")
        + (f", spine {_rate(spine)}" if spine else "")
        + " (scaled to the slice)"
        + (f"; the other {other} event{'s' if other > 1 else ''} left out" if other else "")
        + "; target-side links are less contended than in the whole rollout"
    )
    return sliced, words


def _outcome(p: Prediction) -> dict:
    return {
        "makespan_s": p.makespan_s,
        "vms_moved": p.vms_moved(),
        "unfinished_hosts": p.unfinished_hosts(),
        "deadline_reboots": p.deadline_reboots(),
        "vms_not_moved": p.vms_not_moved(),
        "vms_stuck": p.vms_stuck(),
    }


def does_less(row: dict, ref: dict) -> bool:
    """Whether a relaxed run leaves more undone than the plan (more hosts not handled or more
    VMs not moved, or as many not moved with more of them stuck, never even tried, where the
    plan tried and aborted them): its makespan is then not comparable, less work takes less
    time (a rollout that blocks at once ends at 0 ms)."""
    return (
        row["unfinished_hosts"] > ref["unfinished_hosts"]
        or row["vms_not_moved"] > ref["vms_not_moved"]
        or (
            row["vms_not_moved"] == ref["vms_not_moved"]
            and row.get("vms_stuck", 0) > ref.get("vms_stuck", 0)
        )
    )


def does_more(row: dict, ref: dict) -> bool:
    """Whether a relaxed run handles more than the plan, and nowhere less."""
    return not does_less(row, ref) and (
        row["unfinished_hosts"] < ref["unfinished_hosts"]
        or row["vms_not_moved"] < ref["vms_not_moved"]
    )


def binding_limit(
    scenario: Scenario,
    base: Prediction,
    vms_in_scope: int,
    vms_per_host: float,
    runner: Callable = observe,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """``{"name", "sentence", "table", "method", "baseline_makespan_s"}``: the limit whose
    relaxation moves the makespan most, the sentence that says so with the figures, and the
    sensitivity table behind it (one row per relaxation)."""
    sliced = slice_of(scenario, vms_in_scope, vms_per_host)
    if sliced is None:
        subject, method, reference = scenario, "the whole plan, re-run once per relaxation", base
    else:
        subject, words = sliced
        method = f"{words}; re-run once per relaxation"
        reference = runner(subject)
    ref = _outcome(reference)
    rows = []
    every = relaxations(subject)
    for i, r in enumerate(every, 1):
        if progress is not None:
            progress(f"Relaxing {r['label']} ({i} of {len(every)})")
        code = CONSTRAINTS[r["name"]][1]
        row = {
            "constraint": r["name"],
            "label": r["label"],
            "current": r["current"],
            "relaxed_to": r["relaxed"],
        }
        if code is not None and not reference.observer.queued.get(code):
            row.update(
                ref,
                change_pct=0.0,
                rerun=False,
                note="no VM ever waited on it: relaxing it changes nothing (not re-run)",
            )
        else:
            trial = runner(r["apply"](subject), capacity_factor=r["capacity_factor"])
            out = _outcome(trial)
            del trial  # one relaxed run alive at a time (each is the whole fleet)
            row.update(
                out,
                rerun=True,
                change_pct=_pct(out["makespan_s"], ref["makespan_s"]),
                note=_note(out, ref),
            )
        rows.append(row)
    together = [
        r for r in relaxations(subject) if r["name"] != "deadline"
    ]  # a deadline is no speed limit
    if sum(1 for row in rows if row["rerun"]) > 1:
        relaxed, factor = subject, 1.0
        for r in together:
            relaxed = r["apply"](relaxed)
            factor = max(factor, r["capacity_factor"])
        out = _outcome(runner(relaxed, capacity_factor=factor))
        rows.append(
            {
                "constraint": "all",
                "label": "all of the above together",
                "current": "",
                "relaxed_to": "each as above"
                + (
                    " (deadline kept)"
                    if any(r["name"] == "deadline" for r in relaxations(subject))
                    else ""
                ),
                **out,
                "rerun": True,
                "change_pct": _pct(out["makespan_s"], ref["makespan_s"]),
                "note": _note(out, ref),
            }
        )
    name, sentence = _verdict(rows, ref, reference, sliced is not None)
    forced = [(ev, t, left, held) for ev, t, left, held in base.observer.deadlines if left]
    if forced and not base.deadline_reboots():
        # hosts not yet back (in their downtime, or their VMs already leaving) but no VM left
        # to reboot: the deadline cost nothing, and 'rebooted them with their VMs (0 VMs)' read
        # as a maintenance cut short beside 'not handled: none'
        words = "; ".join(
            f"{ev}'s deadline at {_span(t)} found {count(left, 'host')} not yet "
            "done, with no VM waiting on them"
            for ev, t, left, _ in forced
        )
        sentence += f" The deadline cost nothing: {words} (no VM rebooted)."
    elif forced:
        words = "; ".join(
            f"{ev}'s deadline at {_span(t)} found {count(left, 'host')} not yet done and "
            + (
                "rebooted them with their VMs"
                if not held
                # an overlapping event held some in its own maintenance: not rebooted then
                else f"rebooted {left - held:,} of them with their VMs, and took the other "
                f"{held:,}, held by another event's maintenance then, once it gave them back"
            )
            for ev, t, left, held in forced
        )
        sentence += (
            f" The deadline ends the maintenance: {words} "
            f"({base.deadline_reboots()} VMs; see what is not handled)."
        )
    return {
        "name": name,
        "sentence": sentence,
        "table": rows,
        "method": method,
        "baseline_makespan_s": ref["makespan_s"],
    }


def _pct(value: float, ref: float) -> float:
    """The change in percent, to 0.1 %; a change that rounds to nothing is 0.0, not -0.0 (the
    plan page printed "-0.0 %")."""
    return 0.0 if ref <= 0 else round((value - ref) / ref * 100, 1) + 0.0


def _note(out: dict, ref: dict) -> str:
    notes = []
    if does_less(out, ref):
        notes.append("less work done, so not a gain")
    if out["unfinished_hosts"] != ref["unfinished_hosts"]:
        notes.append(f"hosts not handled: {ref['unfinished_hosts']} -> {out['unfinished_hosts']}")
    if out["deadline_reboots"] != ref["deadline_reboots"]:
        notes.append(
            f"VMs rebooted at the deadline: {ref['deadline_reboots']} -> {out['deadline_reboots']}"
        )
    elif out["vms_not_moved"] != ref["vms_not_moved"]:
        notes.append(f"VMs not moved: {ref['vms_not_moved']} -> {out['vms_not_moved']}")
    elif out.get("vms_stuck", 0) != ref.get("vms_stuck", 0):
        notes.append(f"VMs stuck: {ref['vms_stuck']} -> {out['vms_stuck']}")
    return "; ".join(notes)


def _span(s: float) -> str:
    """The one duration formatter ('2 h 6 min', not '2.1 h')."""
    return format_duration(s)


def _better(row: dict, ref: dict) -> tuple:
    """How much a relaxation helps: how much it shortens the makespan, then how much more it
    handles. Only relaxations that do at least the plan's work are compared (``does_less``).
    When the plan leaves work undone (hosts not handled, VMs not moved), what binds is first
    what keeps that work from being done: the relaxation that does the most of it comes first,
    however long it takes (a shorter makespan of a maintenance that stops short is not the
    answer to "what sets the pace")."""
    shorter = (-row["change_pct"], -row["unfinished_hosts"], -row["vms_not_moved"])
    if ref.get("unfinished_hosts") or ref.get("vms_not_moved"):
        return (-row["unfinished_hosts"], -row["vms_not_moved"], -row["change_pct"])
    return shorter


def _work(row: dict, ref: dict) -> str:
    """'3 hosts left not handled instead of 14, 6 VMs not moved instead of 28'."""
    parts = []
    if row["unfinished_hosts"] != ref["unfinished_hosts"]:
        n = row["unfinished_hosts"]
        parts.append(
            f"{n} host{'' if n == 1 else 's'} left not handled instead of {ref['unfinished_hosts']}"
        )
    if row["vms_not_moved"] != ref["vms_not_moved"]:
        n = row["vms_not_moved"]
        parts.append(f"{n} VM{'' if n == 1 else 's'} not moved instead of {ref['vms_not_moved']}")
    elif row.get("vms_stuck", 0) != ref.get("vms_stuck", 0):
        n = row["vms_stuck"]
        parts.append(
            f"{n} VM{'' if n == 1 else 's'} stuck (never tried) instead of {ref['vms_stuck']}"
        )
    return ", ".join(parts)


def _verdict(rows: list[dict], ref: dict, reference: Prediction, sliced: bool) -> tuple[str, str]:
    singles = [r for r in rows if r["constraint"] != "all"]
    where = " (on the slice)" if sliced else ""
    # a slice's makespan is not the plan's 'how long': say whose it is
    mk = "the slice's makespan" if sliced else "the makespan"
    if _moves_nothing(ref) and not any(does_more(r, ref) for r in singles):
        return _verdict_when_nothing_moves(singles, rows, ref, where, mk)
    comparable = [r for r in singles if not does_less(r, ref)]
    best = max(comparable, key=lambda r: _better(r, ref), default=None)
    less = [
        r
        for r in singles
        if does_less(r, ref)
        and r["change_pct"] <= -MOVES_PCT
        and (best is None or r["change_pct"] < best["change_pct"])
    ]
    caveat, shortest_by_less = "", ()
    if less:
        r = min(less, key=lambda r: r["change_pct"])
        shortest_by_less = (r,)  # said once, here; the others of ``less`` by ``_the_others``
        caveat = (
            f" ({_short(r)} would cut the makespan to {_span(r['makespan_s'])} only by doing "
            f"less: {_work(r, ref)})"
        )
    together = next((r for r in rows if r["constraint"] == "all"), None)
    if together is not None and does_less(together, ref):
        together = None  # faster only by doing less: it says nothing about what binds
    base = _span(ref["makespan_s"])
    if best is None or (-best["change_pct"] < MOVES_PCT and not does_more(best, ref)):
        text = (
            f"No single limit binds{where}: relaxing none of them x{FACTOR} shortens "
            f"{mk} ({base}) by {MOVES_PCT:g} % or more while doing the plan's work"
        )
        if together and together["change_pct"] <= -MOVES_PCT:
            text += (
                f"; relaxing all of them together cuts it to {_span(together['makespan_s'])} "
                f"({signed_pct(together['change_pct'])} %): several limits bind at once"
            )
        elif len(_unchanged(singles, ref)) == sum(1 for r in singles if r["rerun"]):
            text += (
                ": the time goes to what no limit here governs (notices, the host downtime, the "
                "VMs' own copying)"
            )
        text += caveat + _the_others(singles, ref, named=shortest_by_less)
        if ref["unfinished_hosts"]:
            n = ref["unfinished_hosts"]
            text += (
                f". {count(n, 'host')} in scope {'is' if n == 1 else 'are'} not handled (see below)"
            )
        return "none", text + "."
    if best["change_pct"] <= -MOVES_PCT:
        change = (
            f"{mk} falls from {base} to {_span(best['makespan_s'])} "
            f"({signed_pct(best['change_pct'])} %)"
        )
    elif best["change_pct"] >= MOVES_PCT:  # longer, for doing the work the plan leaves undone
        change = (
            f"{mk} grows from {base} to {_span(best['makespan_s'])} "
            f"({signed_pct(best['change_pct'])} %)"
        )
    else:
        change = f"{mk} stays at {_span(best['makespan_s'])}"
    text = f"The {best['label']} ({best['current']}) binds{where}: with {_with(best)} {change}"
    if does_more(best, ref):
        text += f", and it does more work: {_work(best, ref)}"
    also, sooner = _also_binding(comparable, best), []
    if _moves_nothing(ref):  # equal work sooner is the same failures sooner: no limit on pace
        sooner = [r for r in also if not does_more(r, ref)]
        also = [r for r in also if does_more(r, ref)]
    for r in also:
        text += (
            f"; the {r['label']} ({r['current']}) binds too: with {_with(r)} alone {mk} "
            f"falls to {_span(r['makespan_s'])} ({signed_pct(r['change_pct'])} %)"
        )
        if does_more(r, ref):
            text += f", and it does more work: {_work(r, ref)}"
    for r in sooner:
        text += (
            f"; {_short(r)} would cut it to {_span(r['makespan_s'])} "
            f"({signed_pct(r['change_pct'])} %) only by failing sooner"
        )
    text += caveat + _the_others(singles, ref, named=(best, *also, *sooner, *shortest_by_less))
    if _moves_nothing(ref) and together and not does_more(together, ref):
        together = None  # faster with nothing more moved: failing sooner, not a pace
    if together and together["change_pct"] < best["change_pct"] - 10:
        text += (
            f"; all of them relaxed together: {_span(together['makespan_s'])} "
            f"({signed_pct(together['change_pct'])} %), so other limits bind next"
        )
    return best["constraint"], text + "."


def _moves_nothing(ref: dict) -> bool:
    """The plan moves no VM of those asked to leave (every one aborts, is stuck or rebooted)."""
    return ref.get("vms_moved") == 0 and ref["vms_not_moved"] > 0


def _verdict_when_nothing_moves(
    singles: list[dict], rows: list[dict], ref: dict, where: str, mk: str
) -> tuple[str, str]:
    """No VM migrates and no relaxation alone does more: the makespan is how long the
    attempts took to fail, and a relaxation that shortens it with as little done only fails
    sooner. No limit is named; what would move VMs, if anything, is all of them together."""
    n = ref["vms_not_moved"]
    text = (
        f"No limit here binds{where}: no VM migrates as planned ({count(n, 'VM')} not moved: "
        f"see what is not handled), and none of the limits relaxed x{FACTOR} alone lets one "
        "migrate"
    )
    together = next((r for r in rows if r["constraint"] == "all"), None)
    if together is not None and does_more(together, ref):
        text += f"; all of them relaxed together would: {_work(together, ref)}"
    faster = sorted(
        (
            r
            for r in singles
            if r["rerun"] and r["change_pct"] <= -MOVES_PCT and not does_less(r, ref)
        ),
        key=lambda r: r["change_pct"],
    )
    for i, r in enumerate(faster):
        what = f"{mk} ({_span(ref['makespan_s'])})" if i == 0 else "it"
        text += (
            f"; {_short(r)} would cut {what} to {_span(r['makespan_s'])} "
            f"({signed_pct(r['change_pct'])} %) only by failing sooner"
        )
    return "none", text + _the_others(singles, ref, named=faster) + "."


def signed_pct(change_pct: float) -> str:
    """A row's change as its table prints it, to 0.1 %, without a trailing '.0' ('-2.5',
    '+5', '-40'): the sentence never rounds the table's figure again."""
    return f"{change_pct:+.1f}".removesuffix(".0")


def _unchanged(singles: list[dict], ref: dict) -> list[dict]:
    """Re-run relaxations that change neither the makespan (under ``MOVES_PCT``) nor the work
    done (placement capacity is never listed: more capacity is not a limit one relaxes)."""
    return [
        r
        for r in singles
        if r["rerun"]
        and abs(r["change_pct"]) < MOVES_PCT
        and not does_less(r, ref)
        and not does_more(r, ref)
        and r["constraint"] != "capacity"
    ]


def _the_others(singles: list[dict], ref: dict, named) -> str:
    """Every re-run relaxation the sentence has not named yet, said as the table has it: those
    that make the run longer (largest first), those that leave more undone or do more in about
    the same time, and those that change nothing (all of them, none dropped)."""
    named_ids = {id(r) for r in named}
    rest = [r for r in singles if r["rerun"] and id(r) not in named_ids]
    text = ""
    for r in sorted(
        (r for r in rest if r["change_pct"] >= MOVES_PCT), key=lambda r: -r["change_pct"]
    ):
        # a relaxation that makes it slower is a finding too (more migrations at once, each
        # with a smaller share of the same links): said, never left to the table alone
        text += (
            f"; {_short(r)} would make it longer: {_span(r['makespan_s'])} "
            f"({signed_pct(r['change_pct'])} %)"
        )
        if does_less(r, ref):
            text += f", and leave more undone: {_work(r, ref)}"
        elif does_more(r, ref):
            text += f", doing more work: {_work(r, ref)}"
        elif r["constraint"] in CONCURRENCY:
            text += ", more at once is not faster here"
    for r in rest:
        if abs(r["change_pct"]) < MOVES_PCT and (does_less(r, ref) or does_more(r, ref)):
            verb = "would leave more undone" if does_less(r, ref) else "would do more work"
            text += f"; {_short(r)} {verb} in about the same time: {_work(r, ref)}"
    for r in rest:
        if r["change_pct"] <= -MOVES_PCT and does_less(r, ref):
            text += (
                f"; {_short(r)} would cut it to {_span(r['makespan_s'])} "
                f"({signed_pct(r['change_pct'])} %) only by doing less: {_work(r, ref)}"
            )
    nothing = [r for r in _unchanged(singles, ref) if id(r) not in named_ids]
    if nothing:
        # every one of them (the table lists them too), each relaxed alone: "would" reads right
        # after one plural name ("4x uplinks") as after several
        text += f"; {_join([_short(r) for r in nothing], 'or')} would change it by under {MOVES_PCT:g} %"
    return text


def _also_binding(comparable: list[dict], best: dict) -> list[dict]:
    """The other relaxations that, alone and doing at least the plan's work, also shorten the
    makespan by ``MOVES_PCT`` or more: the most first (the shortest relaxed makespan, as the
    engine re-ran it), then by how much more each handles."""
    others = [
        r for r in comparable if r is not best and r["change_pct"] <= -MOVES_PCT and r["rerun"]
    ]
    return sorted(others, key=lambda r: (r["makespan_s"], _better(r, {})))


def _with(row: dict) -> str:
    """What a relaxation gives, after "with": '512 MiB/s cap' as 'a 512 MiB/s cap'."""
    relaxed = row["relaxed_to"].replace(f" (x{FACTOR})", "")
    return {
        "per_source_host": f"{relaxed} migrations per source host",
        "per_target_host": f"{relaxed} arrivals per target host",
        "per_rack": f"{relaxed} migrations per rack",
        "per_customer": f"{relaxed} per customer",
        "global": f"a global cap of {relaxed}",
        "hosts_at_once": f"{FACTOR} times as many hosts out at once",
        "max_bandwidth": f"a {relaxed} cap",
        "nic": f"{relaxed} NICs",
        "uplink": f"{FACTOR} times the uplink bandwidth",
        "headroom": "no headroom",
        "capacity": f"{FACTOR} times the host capacity",
        "deadline": "no deadline",
        "window": "an always-open window",
    }[row["constraint"]]


def _short(row: dict) -> str:
    relaxed = row["relaxed_to"].replace(f" (x{FACTOR})", "")
    return {
        "per_source_host": f"{relaxed} migrations per source host",
        "per_target_host": f"{relaxed} arrivals per target host",
        "per_rack": f"a per-rack cap of {relaxed}",
        "per_customer": f"a per-customer cap of {relaxed}",
        "global": f"a global cap of {relaxed}",
        "hosts_at_once": f"{FACTOR}x hosts out at once",
        "max_bandwidth": f"a {relaxed} per-migration cap",
        "nic": f"{relaxed} NICs",
        "uplink": f"{FACTOR}x uplinks",
        "headroom": "no headroom",
        "capacity": "more capacity",
        "deadline": "no deadline",
        "window": "no window",
    }[row["constraint"]]


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


__all__ = ["CONSTRAINTS", "binding_limit", "relaxations", "slice_of"]
