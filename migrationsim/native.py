"""The pre-copy loop's modules compiled to C by Cython: the same source, the same answers, faster.

A live round is a few float operations spread over a dozen small functions (the rate window,
the send, the bitmap sync, the policy's check); in the interpreter its cost is the bytecode
around them, not the arithmetic. Cython compiles the unchanged source of ``MODULES`` (Python
semantics kept: Python floats, the same operations in the same order, so every figure is the
same to the last bit; ``tests/sim/test_native.py`` checks that against the source).

- ``python -m migrationsim.native_build`` compiles them next to their source (``./run`` and
  ``./test`` do it when a source changed) and records each source's SHA-256 in ``BUILD_RECORD``.
- ``python -m migrationsim.native_build --status`` says which modules run compiled.
- On import, ``install`` lets Python load a compiled module only while its source is the one
  it was compiled from: edit ``precopy.py`` and the interpreter runs the edit until the next
  build. ``MIGRATIONSIM_PURE=1`` runs every module from its source.

Without a C compiler or Cython nothing is compiled and everything runs from source, slower.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

# the modules of the pre-copy loop (bench/precopy.py's profile): rounds, memory, windows, policies
MODULES = ("precopy", "memory_fluid", "ratelimit", "policies")
PACKAGE = __name__.rpartition(".")[0]
PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_RECORD = PACKAGE_DIR / "_native_build.json"  # {module: SHA-256 of the source compiled}
PURE_ENV = "MIGRATIONSIM_PURE"
COMPILED = "compiled"
NOT_COMPILED = "source (not compiled: python -m migrationsim.native_build)"


def source_digest(name: str) -> str:
    return hashlib.sha256((PACKAGE_DIR / f"{name}.py").read_bytes()).hexdigest()


def compiled_files(name: str) -> list[Path]:
    """The extension modules Python would import for ``name`` (this interpreter's suffixes)."""
    return [
        PACKAGE_DIR / f"{name}{suffix}"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (PACKAGE_DIR / f"{name}{suffix}").exists()
    ]


def _recorded() -> dict[str, str]:
    try:
        record = json.loads(BUILD_RECORD.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def status(honour_pure: bool = True) -> dict[str, str]:
    """Each module: ``compiled``, or ``source`` and why."""
    record = _recorded()
    pure = honour_pure and os.environ.get(PURE_ENV, "") not in ("", "0")
    out = {}
    for name in MODULES:
        if not compiled_files(name):
            out[name] = NOT_COMPILED
        elif pure:
            out[name] = f"source ({PURE_ENV} is set)"
        elif record.get(name) != source_digest(name):
            out[name] = (
                "source (changed since it was compiled: python -m migrationsim.native_build)"
            )
        else:
            out[name] = COMPILED
    return out


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads the named modules from their ``.py`` file, ahead of a compiled file beside it."""

    def __init__(self, names: set[str]):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(
            fullname, PACKAGE_DIR / f"{fullname.rpartition('.')[2]}.py"
        )


def install() -> None:
    """Called first by the package: a compiled module that does not match its source (or any,
    under ``MIGRATIONSIM_PURE``) is not imported; its source is."""
    from_source = {
        f"{PACKAGE}.{name}"
        for name, state in status().items()
        if state not in (COMPILED, NOT_COMPILED)  # a compiled file is there, not to be used
    }
    if from_source and not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(from_source))


def build(names: tuple[str, ...] = MODULES, jobs: int = 2) -> dict[str, str]:
    """Compile ``names`` with Cython in a scratch folder, then put each extension module beside
    its source and record the digest of the source it was compiled from."""
    from Cython.Build import cythonize  # build-time only
    from setuptools import Distribution, Extension

    digests = {name: source_digest(name) for name in names}  # before compiling: a later edit
    with tempfile.TemporaryDirectory(prefix="migrationsim-native-") as scratch:  # stays stale
        package = Path(scratch) / PACKAGE  # a package of its own: Cython names modules by it
        package.mkdir()
        (package / "__init__.py").touch()
        for name in names:
            shutil.copy(PACKAGE_DIR / f"{name}.py", package / f"{name}.py")
        extensions = cythonize(
            [Extension(f"{PACKAGE}.{n}", [str(package / f"{n}.py")]) for n in names],
            compiler_directives={"language_level": 3, "annotation_typing": False},
            quiet=True,
        )
        lib = Path(scratch) / "lib"
        dist = Distribution({"name": PACKAGE, "ext_modules": extensions})
        dist.script_name, dist.verbose = "migrationsim.native", 0
        command = dist.get_command_obj("build_ext")
        command.build_lib, command.build_temp = str(lib), str(Path(scratch) / "temp")
        command.parallel = jobs
        dist.run_command("build_ext")
        for name in names:
            for old in compiled_files(name):
                old.unlink()
            (built,) = (lib / PACKAGE).glob(f"{name}.*")
            shutil.copy(built, PACKAGE_DIR / built.name)
    record = {**_recorded(), **digests}
    BUILD_RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return status()


install()  # on import (the package imports this module first, before any it may load compiled)
