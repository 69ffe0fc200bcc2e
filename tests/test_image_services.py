"""Images into the database, the deltas their changes make, and every daemon's own cache.

Pretend engines (``services.reconcile`` of made-up snapshots) for what needs no Docker; the real
engine for the host's cache and a DinD's nested one (which differ: the product's point), the
CLI listing of a nested daemon read by exec, and a FAKE engine (a real one cannot be made to
answer that) whose image listing is nonsense.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import docker
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import MANAGED, container_info, unique
from tests.fake_engine import FakeEngine
from tests.graph_schema import validate_graph
from topology.engine import images as offline
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import DaemonSnapshot, EngineInfo, ImageInfo, Route
from topology.inventory import polling, queries, services
from topology.inventory.models import Daemon, Endpoint, Image, Status
from topology.inventory.services import Place

ENGINE = "PRETEND:ENGINE"
OTHER = "PRETEND:OTHER"
WORKLOAD = ImageInfo("sha256:" + "0" * 64, ("topology/workload:offline",), size=4_000_000)
REDIS = ImageInfo(
    "sha256:" + "7" * 64,
    ("redis:7", "ghcr.io/acme/redis:7"),
    ("redis@sha256:" + "ab" * 32,),
    size=40_000_000,
)
LOCAL = ImageInfo("sha256:" + "5" * 64, ("localhost:5000/app:1",), size=1000)
UNTAGGED = ImageInfo("sha256:" + "9" * 64, size=10)


def says(*containers: Any, images: tuple | None = (WORKLOAD,), engine: str = ENGINE) -> Any:
    snapshot = DaemonSnapshot(
        Route(url=f"unix:///nonexistent/{engine}.sock"),
        EngineInfo(engine, engine.lower(), "27.0.0", "1.47", "Debian GNU/Linux 12"),
        tuple(containers),
        (),
        (),
        images,
    )
    return services.reconcile(snapshot, Place(host_name=f"{engine.lower()}-host"))


def image_node_id(image: ImageInfo, engine: str = ENGINE) -> str:
    return f"image:{engine}/{image.id}"


def node_ids(changes: Any) -> set[str]:
    return {node["id"] for node in changes.delta.upsert_nodes}


def edge_ids(changes: Any) -> set[str]:
    return {edge["id"] for edge in changes.delta.upsert_edges}


def test_images_arrive_with_their_registries_and_a_repeat_writes_nothing(db) -> None:
    web = container_info("1", "web")
    first = says(web, images=(WORKLOAD, REDIS, UNTAGGED))
    nodes = {node["id"]: node for node in first.delta.upsert_nodes}
    workload = nodes[image_node_id(WORKLOAD)]
    assert (workload["parent"], workload["tags"], workload["size"], workload["users"]) == (
        f"daemon:{ENGINE}",
        ["topology/workload:offline"],
        4_000_000,
        1,
    )
    assert workload["label"] == "topology/workload:offline"
    assert nodes[image_node_id(UNTAGGED)]["label"] == f"<none> {'9' * 12}"
    assert nodes[image_node_id(UNTAGGED)]["tags"] == []
    assert {"registry:docker.io", "registry:ghcr.io"} <= set(nodes)
    assert nodes["registry:docker.io"]["parent"] is None
    edges = {edge["id"]: edge for edge in first.delta.upsert_edges}
    image_edge = edges[f"image:{'1' * 64}->{image_node_id(WORKLOAD)}"]
    assert (image_edge["source"], image_edge["target"]) == (f"container:{'1' * 64}", workload["id"])
    hub = edges[f"registry:{image_node_id(REDIS)}->registry:docker.io"]
    assert (hub["repositories"], hub["pulled"]) == (["library/redis"], True)
    ghcr = edges[f"registry:{image_node_id(REDIS)}->registry:ghcr.io"]
    assert (ghcr["repositories"], ghcr["pulled"]) == (["acme/redis"], False)
    assert not [e for e in edges.values() if e["source"] == image_node_id(UNTAGGED)]
    validate_graph(queries.current_graph())

    with CaptureQueriesContext(connection) as seen:
        again = says(web, images=(WORKLOAD, REDIS, UNTAGGED))
    assert not again
    writes = [q for q in seen.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE")]
    assert writes == []


def test_an_image_that_goes_takes_its_edges_and_a_registry_no_one_uses(db) -> None:
    says(images=(WORKLOAD, REDIS, LOCAL))
    gone = says(images=(WORKLOAD, REDIS))
    assert image_node_id(LOCAL) in gone.delta.remove_nodes
    assert "registry:localhost:5000" in gone.delta.remove_nodes
    assert f"registry:{image_node_id(LOCAL)}->registry:localhost:5000" in gone.delta.remove_edges
    assert "registry:docker.io" not in gone.delta.remove_nodes  # WORKLOAD still lives there
    retagged = says(images=(WORKLOAD, ImageInfo(REDIS.id, ("redis:7",), size=REDIS.size)))
    assert "registry:ghcr.io" in retagged.delta.remove_nodes
    assert "registry:docker.io" not in retagged.delta.remove_nodes
    assert image_node_id(REDIS) in node_ids(retagged)
    assert {n["id"] for n in queries.current_graph()["nodes"] if n["kind"] == "registry"} == {
        "registry:docker.io"
    }


def test_a_registry_used_by_another_daemon_stays_and_each_daemon_has_its_own_cache(db) -> None:
    says(images=(WORKLOAD, LOCAL))
    says(images=(WORKLOAD, LOCAL), engine=OTHER)
    graph = queries.current_graph()
    ids = {node["id"] for node in graph["nodes"]}
    assert {image_node_id(WORKLOAD), image_node_id(WORKLOAD, OTHER)} <= ids
    gone = says(images=(WORKLOAD,))
    assert image_node_id(LOCAL) in gone.delta.remove_nodes
    assert "registry:localhost:5000" not in gone.delta.remove_nodes
    validate_graph(queries.current_graph())


def test_a_container_that_changes_image_moves_its_image_edge(db) -> None:
    says(container_info("1", "web"), images=(WORKLOAD, REDIS))
    moved = says(
        container_info("1", "web", image="redis:7", image_id=REDIS.id), images=(WORKLOAD, REDIS)
    )
    assert f"image:{'1' * 64}->{image_node_id(REDIS)}" in edge_ids(moved)
    assert f"image:{'1' * 64}->{image_node_id(WORKLOAD)}" in moved.delta.remove_edges
    users = {n["id"]: n["users"] for n in moved.delta.upsert_nodes if n["kind"] == "image"}
    assert users == {image_node_id(WORKLOAD): 0, image_node_id(REDIS): 1}


def test_an_unreachable_daemon_marks_its_images_stale_then_they_go(db) -> None:
    says(images=(WORKLOAD,))
    route = Route(url=f"unix:///nonexistent/{ENGINE}.sock")
    down = services.mark_unreachable(route, Place(host_name="x"), "gone")
    stale = {n["id"]: n["status"] for n in down.delta.upsert_nodes if n["kind"] == "image"}
    assert stale == {image_node_id(WORKLOAD): "stale"}
    pruned = services.prune_stale(grace=timedelta(0))
    assert image_node_id(WORKLOAD) in pruned.delta.remove_nodes
    assert "registry:docker.io" in pruned.delta.remove_nodes
    assert not Image.objects.exists()
    validate_graph(queries.current_graph())


def test_discovery_switched_off_reads_and_draws_no_image(db, settings) -> None:
    settings.TOPOLOGY_DISCOVER_IMAGES = False
    says(container_info("1", "web"), images=None)
    current = queries.current_graph()
    assert not [n for n in current["nodes"] if n["kind"] in ("image", "registry")]
    assert not [e for e in current["edges"] if e["kind"] in ("image", "registry")]


def test_compose_labels_give_a_container_its_project_service_and_number(db) -> None:
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "2",
    }
    changes = says(container_info("1", "shop-web-2", labels=labels), container_info("2", "solo"))
    nodes = {n["id"]: n for n in changes.delta.upsert_nodes}
    assert nodes[f"container:{'1' * 64}"]["compose"] == {
        "project": "shop",
        "service": "web",
        "number": 2,
    }
    assert "compose" not in nodes[f"container:{'2' * 64}"]
    validate_graph(queries.current_graph())


# --- The real engine ------------------------------------------------------------------------


def _images_of(graph: dict[str, Any], engine: str) -> dict[str, dict[str, Any]]:
    return {
        node["image_id"]: node
        for node in graph["nodes"]
        if node["kind"] == "image" and node["parent"] == f"daemon:{engine}"
    }


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_the_host_and_a_dind_each_list_their_own_cache(world: Any, docker_client: Any) -> None:
    polling.poll_everything(publish=False)
    graph = queries.current_graph()
    validate_graph(graph)
    host_engine = docker_client.info()["ID"]
    nested_engine = world.dind.client.info()["ID"]
    on_host = _images_of(graph, host_engine)
    nested = _images_of(graph, nested_engine)
    host_cli = docker_client.images.get(offline.CLI_IMAGE)
    nested_workload = world.dind.client.images.get(offline.WORKLOAD_IMAGE)
    assert offline.CLI_IMAGE in on_host[host_cli.id]["tags"]
    assert on_host[host_cli.id]["size"] == host_cli.attrs["Size"]
    assert offline.WORKLOAD_IMAGE in nested[nested_workload.id]["tags"]
    # The DinD's cache is its own: the docker CLI image is on the host, not inside.
    assert host_cli.id not in nested
    assert set(nested) == {image.id for image in world.dind.client.images.list()}
    edges = {(e["source"], e["target"]): e for e in graph["edges"] if e["kind"] == "image"}
    c3 = f"container:{world.c3.id}"
    assert (c3, f"image:{nested_engine}/{world.c3.attrs['Image']}") in edges
    c1 = f"container:{world.c1.id}"
    assert (c1, f"image:{host_engine}/{world.c1.attrs['Image']}") in edges
    registry_edges = {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "registry"}
    assert (f"image:{nested_engine}/{nested_workload.id}", "registry:docker.io") in registry_edges
    assert "registry:docker.io" in {n["id"] for n in graph["nodes"]}


@pytest.mark.docker
def test_a_nested_daemon_read_by_exec_lists_the_same_images_as_its_api(world: Any) -> None:
    """The docker CLI inside the DinD (exec) and the nested daemon's socket say the same."""
    host = Route(url="unix:///var/run/docker.sock")
    by_exec = open_reader(Route(url=f"exec://{world.dind.container.id}", via=host))
    by_api = ApiReader(Route(url=f"unix://{world.dind.socket_dir}/docker.sock"), world.dind.client)
    try:
        assert sorted(by_exec.list_images(), key=lambda i: i.id) == sorted(
            by_api.list_images(), key=lambda i: i.id
        )
        assert by_exec.list_images()
    finally:
        by_exec.close()


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_the_deepest_daemon_read_by_exec_lists_its_own_cache(world: Any, cleanup: Any) -> None:
    """DinD in DinD: the inner daemon (read with the docker CLI by exec) gets the workload
    image loaded from the outer DinD's cache (never pulled), and lists it as its own."""
    inner = "unix:///tmp/inner-dind-run/docker.sock"
    loaded = world.dind.container.exec_run(
        ["sh", "-c", f"docker save {offline.WORKLOAD_IMAGE} | docker -H {inner} load"]
    )
    assert loaded.exit_code == 0, loaded.output
    cleanup.add(
        world.dind.container.exec_run, ["docker", "-H", inner, "rmi", offline.WORKLOAD_IMAGE]
    )
    polling.poll_everything(publish=False)
    deep = Daemon.objects.get(access="exec", container__container_id=world.inner_dind.id)
    [row] = [i for i in Image.objects.filter(daemon=deep) if offline.WORKLOAD_IMAGE in i.tags]
    assert row.size > 0
    graph = queries.current_graph()
    validate_graph(graph)
    node = _images_of(graph, deep.engine_id)[row.image_id]
    assert node["parent"] == f"daemon:{deep.engine_id}" and node["users"] == 0
    outer = world.dind.client.info()["ID"]
    assert row.image_id in _images_of(graph, outer)  # the same image, in two caches


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_an_image_listing_of_the_wrong_shape_marks_only_that_daemon_unreachable(
    tmp_path: Path, docker_client: Any, world: Any
) -> None:
    """A FAKE engine (a real one cannot be made to say this) whose image listing lies."""
    good = [{"Id": "sha256:" + "e" * 64, "RepoTags": ["fake/app:1"], "Size": 5}]
    with FakeEngine(tmp_path / "fake.sock", images=good) as fake:
        Endpoint.objects.create(name="fake", url=fake.url)
        polling.poll_everything(publish=False)
        assert Daemon.objects.get(engine_id="FAKE:ENGINE").status == Status.UP
        assert Image.objects.filter(daemon__engine_id="FAKE:ENGINE").count() == 1
        fake.images = [{"Id": "sha256:" + "e" * 64, "RepoTags": ["fake/app:1"], "Size": "5MB"}]
        results = polling.poll_everything(publish=False)
    broken = Daemon.objects.get(engine_id="FAKE:ENGINE")
    assert broken.status == Status.UNREACHABLE
    assert "image item 0 Size is not a number of bytes" in broken.last_error
    host = Daemon.objects.get(engine_id=docker_client.info()["ID"])
    assert host.status == Status.UP
    assert Image.objects.filter(daemon=host, image_id=world.c1.attrs["Image"]).exists()
    assert [r.error for r in results if r.engine_id == host.engine_id] == [None]
    graph = queries.current_graph()
    validate_graph(graph)
    fake_image = [n for n in graph["nodes"] if n["parent"] == "daemon:FAKE:ENGINE"]
    assert [n["status"] for n in fake_image if n["kind"] == "image"] == ["stale"]


