"""The embedded broker (kombu's filesystem transport) shows a message only once it is whole:
kombu's own put created the file under its final name before writing it, a worker polling in
between read an empty message and died (JSONDecodeError, "Unrecoverable error")."""

import os

import pytest
from kombu import Connection

from playground.ops import broker


@pytest.fixture
def channel(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as c:
        yield c.default_channel, folder


def test_a_message_is_not_in_the_queue_until_it_is_whole(channel, monkeypatch):
    ch, folder = channel
    seen_while_writing = []
    real_replace = os.replace

    def replace(src, dst):
        with pytest.raises(Exception) as nothing:  # the consumer finds no message yet
            ch._get("celery")
        seen_while_writing.append(type(nothing.value).__name__)
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace)
    ch._put("celery", {"body": "x" * 10_000})
    assert seen_while_writing == ["Empty"]
    assert ch._get("celery") == {"body": "x" * 10_000}
    assert os.listdir(folder) == []


def test_a_file_still_being_written_is_skipped(channel):
    ch, folder = channel
    (folder / f"1_abc.celery.msg{broker.PARTIAL_SUFFIX}").write_bytes(b"")
    ch._put("celery", {"n": 1})
    assert ch._get("celery") == {"n": 1}


def test_the_embedded_settings_use_it():
    from django.conf import settings

    if settings.CELERY_BROKER_URL == "filesystem://":
        assert settings.CELERY_BROKER_TRANSPORT == "playground.ops.broker:Transport"
