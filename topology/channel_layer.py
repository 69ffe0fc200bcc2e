"""The one way anything is sent to the channel layer (Redis) for websocket consumers to forward."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from topology.outages import Outage

logger = logging.getLogger(__name__)

_outages: weakref.WeakKeyDictionary[Any, Outage] = weakref.WeakKeyDictionary()


def _outage_of(layer: Any) -> Outage:
    if layer not in _outages:
        _outages[layer] = Outage(
            "The channel layer (Redis)",
            logger,
            "live updates are not sent meanwhile (clients catch up with a snapshot)",
            longest_wait=5.0,
        )
    return _outages[layer]


def send_to_group(group: str, message: dict[str, Any], what: str) -> bool:
    """Send ``message`` to every consumer in ``group``; False when there is no channel layer
    or it does not answer. Never raises: a Redis outage loses live updates, never the change
    itself (clients catch up from the next snapshot). An outage is one warning (naming the
    first ``what`` that could not go) and one line when the layer answers again; in between,
    the layer is asked again only as its backoff allows (at most 5 s apart)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    outage = _outage_of(layer)
    if not outage.due:
        return False
    try:
        send = async_to_sync(layer.group_send)
    except RuntimeError as error:  # called from a thread with a running loop: not an outage
        logger.warning("could not publish %s from this thread: %s", what, error)
        return False
    try:
        send(group, message)
    except RuntimeError as error:
        if "same thread as an async event loop" not in str(error):
            outage.failed(f"could not publish {what}: {error}")
        return False
    except Exception as error:
        outage.failed(f"could not publish {what}: {error}")
        return False
    outage.answered()
    return True
