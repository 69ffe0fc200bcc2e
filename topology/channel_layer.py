"""The one way anything is sent to the channel layer (Redis) for websocket consumers to forward."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def send_to_group(group: str, message: dict[str, Any], what: str) -> bool:
    """Send ``message`` to every consumer in ``group``; False (and a warning naming ``what``)
    when there is no channel layer or it does not answer. Never raises: a Redis outage loses
    live updates, never the change itself (clients catch up from the next snapshot)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as error:
        logger.warning("could not publish %s: %s", what, error)
        return False
    return True
