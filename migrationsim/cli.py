"""``python -m migrationsim``: the model from the command line, for scripts and capacity planners.

    python -m migrationsim migrate --memory 8GiB --workload oltp --policy qemu --json
    python -m migrationsim presets
    python -m migrationsim fleet --preset demo --json --events events.jsonl
    python -m migrationsim fleet zone.yaml --plan

Flags come from ``spec.PARAMETERS`` (``dirty_rate`` is ``--dirty-rate``). Bad input exits with
status 2 and a message naming the flag.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Sequence

from .errors import InvalidParameter
from .memory_pages import WORK_BUDGET_PAGES
from .migration import simulate
from .spec import PARAMETERS, SEED_MAX, build_spec
from .workload import PRESETS


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a negative quantity after its flag (--memory -5GiB, --dirty-rate -1.5MB/s, -3s,
        # -10%) is the flag's value, refused by the field's own check as --memory=-5GiB is:
        # Python 3.11's argparse takes only a bare -5 or -1.5 as a value and said "expected one
        # argument" for the rest (later Pythons test this way too; no flag here starts "-<digit>")
        self._negative_number_matcher = re.compile(r"-\.?\d")

    def error(self, message: str):  # argparse's own errors: usage line, message, exit 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m migrationsim",
        description="Simulate VM live migration (pre-copy, blackout, forwarding).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    migrate = commands.add_parser(
        "migrate",
        help="simulate one VM's live migration",
        description="Simulate one VM's live migration. Sizes accept "
        "4GiB/800MB, rates 10Gbit/s/128MiB/s, times 300ms.",
    )
    for name, param in PARAMETERS.items():
        default = param.default
        shown = "the policy's" if default == "policy" else default
        # no default (the workload's figures, or none): the help says what then, not "None"
        said = param.help if default is None else f"{param.help} (default: {shown})"
        if param.flag_kind == "bool":
            migrate.add_argument(
                flag(name),
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=said,
            )
        else:
            migrate.add_argument(flag(name), dest=name, default=None, metavar="VALUE", help=said)
    migrate.add_argument("--json", action="store_true", help="print one JSON object")

    commands.add_parser("presets", help="list the workload presets and their numbers")

    fleet = commands.add_parser(
        "fleet",
        help="simulate a maintenance event over a fleet",
        description="Run a fleet scenario (a JSON or YAML file, or a "
        "preset) and print its summary, or (--plan) print "
        "its plan without running it.",
    )
    fleet.add_argument("scenario", nargs="?", help="scenario file (.json, .yaml)")
    fleet.add_argument(
        "--preset",
        help="a scenario shipped with migrationsim: "
        "demo, heartbleed, bios-rollout, hw-failure, gce-calibrated, region",
    )
    fleet.add_argument("--seed", help="override the scenario's seed")
    fleet.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="what if: change one value of the scenario before it runs (repeatable), e.g. "
        "caps.per_source_host=4, fleet.host.nic=50Gbit/s, 'events[0].max_hosts_in_maintenance=30%%'"
        "; VALUE is read as YAML (null lifts a limit that is off unless given, e.g. caps.per_rack)",
    )
    fleet.add_argument(
        "--plan",
        action="store_true",
        help="print the plan (the web's dry run: who migrates, who is terminated and "
        "why, the waves, the capacity check, the engine's prediction, what is not "
        "handled, the binding limit) instead of running",
    )
    fleet.add_argument(
        "--json", action="store_true", help="print the summary (or the plan) as one JSON object"
    )
    fleet.add_argument(
        "--events", metavar="FILE", help="write every event as JSON lines, in time order"
    )
    fleet.add_argument("--vms", metavar="FILE", help="write one CSV row per VM")
    return parser


def _migrate(args: argparse.Namespace) -> int:
    params = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name) is not None}
    try:
        # a run may refuse too: the pages resolution's work budget, about 1 s here
        result = simulate(build_spec(**params), pages_work_budget=WORK_BUDGET_PAGES)
    except InvalidParameter as exc:
        print(
            f"python -m migrationsim migrate: error: {flag(exc.field)}: {exc.message}",
            file=sys.stderr,
        )
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
    else:
        print("\n".join(result.summary_lines()))
    return 0


def _presets() -> int:
    for preset in PRESETS.values():
        sets = ", ".join(
            f"{ws.memory_fraction:.0%} of memory at {ws.write_rate_bps / 1e6:g} MB/s {ws.pattern}"
            for ws in preset.working_sets
        )
        print(
            f"{preset.name:10s} {preset.description}\n{'':10s} writes: {sets}; zero pages "
            f"{preset.zero_fraction:.0%}; {preset.packet_rate_pps:g} packets/s"
        )
    return 0


def _fleet(args: argparse.Namespace) -> int:
    from .fleet import FleetRun, ScenarioError, load_scenario, summarize
    from .fleet.export import vm_rows_csv
    from .fleet.plan import plan
    from .fleet.prediction import watch
    from .fleet.text import load_file

    prog = "python -m migrationsim fleet"
    if bool(args.scenario) == bool(args.preset):
        print(
            f"{prog}: error: give a scenario file or --preset NAME (one of them)", file=sys.stderr
        )
        return 2
    if args.preset and args.preset not in _preset_names():
        print(
            f"{prog}: error: --preset: unknown preset {args.preset!r}; presets: "
            f"{', '.join(_preset_names())}",
            file=sys.stderr,
        )
        return 2
    for name, value in (("--events", args.events), ("--vms", args.vms)):
        if value is not None and not value.strip():  # it wrote nothing and exited 0
            print(f"{prog}: error: {name}: needs a file name (got an empty one)", file=sys.stderr)
            return 2
    if args.plan and (args.events or args.vms):
        print(
            f"{prog}: error: --plan: a plan runs nothing, so it writes no --events or --vms file",
            file=sys.stderr,
        )
        return 2
    if args.events and args.vms and os.path.realpath(args.events) == os.path.realpath(args.vms):
        # both would be written into one file, the CSV in the middle of the event log
        print(
            f"{prog}: error: --vms: {args.vms} is the --events file too; give each its own file",
            file=sys.stderr,
        )
        return 2
    try:
        # the argument is always a file, whatever its name ends with (never scenario text)
        scenario = load_scenario(args.preset) if args.preset else load_file(args.scenario)
    except ScenarioError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    overrides = args.set or []
    unchanged: list[str] = []  # the --set that leave the scenario as it was
    if overrides:
        from .fleet import parse_scenario
        from .fleet.overrides import (
            OverrideError,
            apply_overrides,
            bare_byte_numbers,
            changing_nothing,
            mentions,
            refuse_defaulted_nulls,
            refuse_hidden_by_rack_groups,
            split_assignment,
        )
        from .fleet.scenario import noting_defaulted_nulls

        if args.seed is not None:  # the run would use --seed under 'what if: seed=5'
            for assignment in overrides:
                try:
                    said = split_assignment(assignment)[0].strip()
                except OverrideError:
                    continue  # said below, as any --set that cannot apply
                if said == "seed":
                    print(
                        f"{prog}: error: --seed: --set {assignment} gives the seed too; "
                        "give one of them",
                        file=sys.stderr,
                    )
                    return 2
        try:
            original = scenario
            with noting_defaulted_nulls() as defaulted:
                scenario = parse_scenario(apply_overrides(scenario.raw, overrides))
            refuse_defaulted_nulls(overrides, defaulted)
            refuse_hidden_by_rack_groups(scenario.raw, overrides)
            unchanged = changing_nothing(original, overrides)
        except OverrideError as exc:
            print(f"{prog}: error: --set {exc.assignment}: {exc.message}", file=sys.stderr)
            return 2
        except ScenarioError as exc:  # the scenario with the overrides, checked as a whole
            said = mentions(overrides, exc.path)
            print(f"{prog}: error: {f'--set {said}: ' if said else ''}{exc}", file=sys.stderr)
            return 2
    seed = None
    if args.seed is not None:
        try:
            seed = int(args.seed)
            if not 0 <= seed <= SEED_MAX:
                raise ValueError
        except ValueError:
            print(
                f"{prog}: error: --seed: must be a whole number from 0 to {SEED_MAX}",
                file=sys.stderr,
            )
            return 2
    if args.plan:
        data = scenario.raw if seed is None else {**scenario.raw, "seed": seed}
        try:
            preview = plan(data)
        except ScenarioError as exc:  # a --seed above the scenario's limit
            field = "--seed" if exc.path == "seed" else exc.path
            print(f"{prog}: error: {field}: {exc.message}", file=sys.stderr)
            return 2
        if overrides:
            preview = {
                **preview,
                "overrides": overrides,
                "overrides_unchanged": unchanged,
                "overrides_in_bytes": bare_byte_numbers(overrides),
            }
        print(
            json.dumps(preview, allow_nan=False) if args.json else "\n".join(_plan_lines(preview))
        )
        return 0
    if seed is not None:
        from dataclasses import replace

        scenario = replace(scenario, seed=seed)
    # both output files are opened before the run: one that cannot be written is a flag's
    # mistake said at once, not a traceback after the run; and an existing file is emptied only
    # once both could be opened (a refused --vms must not cost the last run's --events)
    outputs, created = {}, []
    for name, value in (("--events", args.events), ("--vms", args.vms)):
        if value:
            new = not os.path.exists(value)
            try:
                outputs[name] = open(value, "a")  # noqa: SIM115
            except OSError as exc:
                for opened in outputs.values():
                    opened.close()
                for path in created:
                    os.unlink(path)
                print(
                    f"{prog}: error: {name}: cannot write {value}: {exc.strerror or exc}",
                    file=sys.stderr,
                )
                return 2
            if new:
                created.append(value)
    events_file, vms_file = outputs.get("--events"), outputs.get("--vms")
    writing = "--events"  # which output a failed write (a full disk, /dev/full) was to
    try:
        for name, opened in outputs.items():
            writing = name
            opened.truncate(0)
        writing = "--events"
        listener = (lambda e: events_file.write(json.dumps(e) + "\n")) if events_file else None
        # each pre-copy round is an event only for an event log that asks for every event
        run = FleetRun(scenario, listener, round_events=events_file is not None)
        seen = watch(run)  # what was not handled, as the plan and the web's results say it
        run.run()
        if vms_file:
            writing = "--vms"
            vms_file.write(vm_rows_csv(run))
        for name, opened in outputs.items():
            writing = name
            opened.close()
    except OSError as exc:
        value = args.events if writing == "--events" else args.vms
        print(
            f"{prog}: error: {writing}: cannot write {value}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        for opened in outputs.values():
            with contextlib.suppress(OSError):  # already said above
                opened.close()
    summary = {**summarize(run), "not_handled": seen().not_handled()}
    if overrides:
        summary["overrides"] = overrides
        summary["overrides_unchanged"] = unchanged
        summary["overrides_in_bytes"] = bare_byte_numbers(overrides)
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print("\n".join(_fleet_lines(summary)))
    return 0


def _not_handled_lines(gone: dict, *, said_below: frozenset = frozenset()) -> list[str]:
    """What a plan or a run left not handled: hosts and VMs, with the engine's reasons (but
    not the VMs whose reason codes are in ``said_below``: a run's summary says the VMs that did
    not move in lines of their own; the others, a crash, a move that did not converge, are
    said here, as the plan says them)."""
    from .humanize import count

    if not (gone["hosts_total"] or gone["vms_total"]):
        return ["not handled: none (every host in scope is patched, every VM handled)"]
    lines = [f"not handled: {count(gone['hosts_total'], 'host')}, {count(gone['vms_total'], 'VM')}"]
    if gone["vms"] and all(v["outcome"] == "not_converged" for v in gone["vms"]):
        # as the plan page says it: these VMs did move, their blackout was forced
        lines[0] += " (the VMs moved, but their pre-copy did not converge)"
    lines += [f"  {h['host']} ({h['status']}): {h['reason']}" for h in gone["hosts"][:12]]
    if gone["hosts_total"] > 12:
        lines.append(f"  ... and {gone['hosts_total'] - 12} more hosts")
    lines += [
        f"  {count(v['vms'], 'VM')} {_outcome_words(v['outcome'])} [{v['code']}]: {v['reason']}"
        for v in [v for v in gone["vms"] if v["code"] not in said_below][:8]
    ]
    return lines


def _preset_names():
    from .fleet import PRESET_NAMES

    return PRESET_NAMES


def _fleet_lines(s: dict) -> list[str]:
    from . import outcomes
    from .fleet.summary import failed_work_sentence, moves_sentence, unsimulated_failures_sentence
    from .humanize import count, duration, size

    def ms(x):
        return "-" if x is None else duration(x)

    counts = ", ".join(
        f"{outcomes.fleet_vm(k)['outcome_label']} {v:,}" for k, v in s["outcomes"].items() if v
    )
    lines = [
        f"{s['scenario']}: {count(s['vms'], 'VM')} on {count(s['hosts'], 'host')}"
        + (f"; {counts}" if counts else ""),
        f"makespan {duration(s['makespan_s'])}; {count(s['migrations'], 'migration')} "
        f"completed, at most {s['peak_concurrent_migrations']:,} under way at once; "
        f"sent {size(s['bytes_sent'])}"
        + (f" ({said})" if (said := failed_work_sentence(s)) else ""),
        f"blackout p50 {ms(s['blackout_p50_s'])}, p99 {ms(s['blackout_p99_s'])}, max "
        f"{ms(s['blackout_max_s'])}; {s['blackout_slo_breaches']:,} over {ms(s['blackout_slo_s'])}"
        + _last_moves(s["outcomes"]["migrated"], s["migrations"]),
        f"queue wait p50 {ms(s['queue_wait_p50_s'])}, p99 {ms(s['queue_wait_p99_s'])}",
        *([said] if (said := moves_sentence(s)) else []),
        f"{outcomes.TERMS['not_converged'].label}: {s['not_converged']:,}",
        *([f"STOPPED: {s['stopped']}"] if s.get("stopped") else []),
        *([f"not simulated: {said}"] if (said := unsimulated_failures_sentence(s)) else []),
        *(
            _not_handled_lines(s["not_handled"], said_below=frozenset(s["unfinished_reasons"]))
            if "not_handled" in s
            else []
        ),
    ]
    lines[1:1] = _what_if_lines(s)
    for code, n in sorted(s["unfinished_reasons"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  did not move, {n:,}: {outcomes.label(code)} [{code}]")
    # a term is explained where the text used it for something: not under a count of 0
    present = [
        t
        for t in outcomes.TERMS
        if (s["not_converged"] if t == "not_converged" else s["outcomes"].get(t))
    ]
    lines += [f"  ({outcomes.TERMS[t].label}: {outcomes.TERMS[t].sentence})" for t in present]
    return lines


def _what_if_lines(figures: dict) -> list[str]:
    """The ``--set`` overrides a plan or a run was made with, said once near the top."""
    overrides = figures.get("overrides")
    if not overrides:
        return []
    lines = [f"what if: {', '.join(overrides)}"]
    in_bytes = figures.get("overrides_in_bytes") or []
    if in_bytes:
        lines.append(
            f"  (a bare number is bytes: {'; '.join(in_bytes)}; write the unit, "
            "e.g. 50Gbit/s or 16GiB)"
        )
    unchanged = figures.get("overrides_unchanged") or []
    if unchanged:
        which = "none of them" if len(unchanged) == len(overrides) > 1 else ", ".join(unchanged)
        lines.append(
            f"  (changes nothing: {which}; the scenario already says so, or it is the default)"
        )
    return lines


def _last_moves(migrated: int, migrations: int) -> str:
    """The blackout figures are each migrated VM's last move (``VmRecord.blackout_s``): where
    VMs moved more than once there were more blackouts than that, and the line says which
    ones it counts ('31 over 300 ms' of 3,072 last moves, the run's 3,409 blackouts had 32)."""
    if migrations <= migrated:
        return ""
    return f" (each migrated VM's last move: {migrated:,} of the {migrations:,} blackouts)"


def _plan_lines(p: dict) -> list[str]:
    """The plan as the web's plan page words it."""
    from . import outcomes
    from .humanize import count
    from .units import format_duration as span

    restart = (
        f", {p['restart_after_terminate']:,} of them restart on another host"
        if p["terminate_total"]
        else ""
    )
    migrate = f"{p['migrate']:,}"
    if p.get("outcomes") and p["outcomes"]["migrated"] != p["migrate"]:  # the engine says otherwise
        moved = p["outcomes"]["migrated"]
        migrate = f"{moved:,} (the engine's prediction; {p['migrate']:,} in scope can)"
    lines = [
        f"{p['name']}: {count(p['vms_in_scope'], 'VM')} on the "
        f"{count(p['hosts_in_scope'], 'host')} in scope "
        f"(of {count(p['hosts'], 'host')}, {count(p['vms'], 'VM')}, {count(p['racks'], 'rack')})",
        f"will live-migrate {migrate}; will be terminated {p['terminate_total']:,}{restart}",
    ]
    lines += _what_if_lines(p)
    lines += [f"  {n:,}: {reason}" for reason, n in p["terminate_reasons"] if n]
    # a range only from several seeds (as the plan page): one seed gives no range
    spread = (
        f"range {span(p['eta_low_s'])} to {span(p['eta_high_s'])}; "
        if len(p["eta_seeds"]) > 1
        else ""
    )
    lines.append(f"how long: {span(p['eta_s'])} ({spread}{p['eta_method']})")
    undone = p["not_handled"]["hosts_total"]
    if undone:
        # 'how long' is when the last thing happened: a maintenance that blocks ends early
        lines[-1] += (
            f"; not the whole maintenance: {undone:,} of the {p['hosts_in_scope']:,} hosts "
            f"in scope {'is' if undone == 1 else 'are'} not handled (below)"
        )
    lines += _prediction_lines(p)
    # as the plan page's "Stuck or aborted": VMs left where they are, whatever the reason (a
    # capacity shortfall, a queue blocked, or a migration that could not finish in time)
    if p["not_placed"] is None:
        lines.append("stuck or aborted: see the capacity check (too big to simulate for a preview)")
    else:
        lines.append(f"stuck or aborted (left where they are): {p['not_placed']:,}")
        # a reason is a code ('timeout_abort': its words and the code) or already a sentence
        # ('it waits behind vm-5 in its host's queue ...': as it is)
        lines += [
            f"  {n:,}: {outcomes.label(reason)} [{reason}]"
            if outcomes.words(reason)
            else f"  {n:,}: {reason}"
            for reason, n in p["not_placed_reasons"]
        ]
        if p["not_placed_max_over_seeds"] > p["not_placed"]:
            seeds = ", ".join(map(str, p["eta_seeds"]))
            lines.append(
                f"  up to {p['not_placed_max_over_seeds']:,} with the next seeds ({seeds})"
            )
    if p["capacity"]:
        lines.append("capacity check, wave by wave:")
        lines += [
            f"  {c['event']}, wave {c['wave']}: {'; '.join(c['reasons'])}" for c in p["capacity"]
        ]
    else:
        lines.append("capacity check: every wave's VMs fit on the hosts outside it")
    for ev in p["events"]:
        waves = ev["waves"]
        when = f"; deadline {span(ev['deadline_s'])} after the start" if ev["deadline_s"] else ""
        if ev["window"]:
            # a daily window, counted from the event's start: '0 s', not a duration's '0 ms'
            opens, closes = (span(x) if x else "0 s" for x in ev["window"])
            when += (
                f"; migrations start only between {opens} and {closes} after the event's "
                "start, every day"
            )
        lines.append(
            f"{ev['name']} ({ev['kind']}): {count(ev['hosts'], 'host')} in "
            f"{count(len(waves), 'wave')}; "
            f"{_at_once(ev)}, each down for "
            f"{span(ev['host_downtime_s'])}{when}"
        )
        for w in waves[:12]:
            names = ", ".join(w["names"]) + (f" and {w['more']} more" if w["more"] else "")
            lines.append(
                f"  wave {w['wave']}: {count(w['hosts'], 'host')}, {count(w['vms'], 'VM')}: {names}"
            )
        if len(waves) > 12:
            lines.append(f"  ... and {len(waves) - 12} more waves")
    return lines


def _at_once(ev: dict) -> str:
    """How many hosts the event takes out at once, as the engine does: 'at most 2 hosts', a
    share with its count ('at most 240 hosts (15% of them)'), a BIOS rollout's one rack at a
    time (it said 'at most 1 hosts' while the engine took a rack of 4, and 'at most 100% hosts'
    while it took 8 of 32)."""
    from .humanize import count

    n, given = ev["hosts_at_once"], ev["max_hosts_in_maintenance"]
    said = f"at most {count(n, 'host')}"
    if ev.get("whole_rack_at_once"):
        return (
            f"{said} out at once (a BIOS rollout takes one whole rack at a time, whatever its "
            f"max_hosts_in_maintenance, {given})"
        )
    if isinstance(given, str):  # a share of the event's hosts
        return f"{said} ({given} of them) out at once"
    return f"{said} out at once"


def _prediction_lines(p: dict) -> list[str]:
    """The engine's prediction, what it does not handle, and the binding limit with its table."""
    from .humanize import count, duration
    from .units import format_duration as span

    def ms(x):  # as the run's summary and the plan page say a blackout: '101 ms', '7.28 s'
        return "-" if x is None else duration(x)

    lines = [
        f"predicted: {count(p['migrations'], 'migration')}, "
        f"{count(p['terminations'], 'termination')}, "
        f"blackout p50 {ms(p['blackout_p50_s'])}, p99 {ms(p['blackout_p99_s'])}; "
        f"{count(p['blackout_slo_breaches'], 'blackout')} over {ms(p['blackout_slo_s'])}"
        + _last_moves((p.get("outcomes") or {}).get("migrated", p["migrations"]), p["migrations"])
    ]
    lines += _not_handled_lines(p["not_handled"])
    binding = p.get("binding_limit")
    if binding:
        lines.append(f"binding limit: {binding['sentence']}")
        lines.append(f"  sensitivity ({binding['method']}):")
        rows = binding["table"]
        table = _table(
            [("constraint", "now", "relaxed to", "makespan", "change")]
            + [
                (
                    r["label"],
                    r["current"],
                    r["relaxed_to"],
                    span(r["makespan_s"]),
                    f"{r['change_pct']:+.1f}%",
                )
                for r in rows
            ]
        )
        notes = [""] + [f"  ({r['note']})" if r["note"] else "" for r in rows]
        lines += [f"  {line}{note}" for line, note in zip(table, notes, strict=True)]
    return lines


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as aligned lines: each column as wide as its widest cell (the header's
    too), two spaces apart; the first column (the names) left-aligned, the figures right."""
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(
            [
                row[0].ljust(widths[0]),
                *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
            ]
        )
        for row in rows
    ]


def _outcome_words(code: str) -> str:
    """A group's outcome as the plan page says it: an outcome or a fleet term
    ('migrated without converging', never 'not_converged')."""
    from . import outcomes

    said = outcomes.fleet_words(code)
    return said.label if said else code.replace("_", " ")


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.command == "migrate":
        return _migrate(args)
    if args.command == "fleet":
        return _fleet(args)
    return _presets()
