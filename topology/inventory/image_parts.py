"""Images and registries in the graph (contract v2), built from rows in memory: pure functions.

- an ``image`` node for each image of a daemon's cache, inside that daemon (``tags``, ``size``
  in bytes, ``digests``, how many of the daemon's containers run it: ``users``);
- an ``image`` edge from each container to the image it runs (by image ID, on its own daemon);
- a ``registry`` node for each registry an image's repository lives in, with no parent, and a
  ``registry`` edge from the image to it (``repositories`` there; ``pulled`` when a repository
  digest says the image was pulled from or pushed to it, not only tagged for it).

Where a repository lives follows Docker's reference rules (``engine.references``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from topology.engine.errors import MalformedAnswer
from topology.engine.references import DOCKER_HUB, parse_reference
from topology.inventory.graph_rows import ContainerLike, ImageLike

Node = dict[str, Any]
Edge = dict[str, Any]


def image_id(engine_id: str, image_hex: str) -> str:
    return f"image:{engine_id}/{image_hex}"


def registry_id(registry: str) -> str:
    return f"registry:{registry}"


def image_edge_id(container_hex: str, target: str) -> str:
    return f"image:{container_hex}->{target}"


def registry_edge_id(image_node: str, registry: str) -> str:
    return f"registry:{image_node}->{registry_id(registry)}"


def edge_ends(edge_id: str) -> tuple[str, str] | None:
    """The node ids an image or registry edge id names, or None for another kind."""
    kind, _, rest = edge_id.partition(":")
    source, arrow, target = rest.partition("->")
    if not arrow:
        return None
    if kind == "image":
        return f"container:{source}", target
    if kind == "registry" and source.startswith("image:"):
        return source, target
    return None


def registries(tags: Iterable[str], digests: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Registry to ``{"repositories": [...], "pulled": bool}`` for an image's references."""
    found: dict[str, dict[str, Any]] = {}
    for text, pulled in [*((t, False) for t in tags), *((d, True) for d in digests)]:
        try:
            reference = parse_reference(text)
        except MalformedAnswer:
            continue  # stored rows were checked when read; an old row is no reason to fail
        entry = found.setdefault(reference.registry, {"repositories": [], "pulled": False})
        if reference.repository not in entry["repositories"]:
            entry["repositories"].append(reference.repository)
        entry["pulled"] = entry["pulled"] or pulled
    for entry in found.values():
        entry["repositories"].sort()
    return dict(sorted(found.items()))


def short_id(image_hex: str) -> str:
    return image_hex.partition(":")[2][:12] or image_hex[:12]


def image_node(image: ImageLike, engine_id: str, users: int = 0, stale: bool = False) -> Node:
    tags = list(image.tags or ())
    return {
        "id": image_id(engine_id, image.image_id),
        "kind": "image",
        "parent": f"daemon:{engine_id}",
        "label": tags[0] if tags else f"<none> {short_id(image.image_id)}",
        "status": "stale" if stale else "up",
        "image_id": image.image_id,
        "short_id": short_id(image.image_id),
        "tags": tags,
        "digests": list(image.digests or ()),
        "size": int(image.size or 0),
        "created": image.created.isoformat() if image.created else None,
        "labels": image.labels or {},
        "registries": list(registries(tags, image.digests or ())),
        "users": users,
    }


def registry_node(registry: str) -> Node:
    return {
        "id": registry_id(registry),
        "kind": "registry",
        "parent": None,
        "label": registry,
        "status": "up",
        "host": registry,
        "docker_hub": registry == DOCKER_HUB,
    }


def daemon_parts(
    engine_id: str,
    containers: Iterable[ContainerLike],
    images: Iterable[ImageLike],
    stale: bool = False,
) -> tuple[list[Node], list[Edge]]:
    """A daemon's image nodes, the ``image`` edges of its containers to them and their
    ``registry`` edges (the registry nodes are global: ``registry_nodes``)."""
    images = list(images)
    known = {image.image_id for image in images}
    known_hex = {image.image_id.partition(":")[2]: image.image_id for image in images}
    users: dict[str, int] = {}
    edges: list[Edge] = []
    for container in containers:
        runs = (
            container.image_id if container.image_id in known else known_hex.get(container.image_id)
        )
        if runs is None:  # (an engine may name it without its algorithm: Podman's listing)
            continue
        users[runs] = users.get(runs, 0) + 1
        target = image_id(engine_id, runs)
        edges.append(
            {
                "id": image_edge_id(container.container_id, target),
                "kind": "image",
                "source": f"container:{container.container_id}",
                "target": target,
                "reference": container.image,
            }
        )
    nodes = []
    for image in images:
        node = image_node(image, engine_id, users.get(image.image_id, 0), stale)
        nodes.append(node)
        for registry, entry in registries(node["tags"], node["digests"]).items():
            edges.append(
                {
                    "id": registry_edge_id(node["id"], registry),
                    "kind": "registry",
                    "source": node["id"],
                    "target": registry_id(registry),
                    **entry,
                }
            )
    return nodes, edges


def registry_nodes(images: Iterable[ImageLike]) -> list[Node]:
    """One node for every registry some image's repository lives in."""
    found: set[str] = set()
    for image in images:
        found |= set(registries(image.tags or (), image.digests or ()))
    return [registry_node(registry) for registry in sorted(found)]


def compose(labels: dict[str, str] | None) -> dict[str, Any] | None:
    """``{project, service, number}`` from Compose's labels, or None for a container Compose
    did not make (``number`` is None when the label is missing or not a number)."""
    labels = labels or {}
    project = labels.get("com.docker.compose.project")
    if not project:
        return None
    number = labels.get("com.docker.compose.container-number", "")
    return {
        "project": project,
        "service": labels.get("com.docker.compose.service", ""),
        "number": int(number) if number.isdigit() and len(number) < 10 else None,
    }
