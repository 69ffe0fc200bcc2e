"""The one way to the channel layer, on the real Redis: a message reaches the group; a channel
layer that does not answer is a False and a warning, never an exception."""

from __future__ import annotations

import copy
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from topology.channel_layer import send_to_group

pytestmark = pytest.mark.usefixtures("channel_layer_prefix")


def test_a_message_reaches_every_member_of_the_group() -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("test-group", channel)
    assert send_to_group("test-group", {"type": "test.message", "n": 1}, "a test message")
    assert async_to_sync(layer.receive)(channel) == {"type": "test.message", "n": 1}


def test_a_channel_layer_that_does_not_answer_is_false_and_a_warning(
    settings, private_redis, caplog
) -> None:  # type: ignore[no-untyped-def]
    url, process = private_redis
    process.kill()
    process.wait()
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [{"address": url, "socket_timeout": 1}]
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    caplog.set_level(logging.WARNING, logger="topology.channel_layer")
    try:
        assert send_to_group("test-group", {"type": "test.message"}, "a test message") is False
    finally:
        channel_layers.backends.clear()
    assert "could not publish a test message" in caplog.text


def test_blocking_code_publishes_through_one_loop_of_its_own() -> None:
    """Many messages from blocking code (a worker, the watcher's database thread): every one
    arrives, through one loop in one thread, not a new thread and loop per message."""
    import threading

    from topology import channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("test-group", channel)
    loops = set()
    for n in range(20):
        assert send_to_group("test-group", {"type": "test.message", "n": n}, "a test message")
        loops.add(channel_layer._publishing.loop)
    assert len(loops) == 1
    assert sum(t.name == "channel-layer" for t in threading.enumerate()) == 1

    async def received() -> list[int]:
        return [(await layer.receive(channel))["n"] for _ in range(20)]

    assert sorted(async_to_sync(received)()) == list(range(20))
