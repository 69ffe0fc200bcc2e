"""The events watcher of ``TOPOLOGY_INVENTORY_MODE=events``: list, watch, resync.

The real engine shows events driving targeted reads and a resync finding what events missed;
FAKE engines (``tests.fake_engine``) show what a real one cannot: a stream that is refused
(polled instead), and many engines split between two watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.backends.signals import connection_created

from tests.conftest import MANAGED, run_workload, unique
from tests.fake_engine import FakeEngine
from tests.graph_schema import validate_graph
from tests.test_watching import eventually
from topology.engine.types import Route
from topology.inventory import informer as informer_module
from topology.inventory import queries
from topology.inventory.informer import Followed, Informer, owner_of
from topology.inventory.models import Container, Daemon, Endpoint, GraphRevision, Network

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_watchers_left() -> Iterator[None]:
    """Each test meets only its own watchers (a dead one's name lapses only after a while)."""
    from topology.locks import lock_name, redis_client

    redis_client().delete(lock_name("watchers", "members"))
    yield
    redis_client().delete(lock_name("watchers", "members"))


def test_a_daemon_belongs_to_one_member_and_only_a_leaving_members_daemons_move() -> None:
    keys = [f"unix:///run/engine-{n}.sock" for n in range(200)]
    three = ["watcher-a", "watcher-b", "watcher-c"]
    before = {key: owner_of(key, three) for key in keys}
    assert set(before.values()) == set(three)
    after = {key: owner_of(key, ["watcher-a", "watcher-c"]) for key in keys}
    moved = {key for key in keys if before[key] != after[key]}
    assert moved == {key for key in keys if before[key] == "watcher-b"}


def local_state(informer: Informer) -> Followed | None:
    return informer.followed.get(Route(url=django_settings.DOCKER_HOST).key)


@pytest.fixture
def quiet_informer(settings) -> Iterator[Informer]:
    """An informer that reads the real engine only when its events say so."""
    settings.TOPOLOGY_RESYNC_SECONDS = 3600
    settings.TOPOLOGY_POLL_SECONDS = 3600
    with Informer().running_in_thread() as running:
        yield running


@pytest.mark.docker
def test_a_docker_run_is_read_because_its_events_said_so(
    quiet_informer, docker_client, offline_images, cleanup
) -> None:
    assert eventually(lambda: (s := local_state(quiet_informer)) is not None and s.streaming)
    state = local_state(quiet_informer)
    assert eventually(lambda: Daemon.objects.filter(watch="events").exists() and not state.full)
    full_reads = state.full_reads  # the list that follows the stream's opening has begun
    assert state.engine is not None
    asked = dict(state.engine.asked)
    container = run_workload(docker_client, cleanup, unique("evented"))
    assert eventually(lambda: Container.objects.filter(container_id=container.id).exists())
    assert state.event_reads >= 1
    assert state.full_reads == full_reads  # no list-and-reconcile-everything was needed
    # Targeted: the container listed by its ID and inspected, the network its start connected
    # it to listed by its ID; no /info, no volumes, no images.
    more = {p for p, n in state.engine.asked.items() if n > asked.get(p, 0)}
    ours = {f"/containers/{container.id}/json", f"/containers/{container.id}/top"}
    assert more <= {"/containers/json", "/networks"} | ours
    graph = queries.current_graph()
    validate_graph(graph)
    local = next(n for n in graph["nodes"] if n["id"] == f"daemon:{state.engine_id}")
    assert local["watch"] == "events" and local["watch_since"]


@pytest.mark.docker
def test_a_network_connect_is_read_by_its_event_alone(
    quiet_informer, docker_client, offline_images, cleanup
) -> None:
    """A network made and a container connected to it: the network is listed by its ID, the
    container (named by the connect event) inspected; no full read."""
    assert eventually(lambda: (s := local_state(quiet_informer)) is not None and s.streaming)
    state = local_state(quiet_informer)
    container = run_workload(docker_client, cleanup, unique("joiner"))
    assert eventually(lambda: Container.objects.filter(container_id=container.id).exists())
    full_reads = state.full_reads
    network = docker_client.networks.create(unique("evented-net"), labels=MANAGED)
    cleanup.add(network.remove)
    assert eventually(lambda: Network.objects.filter(network_id=network.id).exists())
    network.connect(container)
    cleanup.add(lambda: network.disconnect(container, force=True))

    def attached() -> bool:
        row = Container.objects.get(container_id=container.id)
        return any(a.get("network_id") == network.id for a in row.attachments or [])

    assert eventually(attached)
    assert state.full_reads == full_reads
    validate_graph(queries.current_graph())


@pytest.mark.docker
def test_a_dind_started_by_hand_has_its_daemon_found_without_a_resync(
    quiet_informer, docker_client, offline_images, cleanup
) -> None:
    """No event says that a DinD's dockerd came up: the young container is read again each
    second for a few seconds, and the nested daemon is found then, not at the next resync."""
    from tests.conftest import start_dind

    assert eventually(lambda: (s := local_state(quiet_informer)) is not None and s.streaming)
    dind = start_dind(docker_client, cleanup, unique("hand-dind"))
    assert eventually(
        lambda: Daemon.objects.filter(container__container_id=dind.container.id).exists(),
        timeout=30,
    )


@pytest.mark.docker
def test_a_resync_finds_what_the_events_missed(
    settings, monkeypatch, docker_client, offline_images, cleanup
) -> None:
    """Every container event is dropped (as if the stream lost them): the slow resync still
    lists the engine and finds the new container."""
    settings.TOPOLOGY_RESYNC_SECONDS = 1
    monkeypatch.setattr(Informer, "_heard", staticmethod(lambda state, event: None))
    with Informer().running_in_thread() as running:
        assert eventually(lambda: (s := local_state(running)) is not None and s.streaming)
        state = local_state(running)
        container = run_workload(docker_client, cleanup, unique("missed"))
        assert eventually(lambda: Container.objects.filter(container_id=container.id).exists())
        # No event was heard: the only targeted reads were of the container just started.
        assert state.event_reads <= state.young_reads and state.full_reads >= 2


@contextlib.contextmanager
def fake_engines(folder: Path, count: int, events: str = "hold") -> Iterator[list[FakeEngine]]:
    """``count`` FAKE engines with no containers, registered (as a site admin would)."""
    with contextlib.ExitStack() as stack:
        fakes = [
            stack.enter_context(
                FakeEngine(
                    folder / f"f{n}.sock", engine_id=f"FAKE:{n}", name=f"fake-{n}", events=events
                )
            )
            for n in range(count)
        ]
        for fake in fakes:
            Endpoint.objects.create(name=fake.name, url=fake.url, engine_id=fake.engine_id)
        yield fakes


@pytest.fixture
def no_local_engine(settings, tmp_path) -> None:
    settings.DOCKER_HOST = f"unix://{tmp_path}/no-local-engine.sock"


def test_an_engine_whose_stream_is_refused_is_polled_and_says_so(
    settings, tmp_path, no_local_engine
) -> None:
    settings.TOPOLOGY_POLL_SECONDS = 0.2
    settings.TOPOLOGY_RESYNC_SECONDS = 3600
    with fake_engines(tmp_path, 2, events="refuse") as fakes, Informer().running_in_thread():
        assert eventually(
            lambda: (
                Daemon.objects.filter(engine_id__startswith="FAKE:", watch="polling").count() == 2
            )
        )
        listed = fakes[0].requests["/containers/json"]
        assert eventually(lambda: fakes[0].requests["/containers/json"] >= listed + 3)
        assert fakes[0].requests["/events"] >= 1
    graph = queries.current_graph()
    validate_graph(graph)
    daemon = next(n for n in graph["nodes"] if n["id"] == "daemon:FAKE:0")
    assert daemon["watch"] == "polling" and daemon["reachable"]


def test_a_quiet_resync_writes_nothing(settings, tmp_path, no_local_engine) -> None:
    settings.TOPOLOGY_RESYNC_SECONDS = 1
    with fake_engines(tmp_path, 1) as fakes, Informer().running_in_thread() as running:
        key = f"unix://{fakes[0].socket_path}"
        assert eventually(
            lambda: Daemon.objects.filter(engine_id="FAKE:0", watch="events").exists()
        )
        version = GraphRevision.current()
        state = running.followed[next(k for k in running.followed if k.endswith(key[7:]))]
        skips = state.digest_skips
        assert eventually(lambda: state.digest_skips >= skips + 2)
        assert GraphRevision.current() == version


def test_two_watchers_split_the_engines_and_a_dead_ones_share_moves(
    settings, tmp_path, monkeypatch, no_local_engine
) -> None:
    monkeypatch.setattr(informer_module, "MEMBER_TTL_SECONDS", 3.0)
    monkeypatch.setattr(informer_module, "LEASE_SECONDS", 10)
    monkeypatch.setattr(informer_module, "HEARTBEAT_SECONDS", 0.5)
    with fake_engines(tmp_path, 8) as fakes:
        keys = {f"unix://{fake.socket_path}" for fake in fakes}
        first, second = Informer("watcher-test-a"), Informer("watcher-test-b")
        expected_a = {
            k for k in keys if owner_of(k, sorted([first.name, second.name])) == first.name
        }
        overlaps: list[set[str]] = []
        sampling = threading.Event()

        def sample() -> None:  # two watchers never follow one engine, at any moment
            while not sampling.wait(0.01):
                with contextlib.suppress(RuntimeError):  # a dict changing size under us
                    if both := set(first.followed) & set(second.followed):
                        overlaps.append(both)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with second.running_in_thread():
            with first.running_in_thread():

                def split_as_hashed() -> bool:
                    a = {k for k in first.followed if k in keys}
                    b = {k for k in second.followed if k in keys}
                    return a == expected_a and b == keys - expected_a

                assert eventually(split_as_hashed)
                assert eventually(
                    lambda: Daemon.objects.filter(engine_id__startswith="FAKE:").count() == 8
                )
                # The first watcher dies without a word: its leases and heartbeat lapse.
                monkeypatch.setattr(first, "_leave", lambda: None)
            assert eventually(lambda: keys <= set(second.followed))
        sampling.set()
        sampler.join()
        assert not overlaps


def test_an_overloaded_watcher_stretches_every_daemon_alike_and_says_how_far_behind(
    settings, tmp_path, no_local_engine, monkeypatch
) -> None:
    """Four FAKE engines that take 0.5 s for every request (a full read asks five), one read at
    a time, a resync due every second: reads cannot keep up. Each daemon is still read in its
    turn (no one starves), and its node says how far behind schedule its reads run."""
    settings.TOPOLOGY_RESYNC_SECONDS = 1
    monkeypatch.setattr(informer_module, "READ_CONCURRENCY", 1)
    with contextlib.ExitStack() as stack:
        fakes = [
            stack.enter_context(
                FakeEngine(
                    tmp_path / f"slow{n}.sock",
                    engine_id=f"FAKE:SLOW{n}",
                    name=f"slow-{n}",
                    hang=0.5,
                    hang_all=True,
                )
            )
            for n in range(4)
        ]
        for fake in fakes:
            Endpoint.objects.create(name=fake.name, url=fake.url, engine_id=fake.engine_id)
        with Informer().running_in_thread() as running:
            ids = [f.engine_id for f in fakes]
            assert eventually(
                lambda: Daemon.objects.filter(engine_id__in=ids, behind__gte=5).count() == 4,
                timeout=60,
            ), list(Daemon.objects.values_list("engine_id", "behind"))
            reads = [s.full_reads for s in running.followed.values() if "slow" in s.key]
    assert len(reads) == 4 and min(reads) >= 1 and max(reads) - min(reads) <= 2, reads
    graph = queries.current_graph()
    validate_graph(graph)
    behind = [n["behind"] for n in graph["nodes"] if n["kind"] == "daemon"]
    assert behind and all(b >= 5 for b in behind)


def test_the_database_connection_lasts_a_burst_and_is_closed_after_it() -> None:
    """A hundred reconciles back to back share one connection; none is left open when idle,
    also when calls were cancelled before they ran."""
    watcher = Informer()
    opened: list[str] = []

    def counted(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(threading.current_thread().name)

    connection_created.connect(counted)
    release = threading.Event()

    async def scene() -> None:
        watcher.loop = asyncio.get_running_loop()
        await asyncio.gather(*(watcher._in_db(GraphRevision.current) for _ in range(20)))
        holding = asyncio.ensure_future(watcher._in_db(release.wait, 30))
        await asyncio.sleep(0.1)
        queued = [asyncio.ensure_future(watcher._in_db(GraphRevision.current)) for _ in range(3)]
        await asyncio.sleep(0)
        for call in queued:
            call.cancel()
        release.set()
        await holding
        await asyncio.gather(*queued, return_exceptions=True)

    try:
        asyncio.run(scene())
        idle = watcher.db.submit(lambda: connection.connection is None).result(10)
    finally:
        connection_created.disconnect(counted)
        release.set()
        watcher.db.shutdown(wait=True)
    assert 1 <= len(opened) <= 3
    assert watcher.db_calls == 0 and idle
