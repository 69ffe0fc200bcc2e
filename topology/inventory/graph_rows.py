"""The rows a graph is built from, read as plain values: one query per table, no model objects.

At 10,000 containers, Django's model objects and its per-field converters cost five times what
the query does. Here each table is read by the query Django writes for it (``values_list``, so
columns, quoting and ordering are Django's), and each value is turned into its Python type once
(JSON text decoded once per distinct text in a read: a fleet's containers share most mounts,
ports and networks). The rows carry the same attribute names as the models, so the graph's
builders take either: ``services`` hands them model objects, ``queries`` these.

Everything here is read-only, and nothing in a row is ever changed in place: equal JSON texts
decode to one shared value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from topology.inventory.models import Container, Daemon, Image, Network, Volume


@dataclass(frozen=True, slots=True)
class DaemonRow:
    pk: int
    engine_id: str
    name: str
    host_id: int | None
    container_id: int | None
    endpoint: str
    engine: str
    identity: str
    access: str
    version: str
    api_version: str
    operating_system: str
    nesting: int
    status: str
    last_error: str
    watch: str
    watch_since: datetime | None
    behind: int | None


@dataclass(frozen=True, slots=True)
class ContainerRow:
    pk: int
    daemon_id: int
    container_id: str
    name: str
    image: str
    image_id: str
    role: str
    privileged: bool
    state: str
    created: datetime | None
    labels: dict[str, Any]
    mounts: list[dict[str, Any]]
    ports: list[dict[str, Any]]
    networks: list[str]
    attachments: list[dict[str, Any]]
    network_mode: str
    socket_target_id: int | None
    client_target_id: int | None
    created_by: str
    health: str
    health_log: dict[str, Any]
    stale: bool


@dataclass(frozen=True, slots=True)
class NetworkRow:
    pk: int
    daemon_id: int
    network_id: str
    name: str
    driver: str
    scope: str
    internal: bool
    attachable: bool
    ingress: bool
    ipv6: bool
    subnets: list[str]
    gateways: list[str]
    labels: dict[str, Any]
    created: datetime | None


@dataclass(frozen=True, slots=True)
class VolumeRow:
    pk: int
    daemon_id: int
    name: str
    driver: str
    scope: str
    labels: dict[str, Any]
    created: datetime | None


@dataclass(frozen=True, slots=True)
class ImageRow:
    pk: int
    daemon_id: int
    image_id: str
    tags: list[str]
    digests: list[str]
    size: int
    created: datetime | None
    labels: dict[str, Any]


class _Decoder:
    """Database values in their Python types, as Django's converters would give them."""

    def __init__(self) -> None:
        self.texts: dict[Any, Any] = {}

    def json(self, value: Any) -> Any:
        if not isinstance(value, str | bytes):
            return value  # a driver that decodes JSON itself
        found = self.texts.get(value)
        if found is None:
            found = self.texts[value] = json.loads(value)
        return found

    @staticmethod
    def moment(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def converter(self, field: Field) -> Callable[[Any], Any] | None:
        kind = field.get_internal_type()
        if kind == "JSONField":
            return self.json
        if kind == "DateTimeField":
            return self.moment
        if kind == "BooleanField":
            return bool
        return None


def _read(model: type[Model], row_type: type, decoder: _Decoder) -> list[Any]:
    """``model``'s rows as ``row_type`` (its fields named as the model's attributes)."""
    names = [f.name for f in fields(row_type)]
    by_attribute = {f.attname: f for f in model._meta.concrete_fields}
    by_attribute["pk"] = model._meta.pk
    convert = [
        (index, change)
        for index, name in enumerate(names)
        if (change := decoder.converter(by_attribute[name])) is not None
    ]
    sql, params = model.objects.values_list(*names).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not convert:
        return [row_type(*values) for values in found]
    rows = []
    for values in found:
        values = list(values)
        for index, change in convert:
            values[index] = change(values[index])
        rows.append(row_type(*values))
    return rows


@dataclass
class Tables:
    """Every table the graph reads, as values (hosts stay model objects: a few, with a team)."""

    daemons: list[DaemonRow]
    containers: list[ContainerRow]
    networks: list[NetworkRow]
    volumes: list[VolumeRow]
    images: list[ImageRow]


def read_tables(*, networks: bool = True, images: bool = True) -> Tables:
    """The daemons, containers, networks, volumes and images, as values, in the models' order."""
    decoder = _Decoder()
    return Tables(
        daemons=_read(Daemon, DaemonRow, decoder),
        containers=_read(Container, ContainerRow, decoder),
        networks=_read(Network, NetworkRow, decoder) if networks else [],
        volumes=_read(Volume, VolumeRow, decoder),
        images=_read(Image, ImageRow, decoder) if images else [],
    )


# What the graph's builders take: a model object (``services``, for deltas) or its row of
# values (``queries``, for a whole graph).
DaemonLike = Daemon | DaemonRow
ContainerLike = Container | ContainerRow
NetworkLike = Network | NetworkRow
VolumeLike = Volume | VolumeRow
ImageLike = Image | ImageRow
