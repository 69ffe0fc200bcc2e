"""Publishing graph deltas to the channel layer, for the websocket consumers to forward."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from topology.inventory.services import ChangeSet

logger = logging.getLogger(__name__)

GROUP = "topology"


def publish(changes: ChangeSet) -> bool:
    """Send ``changes`` as a ``delta`` message to every connected client; False if it could not."""
    if not changes:
        return True
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(
            GROUP, {"type": "graph.delta", "message": changes.message()}
        )
    except Exception as error:
        logger.warning("could not publish graph version %s: %s", changes.version, error)
        return False
    return True


def publish_access_change() -> bool:
    """Tell every connected client's consumer that who may see what changed (a membership, a
    host's team): each one re-reads its user's hosts and sends a fresh snapshot if they differ."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": "graph.access"})
    except Exception as error:
        logger.warning("could not publish an access change: %s", error)
        return False
    return True