def _remove_image(client: Any, image_id: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(image_id, force=True)


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_an_image_arrives_stays_quiet_and_goes_as_deltas(
    world: Any, docker_client: Any, cleanup: Any
) -> None:
    """An image of this test's own (c1 committed: made here, never pulled, labelled managed),
    tagged for a registry on loopback."""
    engine = docker_client.info()["ID"]
    target = polling.Target(Route(url="unix:///var/run/docker.sock"))
    polling.poll_target(target, publish=False)
    repository = f"localhost:5000/{unique('image')}"
    own_image = world.c1.commit(repository=repository, tag="1", conf={"Labels": MANAGED})
    cleanup.add(_remove_image, docker_client, own_image.id)
    ours = f"image:{engine}/{own_image.id}"
    arrived = polling.poll_target(target, publish=False).changes
    nodes = {n["id"]: n for n in arrived.delta.upsert_nodes}
    assert nodes[ours]["tags"] == own_image.tags and nodes[ours]["parent"] == f"daemon:{engine}"
    assert nodes["registry:localhost:5000"]["parent"] is None
    assert f"registry:{ours}->registry:localhost:5000" in edge_ids(arrived)
    assert arrived.version > arrived.since
    validate_graph(queries.current_graph())

    stored = Image.objects.get(daemon__engine_id=engine, image_id=own_image.id)
    again = polling.poll_target(target, publish=False).changes
    touched = {n["id"] for n in again.delta.upsert_nodes} | set(again.delta.remove_nodes)
    assert ours not in touched  # a shared engine: others' images may come and go, not ours
    after = Image.objects.get(pk=stored.pk)
    assert (after.fingerprint, after.tags) == (stored.fingerprint, stored.tags)

    docker_client.images.remove(own_image.id, force=True)
    gone = polling.poll_target(target, publish=False).changes
    assert ours in gone.delta.remove_nodes
    assert f"registry:{ours}->registry:localhost:5000" in gone.delta.remove_edges
    assert not Image.objects.filter(image_id=own_image.id).exists()
    assert ours not in {n["id"] for n in queries.current_graph()["nodes"]}


def test_every_door_cuts_images_with_the_images_layer(db, logged_in_client: Any) -> None:
    says(container_info("1", "web"), images=(WORKLOAD, LOCAL))
    kinds = {
        layers: {
            n["kind"]
            for n in logged_in_client.get(f"/api/topology/?layers={layers}").json()["nodes"]
        }
        for layers in ("images", "containment", "containment,images")
    }
    assert {"image", "registry"} <= kinds["images"] and {"image", "registry"} <= kinds[
        "containment,images"
    ]
    assert not {"image", "registry"} & kinds["containment"]
    whole = logged_in_client.get("/api/topology/?layers=images").json()
    validate_graph(whole)
    assert {e["kind"] for e in whole["edges"]} == {"image", "registry"}
    dot = StringIO()
    call_command("topology_snapshot", "--format", "dot", "--layers", "images", stdout=dot)
    assert f'"{image_node_id(WORKLOAD)}" [label="image: topology/workload:offline (up)"' in (
        dot.getvalue()
    )
    assert '"registry:localhost:5000" [label="registry: localhost:5000 (up)", shape=folder]' in (
        dot.getvalue()
    )
    bare = StringIO()
    call_command("topology_snapshot", "--format", "json", "--layers", "containment", stdout=bare)
    assert '"kind": "image"' not in bare.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer_prefix")
def test_a_team_sees_the_registries_of_its_own_images_only_live_too() -> None:
    """Over the websocket, with the images layer: a registry only another team's image lives in
    stays hidden; when an image of one's own first lives in a registry another team already
    uses (so the registry node itself does not change), the delta brings it along."""
    from asgiref.sync import async_to_sync, sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth import get_user_model

    from tests.test_consumers import PATH, session_headers
    from topology.asgi import application
    from topology.inventory import broadcast
    from topology.inventory.models import Host
    from topology.teams.models import Membership, Team

    secret = ImageInfo("sha256:" + "3" * 64, ("registry.b.corp/secret:1",), size=5)
    says(images=(WORKLOAD, secret), engine=OTHER)
    says(images=(LOCAL,))
    alpha, beta = (
        Team.objects.create(slug="alpha", name="Alpha"),
        Team.objects.create(slug="beta", name="Beta"),
    )
    assert Host.objects.filter(slug="pretendengine-host").update(team=alpha) == 1
    assert Host.objects.filter(slug="pretendother-host").update(team=beta) == 1
    user = get_user_model().objects.create_user("ann", password="x-" * 10)
    Membership.objects.create(user=user, team=alpha)
    headers = session_headers(user)

    async def scenario() -> None:
        client = WebsocketCommunicator(application, f"{PATH}?layers=images", headers=headers)
        assert (await client.connect(timeout=5))[0]
        first = (await client.receive_json_from(timeout=5))["graph"]
        ids = {node["id"] for node in first["nodes"]}
        assert image_node_id(LOCAL) in ids and "registry:localhost:5000" in ids
        assert not {"registry:docker.io", "registry:registry.b.corp"} & ids
        assert image_node_id(WORKLOAD, OTHER) not in ids
        validate_graph(first)

        changes = await sync_to_async(says)(images=(LOCAL, WORKLOAD))
        assert await sync_to_async(broadcast.publish)(changes)
        delta = await client.receive_json_from(timeout=5)
        ids = {node["id"] for node in delta["upsert"]["nodes"]}
        assert {image_node_id(WORKLOAD), "registry:docker.io"} <= ids
        assert f"registry:{image_node_id(WORKLOAD)}->registry:docker.io" in {
            edge["id"] for edge in delta["upsert"]["edges"]
        }
        await client.disconnect()

    async_to_sync(scenario)()


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_the_events_watcher_reads_a_new_image_because_its_event_said_so(
    settings, world: Any, docker_client: Any, cleanup: Any
) -> None:
    """``TOPOLOGY_INVENTORY_MODE=events``: an image made (c1 committed, never pulled) is an
    image event; the daemon is listed again and the image arrives, no resync needed."""
    from tests.test_informer import local_state
    from tests.test_watching import eventually
    from topology.inventory.informer import Informer

    settings.TOPOLOGY_RESYNC_SECONDS = 3600
    settings.TOPOLOGY_POLL_SECONDS = 3600
    with Informer().running_in_thread() as running:
        assert eventually(lambda: (s := local_state(running)) is not None and s.streaming)
        state = local_state(running)
        assert eventually(lambda: Daemon.objects.filter(watch="events").exists() and not state.full)
        repository = f"localhost:5000/{unique('evented-image')}"
        image = world.c1.commit(repository=repository, tag="1", conf={"Labels": MANAGED})
        cleanup.add(_remove_image, docker_client, image.id)
        assert eventually(lambda: Image.objects.filter(image_id=image.id).exists())
        assert Image.objects.get(image_id=image.id).tags == [f"{repository}:1"]
        _remove_image(docker_client, image.id)
        assert eventually(lambda: not Image.objects.filter(image_id=image.id).exists())
    validate_graph(queries.current_graph())
