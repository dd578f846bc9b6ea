import pytest
from channels.layers import channel_layers
from django.test import Client


@pytest.fixture(autouse=True)
def unpaced_frames(settings):
    """Fleet runs in this process hand their frames over unpaced (a demo run is 200 frames at
    once: paced, 3 s); tests/web/test_frame_pacing.py paces them, and so do the real stacks."""
    settings.PLAYGROUND_FLEET_FRAMES_PER_S = 0


@pytest.fixture
def in_memory_layer(settings):
    """The consumer and publisher tests use Channels' in-memory layer (one process)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield channel_layers["default"]
    channel_layers.backends.clear()


@pytest.fixture
def valid_params():
    return {
        "memory": "4GiB",
        "workload": "web",
        "dirty_rate": "",
        "working_set": "",
        "bandwidth": "10Gbit/s",
        "max_bandwidth": "",
        "policy": "qemu",
        "downtime_limit": "300ms",
        "auto_converge": False,
        "post_copy": False,
        "guest_watches": True,
        "resolution": "fluid",
        "speed": "10",
        "seed": 1,
    }


@pytest.fixture
def form_data(valid_params):
    """What a browser posts: checkboxes present only when ticked."""
    data = {k: v for k, v in valid_params.items() if not isinstance(v, bool)}
    data.update({k: "on" for k, v in valid_params.items() if v is True})
    return data


@pytest.fixture(scope="session", params=["embedded", "production"])
def stack(request, tmp_path_factory):
    """daphne + a Celery worker as real subprocesses, once per mode for the whole session."""
    from .support import running_stack

    with running_stack(request.param, tmp_path_factory.mktemp(f"stack-{request.param}")) as running:
        running.mode = request.param
        yield running


# --- who the tests are ------------------------------------------------------------------------------
# Most tests act as one signed-in user, "alice", and make what they look at as her (``owner=user``
# or ``visitor=alice``): the feature under test, not access. tests/web/test_security.py covers
# strangers, anonymous visitors and staff.


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def alice(user):
    """``user`` as ``playground.accounts.access`` sees her: pass it as ``visitor=`` to the services."""
    from playground.accounts.access import Visitor

    return Visitor(user.pk, "", False, user.username)


@pytest.fixture
def client(user):
    """pytest-django's ``client``, signed in as ``user``."""
    signed_in = Client()
    signed_in.force_login(user)
    return signed_in


@pytest.fixture
def anon_client():
    return Client()


@pytest.fixture
def replace_runner(monkeypatch):
    """``replace_runner("run", fake)``: the pipeline runs ``fake(run, sink)`` for that kind of
    run during this test (the kind's model, messages and limits stay)."""
    import dataclasses

    from playground.runs import kinds

    def replace(name, runner):
        monkeypatch.setitem(kinds._KINDS, name, dataclasses.replace(kinds.get(name), runner=runner))

    return replace
