import pytest

from migrationsim import build_spec, simulate


@pytest.fixture
def run():
    """Simulate with build_spec's keyword arguments; returns the result dict (the CLI's JSON)."""

    def _run(**params):
        return simulate(build_spec(**params)).to_dict()

    return _run


# Reference cases check the closed forms, which count neither device state nor resume time.
CLOSED_FORM = {"device_state": 0, "resume_time": 0}
