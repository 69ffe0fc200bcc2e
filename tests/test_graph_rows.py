"""The graph's rows read as values: Python types as Django's converters give them, one decode
per distinct JSON text, and the same graph as model objects build, on the real engine too."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from tests.graph_schema import validate_graph
from tests.test_services import info_of, snapshot
from topology.engine.types import Mount
from topology.inventory import graph, graph_rows, polling, queries, services
from topology.inventory.models import Container
from topology.inventory.services import Place

NOW = timezone.now()


@pytest.mark.django_db
def test_values_have_the_types_the_models_give() -> None:
    mounts = (Mount("volume", "/var/lib/docker/volumes/data", "/data", True, name="data"),)
    services.reconcile(
        snapshot(info_of("1", mounts=mounts), info_of("2", mounts=mounts, privileged=True)),
        Place(),
    )
    tables = graph_rows.read_tables()
    (daemon,) = tables.daemons
    one, two = tables.containers
    model = Container.objects.get(pk=one.pk)
    assert isinstance(one.created, datetime) and one.created == model.created
    assert one.created.utcoffset() is not None
    assert daemon.watch_since is None or daemon.watch_since.utcoffset() is not None
    assert one.privileged is False and two.privileged is True
    assert one.labels == model.labels == {"app": "x"}
    assert one.mounts == model.mounts and one.mounts[0]["name"] == "data"
    assert one.mounts is two.mounts  # one text, decoded once
    assert [c.container_id for c in tables.containers] == [
        c.container_id for c in Container.objects.all()
    ]


@pytest.mark.django_db
def test_values_and_model_objects_build_the_same_graph() -> None:
    services.reconcile(snapshot(info_of("1"), info_of("2", labels={"a": "b"})), Place())
    assert graph.build_graph(queries.load_rows(), 1, NOW) == graph.build_graph(
        queries.load_model_rows(), 1, NOW
    )


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_the_real_engine_s_picture_is_the_same_read_either_way(world, network_world) -> None:
    polling.poll_everything(publish=False)
    values = graph.build_graph(queries.load_rows(), 1, NOW)
    validate_graph(values)
    kinds = {node["kind"] for node in values["nodes"]}
    assert {"host", "daemon", "container", "network", "volume", "image", "registry"} <= kinds
    assert {"network", "mount", "publishes", "image"} <= {edge["kind"] for edge in values["edges"]}
    assert any(node["kind"] == "daemon" and node["nesting"] for node in values["nodes"])
    assert values == graph.build_graph(queries.load_model_rows(), 1, NOW)
