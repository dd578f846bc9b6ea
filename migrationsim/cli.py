"""``python -m migrationsim``: the model from the command line, for scripts and capacity planners.

    python -m migrationsim migrate --memory 8GiB --workload oltp --policy qemu --json
    python -m migrationsim presets

Flags come from ``spec.PARAMETERS`` (``dirty_rate`` is ``--dirty-rate``). Bad input exits with
status 2 and a message naming the flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .errors import InvalidParameter
from .migration import simulate
from .spec import PARAMETERS, build_spec
from .workload import PRESETS


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: usage line, message, exit 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m migrationsim",
                     description="Simulate VM live migration (pre-copy, blackout, forwarding).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    migrate = commands.add_parser("migrate", help="simulate one VM's live migration",
                                  description="Simulate one VM's live migration. Sizes accept "
                                              "4GiB/800MB, rates 10Gbit/s/128MiB/s, times 300ms.")
    for name, param in PARAMETERS.items():
        default = param.default
        shown = "the policy's" if default == "policy" else default
        if param.flag_kind == "bool":
            migrate.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction,
                                 default=None, help=f"{param.help} (default: {shown})")
        else:
            migrate.add_argument(flag(name), dest=name, default=None, metavar="VALUE",
                                 help=f"{param.help} (default: {shown})")
    migrate.add_argument("--json", action="store_true", help="print one JSON object")

    commands.add_parser("presets", help="list the workload presets and their numbers")
    return parser


def _migrate(args: argparse.Namespace) -> int:
    params = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name) is not None}
    try:
        spec = build_spec(**params)
    except InvalidParameter as exc:
        print(f"python -m migrationsim migrate: error: {flag(exc.field)}: {exc.message}", file=sys.stderr)
        return 2
    result = simulate(spec)
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
    else:
        print("\n".join(result.summary_lines()))
    return 0


def _presets() -> int:
    for preset in PRESETS.values():
        sets = ", ".join(f"{ws.memory_fraction:.0%} of memory at {ws.write_rate_bps / 1e6:g} MB/s "
                         f"{ws.pattern}" for ws in preset.working_sets)
        print(f"{preset.name:10s} {preset.description}\n{'':10s} writes: {sets}; zero pages "
              f"{preset.zero_fraction:.0%}; {preset.packet_rate_pps:g} packets/s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.command == "migrate":
        return _migrate(args)
    return _presets()
