"""The events watcher: a container started or stopped on the engine reaches the database."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import _remove, run_workload, start_dind, unique
from topology.engine import images
from topology.engine.dind import wait_for_daemon
from topology.inventory.models import Container
from topology.inventory.watching import Watcher

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def eventually(check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def watcher(settings) -> Iterator[Watcher]:
    settings.TOPOLOGY_POLL_SECONDS = 3600  # only events may cause a poll after the first
    with Watcher().running_in_thread() as running:
        yield running


def test_started_and_stopped_containers_reach_the_database(
    watcher, docker_client, offline_images, cleanup
) -> None:
    assert eventually(lambda: bool(watcher.followers))
    container = run_workload(docker_client, cleanup, unique("watched"))
    assert eventually(lambda: Container.objects.filter(container_id=container.id).exists())
    container.stop(timeout=1)
    assert eventually(
        lambda: Container.objects.filter(container_id=container.id, state="exited").exists()
    )
    container.remove()
    assert eventually(lambda: not Container.objects.filter(container_id=container.id).exists())


def test_nested_daemons_are_followed_too(watcher, world) -> None:
    socket = f"unix://{world.dind.socket_dir}/docker.sock"
    assert eventually(lambda: any(key == socket for key in watcher.followers))
    c5 = world.dind.client.containers.run(
        "topology/workload:offline",
        ["sleep", "600"],
        name="c5",
        labels={"topology.managed": "true"},
        detach=True,
    )
    try:
        assert eventually(lambda: Container.objects.filter(container_id=c5.id).exists())
    finally:
        c5.remove(force=True)


def test_a_broken_stream_is_repolled_in_full_then_followed_again(
    watcher, docker_client, offline_images, cleanup, caplog
) -> None:
    """A nested daemon restarts under the watcher: its events stream breaks, the watcher polls
    in full and subscribes again, and a container started afterwards still arrives."""
    caplog.set_level(logging.INFO, logger="topology.inventory.watching")
    dind = start_dind(docker_client, cleanup, unique("restarted"))
    socket = f"unix://{dind.socket_dir}/docker.sock"
    assert eventually(lambda: socket in watcher.followers)

    dind.container.restart(timeout=5)
    assert eventually(lambda: f"events of {socket} broke" in caplog.text)
    nested = wait_for_daemon(f"{dind.socket_dir}/docker.sock", 60, container=dind.container)
    cleanup.add(nested.close)
    after = nested.containers.run(
        images.WORKLOAD_IMAGE,
        images.IDLE_COMMAND,
        name="after-the-break",
        labels={"topology.managed": "true"},
        detach=True,
    )
    assert eventually(lambda: Container.objects.filter(container_id=after.id).exists())
    breaks = caplog.text.count("broke")
    after.stop(timeout=1)  # only the stream it follows again can tell the watcher this
    assert eventually(
        lambda: Container.objects.filter(container_id=after.id, state="exited").exists()
    )
    assert caplog.text.count("broke") == breaks


def test_a_health_status_event_reaches_the_database(
    watcher, docker_client, offline_images, cleanup
) -> None:
    """Healthy while ``/tmp/ok`` exists; its removal turns it unhealthy (the engine's
    ``health_status`` event), and the watcher takes that to the database with the probes."""
    healthcheck = {"test": ["CMD", "test", "-f", "/tmp/ok"], "interval": 300_000_000, "retries": 1}
    container = docker_client.containers.run(
        images.WORKLOAD_IMAGE,
        ["sh", "-c", "touch /tmp/ok; exec sleep 600"],
        name=unique("health"),
        labels={"topology.managed": "true"},
        detach=True,
        healthcheck=healthcheck,
    )
    cleanup.add(_remove, container)
    assert eventually(
        lambda: Container.objects.filter(container_id=container.id, health="healthy").exists()
    )
    container.exec_run(["rm", "/tmp/ok"])
    assert eventually(
        lambda: Container.objects.filter(container_id=container.id, health="unhealthy").exists()
    )
    log = Container.objects.get(container_id=container.id).health_log
    assert log["failing_streak"] >= 1 and log["probes"][-1]["exit_code"] == 1


def test_network_events_reach_the_database(watcher, docker_client, offline_images, cleanup) -> None:
    """A network created, a container connected and disconnected, the network removed: each is
    an event, and each is in the database without waiting for a periodic poll."""
    from topology.inventory.models import Network

    assert eventually(lambda: bool(watcher.followers))
    network = docker_client.networks.create(unique("evnet"), labels={"topology.managed": "true"})
    cleanup.add(network.remove)
    assert eventually(lambda: Network.objects.filter(network_id=network.id).exists())
    container = run_workload(docker_client, cleanup, unique("joiner"))

    def on_it() -> bool:
        row = Container.objects.filter(container_id=container.id).first()
        return bool(row) and network.id in {a["network_id"] for a in row.attachments}

    assert eventually(lambda: Container.objects.filter(container_id=container.id).exists())
    network.connect(container, aliases=["joined"])
    assert eventually(on_it)
    row = Container.objects.get(container_id=container.id)
    assert [a["aliases"] for a in row.attachments if a["network_id"] == network.id] == [["joined"]]
    network.disconnect(container)
    assert eventually(lambda: not on_it())
    container.remove(force=True)
    network.remove()
    assert eventually(lambda: not Network.objects.filter(network_id=network.id).exists())
