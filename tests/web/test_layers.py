"""The embedded mode's SQLite channel layer: the channel layer interface, across instances
(each process has its own) and across real processes."""

import asyncio
import sys
import time

import pytest
from channels.exceptions import ChannelFull

from playground.ops.layers import SQLiteChannelLayer

pytestmark = pytest.mark.asyncio


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "channels.sqlite3")


async def test_a_message_sent_to_a_channel_is_received_once(path):
    layer = SQLiteChannelLayer(path)
    await layer.send("jobs", {"type": "hello", "n": 1})
    assert await layer.receive("jobs") == {"type": "hello", "n": 1}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("jobs"), 0.2)


async def test_a_group_message_reaches_members_in_other_instances_in_order(path):
    web, worker = SQLiteChannelLayer(path), SQLiteChannelLayer(path)  # two "processes"
    a, b = await web.new_channel(), await web.new_channel()
    await web.group_add("run.1", a)
    await web.group_add("run.1", b)
    for n in range(50):
        await worker.group_send("run.1", {"type": "run.events", "n": n})
    got_a = [(await web.receive(a))["n"] for _ in range(50)]
    got_b = [(await web.receive(b))["n"] for _ in range(50)]
    assert got_a == list(range(50)) and got_b == list(range(50))
    await web.close()


async def test_a_discarded_channel_gets_no_more_group_messages(path):
    layer = SQLiteChannelLayer(path)
    channel = await layer.new_channel()
    await layer.group_add("run.2", channel)
    await layer.group_discard("run.2", channel)
    await layer.group_send("run.2", {"type": "x"})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.2)
    await layer.close()


async def test_a_full_channel_refuses_sends_and_drops_group_sends(path):
    layer = SQLiteChannelLayer(path, capacity=2)
    await layer.send("small", {"type": "a"})
    await layer.send("small", {"type": "b"})
    with pytest.raises(ChannelFull):
        await layer.send("small", {"type": "c"})
    await layer.group_add("g", "small")
    await layer.group_send("g", {"type": "dropped"})  # no error, as the spec says
    assert [(await layer.receive("small"))["type"] for _ in range(2)] == ["a", "b"]


async def test_expired_messages_are_not_delivered(path):
    layer = SQLiteChannelLayer(path, expiry=0)
    await layer.send("old", {"type": "stale"})
    time.sleep(0.01)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("old"), 0.2)


async def test_flush_forgets_messages_and_groups(path):
    layer = SQLiteChannelLayer(path)
    await layer.send("c", {"type": "x"})
    await layer.group_add("g", "c")
    await layer.flush()
    await layer.group_send("g", {"type": "y"})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("c"), 0.2)


PUBLISHER = """
import asyncio, sys
from playground.ops.layers import SQLiteChannelLayer
async def main():
    layer = SQLiteChannelLayer(sys.argv[1], capacity=1000)  # the sender enforces capacity
    for n in range(200):
        await layer.group_send("run.9", {"type": "run.events", "n": n})
asyncio.run(main())
"""


async def test_group_messages_cross_real_processes(path):
    layer = SQLiteChannelLayer(path, capacity=1000)
    channel = await layer.new_channel()
    await layer.group_add("run.9", channel)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", PUBLISHER, path)
    got = [(await asyncio.wait_for(layer.receive(channel), 10))["n"] for _ in range(200)]
    assert await proc.wait() == 0
    assert got == list(range(200))
    await layer.close()
