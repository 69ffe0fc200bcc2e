"""Publishing graph deltas to the channel layer, for the websocket consumers to forward."""

from __future__ import annotations

from topology.channel_layer import send_to_group
from topology.inventory.changes import ChangeSet

GROUP = "topology"


def publish(changes: ChangeSet) -> bool:
    """Send ``changes`` as a ``delta`` message to every connected client; False if it could not."""
    if not changes:
        return True
    message = {"type": "graph.delta", "message": changes.message()}
    return send_to_group(GROUP, message, f"graph version {changes.version}")


def publish_access_change() -> bool:
    """Tell every connected client's consumer that who may see what changed (a membership, a
    host's team): each one re-reads its user's hosts and sends a fresh snapshot if they differ."""
    return send_to_group(GROUP, {"type": "graph.access"}, "an access change")
