"""Compile the pre-copy loop's modules (``native.py`` says what and why), or say which run compiled.

    python -m migrationsim.native_build               compile them now
    python -m migrationsim.native_build --if-changed  only when a source changed (./run, ./test)
    python -m migrationsim.native_build --status      which modules run compiled, and why not

Exits 1 when it could not compile (no C compiler, no Cython): the model then runs from source.
"""

from __future__ import annotations

import argparse
import sys

from .native import COMPILED, MODULES, build, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m migrationsim.native_build", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--if-changed", action="store_true", help="compile only when a source changed since"
    )
    parser.add_argument("--status", action="store_true", help="only say which run compiled")
    args = parser.parse_args(argv)
    current = all(state == COMPILED for state in status(honour_pure=False).values())
    if not args.status and not (args.if_changed and current):
        print(f"==> compiling {', '.join(MODULES)} (migrationsim/native.py)", file=sys.stderr)
        try:
            build()
        except Exception as error:  # no compiler, no Cython: the source still runs
            print(f"not compiled ({error}): the model runs from source", file=sys.stderr)
            return 1
    for name, state in status().items():
        print(f"{name}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
