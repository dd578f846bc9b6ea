"""The embedded mode's Celery broker: kombu's ``filesystem://`` transport, each message made
visible only once it is whole.

kombu's own ``_put`` creates the message file under its final name and then writes it, and its
``_get`` takes any file with that name: a worker that polled in between took an empty message,
failed to decode it (``JSONDecodeError``) and died, an "Unrecoverable error" that left every
run queued until someone restarted the playground. Here a message is written under a name the
consumer skips (``….part``) and then renamed to its final name, which is atomic on one
filesystem (``os.replace``)."""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".part"  # "<n>_<uuid>.<queue>.msg.part": not "<queue>.msg", so never taken


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: written whole, then shown under its final name."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
