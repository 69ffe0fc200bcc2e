"""Images into the database, and what any change does to the image parts of the graph.

Called only from ``services`` actions, inside their transaction. An image is written only when
its digest differs, so a quiet poll writes nothing. Image nodes and the ``image`` and
``registry`` edges are derived from rows: their delta is the difference between the parts
built before a change and after it, computed only when something changed. Registry nodes are
shared by every daemon: ``settle_registries`` makes a delta add each registry an upserted edge
leads to (so a client that did not have it gets it) and remove only those no image uses any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from topology.engine.types import ImageInfo
from topology.inventory import image_parts
from topology.inventory.connectivity_services import (
    RowChanges,
    _before,
    _difference,
    _reconcile_rows,
)
from topology.inventory.models import Container, Daemon, Image

Node = dict[str, Any]


@dataclass
class ImageChanges:
    """What one action did to a daemon's images: old versions of changed rows, new pks, gone
    rows. Empty: no image changed."""

    old: dict[int, Image] = field(default_factory=dict)
    new: set[int] = field(default_factory=set)
    gone: list[Image] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.old or self.new or self.gone)


def _image_fields(info: ImageInfo) -> dict[str, Any]:
    fields = asdict(info)
    fields["image_id"] = fields.pop("id")
    fields["tags"] = list(info.tags)
    fields["digests"] = list(info.digests)
    return fields


def reconcile_images(daemon: Daemon, listed: Iterable[ImageInfo]) -> ImageChanges:
    """Make the stored images of ``daemon`` what ``listed`` says (only what differs)."""
    wanted = {info.id: _image_fields(info) for info in listed}
    old, new, gone = _reconcile_rows(Image, daemon, "image_id", wanted, set())  # type: ignore[arg-type]
    return ImageChanges(old, new, gone)


def _registry_ids(images: Iterable[Image]) -> set[str]:
    return {node["id"] for node in image_parts.registry_nodes(images)}


def add_image_delta(
    daemon: Daemon, rows: RowChanges, images: ImageChanges | None, delta: Any
) -> None:
    """Add to ``delta`` what the action did to ``daemon``'s image parts (containers changing
    change which images they run and how many use each)."""
    images = images or ImageChanges()
    if not rows and not images:
        return
    if not images and not settings.TOPOLOGY_DISCOVER_IMAGES:
        return
    after_images = list(Image.objects.filter(daemon=daemon))
    if not after_images and not images:
        return
    after_containers = list(Container.objects.filter(daemon=daemon))
    before_containers = _before(
        after_containers, rows.old_containers, rows.new_containers, rows.gone_containers
    )
    before_images = _before(after_images, images.old, images.new, images.gone)
    _difference(
        image_parts.daemon_parts(
            daemon.engine_id, before_containers, before_images, rows.was_stale
        ),
        image_parts.daemon_parts(daemon.engine_id, after_containers, after_images, rows.is_stale),
        delta,
    )
    delta.remove_nodes += sorted(_registry_ids([*images.old.values(), *images.gone]))


def settle_registries(delta: Any) -> None:
    """Registry nodes in ``delta``: each one an upserted registry edge leads to is upserted
    with it; a removal stands only when no stored image uses that registry any more."""
    upserted = {node["id"] for node in delta.upsert_nodes}
    for edge in delta.upsert_edges:
        if edge["kind"] == "registry" and edge["target"] not in upserted:
            upserted.add(edge["target"])
            delta.upsert_nodes.append(
                image_parts.registry_node(edge["target"].removeprefix("registry:"))
            )
    removed = [node_id for node_id in delta.remove_nodes if node_id.startswith("registry:")]
    if not removed:
        return
    used = _registry_ids(Image.objects.only("tags", "digests"))
    unused = {node_id for node_id in removed if node_id not in used}
    delta.remove_nodes[:] = [
        node_id
        for node_id in dict.fromkeys(delta.remove_nodes)
        if not node_id.startswith("registry:") or node_id in unused
    ]


def stale_nodes(daemon: Daemon, stale: bool) -> list[Node]:
    """The image nodes of ``daemon``, marked stale or not."""
    if not settings.TOPOLOGY_DISCOVER_IMAGES:
        return []
    images = list(Image.objects.filter(daemon=daemon))
    if not images:
        return []
    containers = Container.objects.filter(daemon=daemon)
    nodes, _edges = image_parts.daemon_parts(daemon.engine_id, containers, images, stale)
    return nodes


def node_ids_under(daemons: Iterable[Daemon]) -> list[str]:
    """The image node ids of these daemons, and the registries those images use (candidates
    for removal: ``settle_registries`` keeps the ones still used elsewhere)."""
    daemons = list(daemons)
    engines = {d.pk: d.engine_id for d in daemons}
    rows = list(
        Image.objects.filter(daemon__in=daemons).only("daemon", "image_id", "tags", "digests")
    )
    ids = [image_parts.image_id(engines[row.daemon_id], row.image_id) for row in rows]
    return ids + sorted(_registry_ids(rows))


def prune_under(daemons: list[Daemon]) -> list[str]:
    """Delete the images of daemons unreachable past the grace period; the node ids that go."""
    gone = node_ids_under(daemons)
    Image.objects.filter(daemon__in=daemons).delete()
    return gone
