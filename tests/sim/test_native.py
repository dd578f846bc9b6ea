"""The compiled pre-copy loop (migrationsim/native.py) gives every figure the source gives, to the
last bit, and is used only while it matches its source.

Each comparison runs the model in two fresh interpreters, one with the compiled modules and one
with ``MIGRATIONSIM_PURE=1``, and compares their JSON as text. Without a compiled build the tests
skip (``./test`` builds one; under CI=true that skip is a failure: tests/conftest.py).
"""

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrationsim import PRESETS, InvalidParameter, build_spec, native

ROOT = Path(__file__).resolve().parents[2]
BUILD_MISSING = "build missing:"  # tests/conftest.py fails such a skip under CI=true

compiled = pytest.mark.skipif(
    any(state != "compiled" for state in native.status(honour_pure=False).values()),
    reason=f"{BUILD_MISSING} the model is not compiled (python -m migrationsim.native_build)",
)

# Answers for the specs in argv[1] (JSON list of build_spec keywords), as JSON: every round too.
ANSWERS = """
import json, sys
from migrationsim import build_spec, native, simulate
specs = json.loads(sys.argv[1])
print(json.dumps({
    "modules": native.status(),
    "answers": [simulate(build_spec(**spec)).to_dict() for spec in specs],
}, sort_keys=True))
"""


def answers(specs: list[dict], pure: bool, package_root: Path = ROOT) -> dict:
    env = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
    if pure:
        env[native.PURE_ENV] = "1"
    out = subprocess.run(
        [sys.executable, "-c", ANSWERS, json.dumps(specs)],
        cwd=package_root,
        env={**env, "PYTHONPATH": str(package_root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def random_specs(count: int, seed: int) -> list[dict]:
    """Guests across the parameters the pre-copy loop reads: policies, caps, patterns, timeouts."""
    draw = random.Random(seed)
    specs = []
    while len(specs) < count:
        memory = draw.choice([64, 300, 1024, 4096, 16384]) * 1024**2
        spec = {
            "memory": memory,
            "policy": draw.choice(["textbook", "qemu", "xen", "gce"]),
            "dirty_rate": draw.uniform(1e6, 4e9),
            "working_set": draw.uniform(0.01, 0.9) * memory,
            "write_pattern": draw.choice(["random", "sequential"]),
            "dirty_model": draw.choice(["saturating", "linear"]),
            "zero_fraction": draw.choice([0.0, 0.3]),
            "layout": draw.choice(["hot,cold,zero", "cold,zero,hot"]),
            "bandwidth": draw.uniform(100e6, 25e9) / 8,
            "downtime_limit": draw.uniform(0.02, 1.0),
            "auto_converge": draw.random() < 0.3,
            "post_copy": draw.random() < 0.2,
            "timeout_action": draw.choice(["abort", "force-complete", "post-copy"]),
            "completion_timeout": draw.uniform(5.0, 200.0),
        }
        if spec["policy"] == "qemu" and draw.random() < 0.5:
            spec["max_bandwidth"] = draw.uniform(10e6, 2e9)
        if memory <= 1024**3 and draw.random() < 0.3:
            spec["resolution"] = "pages"
        try:
            build_spec(**spec)  # e.g. post-copy under xen: refused, drawn again
        except InvalidParameter:
            continue
        specs.append(spec)
    return specs


@compiled
def test_every_preset_gives_the_same_figures_compiled_and_from_source():
    specs = [{"workload": name} for name in PRESETS]
    specs += [{"workload": name, "resolution": "pages", "memory": "1GiB"} for name in PRESETS]
    fast, pure = answers(specs, pure=False), answers(specs, pure=True)
    assert set(fast["modules"].values()) == {"compiled"}
    assert all(state.startswith("source") for state in pure["modules"].values())
    assert json.dumps(fast["answers"]) == json.dumps(pure["answers"])


@compiled
def test_random_guests_give_the_same_figures_compiled_and_from_source():
    specs = random_specs(120, seed=15)
    fast, pure = answers(specs, pure=False), answers(specs, pure=True)
    for spec, a, b in zip(specs, fast["answers"], pure["answers"], strict=True):
        assert json.dumps(a) == json.dumps(b), spec


@compiled
def test_a_compiled_module_is_used_only_while_its_source_is_the_one_compiled(tmp_path):
    shutil.copytree(
        native.PACKAGE_DIR, tmp_path / "migrationsim", ignore=shutil.ignore_patterns("__pycache__")
    )
    edited = tmp_path / "migrationsim" / "ratelimit.py"
    edited.write_text(edited.read_text() + "\n# an edit after the build\n")
    modules = answers([], pure=False, package_root=tmp_path)["modules"]
    assert modules["ratelimit"].startswith("source (changed since it was compiled")
    assert modules["precopy"] == "compiled"
    loaded = subprocess.run(
        [sys.executable, "-c", "import migrationsim.ratelimit as m; print(m.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == str(edited)


@compiled
def test_a_build_without_its_record_is_not_trusted(tmp_path):
    shutil.copytree(
        native.PACKAGE_DIR, tmp_path / "migrationsim", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "migrationsim" / native.BUILD_RECORD.name).unlink()
    modules = answers([], pure=False, package_root=tmp_path)["modules"]
    assert all(state.startswith("source (changed") for state in modules.values())


def test_without_a_build_every_module_runs_from_its_source(tmp_path):
    shutil.copytree(
        native.PACKAGE_DIR,
        tmp_path / "migrationsim",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", native.BUILD_RECORD.name),
    )
    result = answers([{"workload": "oltp"}], pure=False, package_root=tmp_path)
    assert all(state.startswith("source (not compiled") for state in result["modules"].values())
    assert result["answers"][0]["outcome"]
