"""Settings for the test suite (pyproject.toml names this module): ``playground.settings`` with
the suite's defaults, so that a bare ``pytest`` works from a fresh clone with nothing exported.

The defaults go into the environment before the settings read it, and stay there for the
processes the tests start (daphne, workers, ``manage.py``), as ``./test`` used to export them:

- ``PLAYGROUND_VAR_DIR=var/test``: the suite's database, broker and channel layer files stay apart
  from those of a ``./run`` on the same clone (a worker there must not pick up the tests' tasks);
- ``DJANGO_SECURE_SSL_REDIRECT=false``: the in-process test client speaks plain HTTP, even in
  production mode (``tests/web/security/test_production.py`` checks the production defaults in
  a subprocess of its own);
- ``PLAYGROUND_REDIS_PREFIX``: this run's own Redis keys.

(A ``conftest.py`` would be too late: pytest-django loads the settings before any conftest.)
"""

import os
from pathlib import Path

_VAR_DIR = Path(__file__).resolve().parent.parent / "var" / "test"
os.environ.setdefault("PLAYGROUND_VAR_DIR", str(_VAR_DIR))
if "PLAYGROUND_STATIC_ROOT" not in os.environ:
    # an existing (empty) STATIC_ROOT, as after `collectstatic`: production mode then serves
    # from it, and WhiteNoise does not warn about a missing folder
    _static_root = Path(os.environ["PLAYGROUND_VAR_DIR"]) / "static"
    _static_root.mkdir(parents=True, exist_ok=True)
    os.environ["PLAYGROUND_STATIC_ROOT"] = str(_static_root)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
# its own Redis keys (production mode): two test runs on one Redis do not take each other's
# tasks or messages
os.environ.setdefault("PLAYGROUND_REDIS_PREFIX", f"test-{os.getpid()}:")

from playground.settings import *  # noqa: E402, F403

# A test's database transaction is invisible to other threads: slow views run inline here
# (playground/ops/offload.py); the tests against a real server take the worker-thread path.
PLAYGROUND_VIEWS_IN_WORKER_THREADS = False

# Each test run on a shared PostgreSQL gets its own test database (two runs at once on one
# server would otherwise drop each other's); .ci/run drops those left by killed runs.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_playground_{os.getpid()}"}  # noqa: F405

# Many tests plan many scenarios from one session; the limit on new plans is tested where it
# is the subject (tests/web/security/test_limits.py sets it).
PLAYGROUND_PLANS_PER_MINUTE = 0
PLAYGROUND_FLEETS_PER_HOUR = 0  # the same for fleets (tests/web/security/test_limits.py sets it)
PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = 0  # and for scenario checks (test_limits.py sets it)
