"""The channel layer's 24-hour group expiry, compressed to 2 s: a wall screen that only joined its
group at connect would hear no delta after it; the consumer joins again on a timer."""

from __future__ import annotations

import asyncio

import pytest

from tests.test_consumers import change_and_publish, connected, container, run, session_headers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]


@pytest.fixture
def short_group_expiry(settings):  # type: ignore[no-untyped-def]
    """The channel layer forgets a group member 2 s after it last joined: a day, compressed."""
    import copy

    from channels.layers import channel_layers

    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["group_expiry"] = 2  # whole seconds: Redis EXPIRE
    settings.CHANNEL_LAYERS = layers
    settings.TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS = 0.3
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_a_wall_screen_outlives_the_group_expiry(admin_user, short_group_expiry) -> None:
    """Past the channel layer's group expiry (a day, here 2 s) a client that only joined at
    connect hears no delta again; the consumer joins again on a timer, so deltas keep coming."""
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, _snapshot = await connected(headers)
        await asyncio.sleep(4)
        changes = await change_and_publish(container("a", "after-a-day"))
        while (message := await communicator.receive_json_from(timeout=5))["type"] != "delta":
            assert message["type"] == "heartbeat"
        assert message["version"] == changes.version
        assert f"container:{'a' * 64}" in {n["id"] for n in message["upsert"]["nodes"]}
        await communicator.disconnect()

    run(scenario)
