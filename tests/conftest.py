"""Shared by the whole suite.

Tests that need a service (Redis, PostgreSQL, Chromium) skip with a reason that starts with
``SERVICE_UNAVAILABLE`` when it is missing. Under ``CI=true`` such a skip is turned into a
failure: CI installs and starts every service, so a skip there means something is broken.
The same holds for ``BUILD_MISSING``: the set-up (./test) compiles the model's hot modules.
Under ``CI=true`` the property tests (Hypothesis) draw the same examples on every run.
"""

import os

import pytest
from hypothesis import settings

SERVICE_UNAVAILABLE = "service unavailable:"
BUILD_MISSING = "build missing:"  # the compiled model (tests/sim/test_native.py): ./test builds it


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


# Property tests draw new examples on every run on a laptop (that is how they find things), and
# the same ones on every CI run: a run of main is then red or green for its code, never for the
# examples it happened to draw (what a laptop finds is pinned as a test of its own).
settings.register_profile("ci", derandomize=True)
if _in_ci():
    settings.load_profile("ci")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and _in_ci()):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if SERVICE_UNAVAILABLE in reason or BUILD_MISSING in reason:
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true, so a missing service or build is a failure, not a skip: {reason}"
        )
