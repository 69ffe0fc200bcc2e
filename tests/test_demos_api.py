"""Demos through the REST API, on the real engine with offline images (tasks run inline)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import docker
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import UNPULLABLE, run_workload, unique
from tests.graph_schema import validate_graph
from topology.celery import app
from topology.demos import services, tasks
from topology.demos.models import AuditEntry, Demo
from topology.engine import images
from topology.engine.demos import DemoImages
from topology.inventory import polling, queries

pytestmark = pytest.mark.django_db(transaction=True)

#: The launcher's name, which its demos carry as ``topology.owner``: a run's own, so that the
#: sweep after each test never takes another run's demos on a shared engine.
OPERATOR = f"operator-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def inline_tasks() -> Iterator[None]:
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False
        app.conf.task_eager_propagates = False


@pytest.fixture
def demo_dir(settings) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tdd-"))
    settings.TOPOLOGY_DEMO_DIR = folder
    settings.TOPOLOGY_DEMO_IMAGES = "offline"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def launcher(django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(OPERATOR, password="a-long-password-3")
    user.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def removed_afterwards(docker_client) -> Iterator[None]:
    yield
    for demo in Demo.objects.all():
        tasks.tear_down_demo(str(demo.id))
    leftovers = docker_client.containers.list(
        all=True, filters={"label": ["topology.managed=true", f"topology.owner={OPERATOR}"]}
    )
    for container in leftovers:
        container.remove(force=True, v=True)


def _labelled(client: docker.DockerClient, demo_id: str) -> tuple[list, list]:
    labels = {"label": [f"topology.demo={demo_id}"]}
    return client.containers.list(all=True, filters=labels), client.volumes.list(filters=labels)


def test_viewer_may_watch_but_not_launch_or_delete(logged_in_client, admin_user) -> None:
    assert logged_in_client.get("/api/demos/").status_code == 200
    response = logged_in_client.post(
        "/api/demos/", {"kind": "dind"}, content_type="application/json"
    )
    assert response.status_code == 403 and "launch_demo" in response.json()["detail"]
    demo = Demo.objects.create(kind="dood", owner=admin_user, expires=timezone.now())
    assert logged_in_client.get(f"/api/demos/{demo.id}/").json()["status"] == "starting"
    assert logged_in_client.delete(f"/api/demos/{demo.id}/").status_code == 403
    assert Client().get("/api/demos/").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "dind", "image": "alpine"},
        {"kind": "dood", "command": ["rm", "-rf", "/"]},
        {"kind": "dind", "privileged": True},
        {"kind": "vm"},
        {},
        ["dind"],
    ],
)
def test_only_the_kind_is_accepted(launcher, body) -> None:
    response = launcher.post("/api/demos/", body, content_type="application/json")
    assert response.status_code == 400
    assert Demo.objects.count() == 0


def test_malformed_json_is_a_clear_400(launcher) -> None:
    response = launcher.post("/api/demos/", "{kind:", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]


def test_quota_refuses_the_third_and_the_cap_refuses_everyone(launcher, settings) -> None:
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    settings.TOPOLOGY_DEMO_QUOTA = 2
    services.request_launch(user, "dind")
    services.request_launch(user, "dood")
    refused = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    assert refused.status_code == 429 and "limit is 2" in refused.json()["detail"]
    settings.TOPOLOGY_DEMO_QUOTA = 10
    settings.TOPOLOGY_DEMO_MAX_RUNNING = 2
    capped = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    assert capped.status_code == 429 and "most it allows" in capped.json()["detail"]
    assert Demo.objects.count() == 2
    assert AuditEntry.objects.filter(action="refused").count() == 2


@pytest.mark.parametrize(("quota", "cap"), [(2, 100), (100, 3)])
def test_concurrent_launches_hold_the_quota_and_the_cap(
    django_user_model, settings, monkeypatch, quota, cap
) -> None:
    """Eight launches at the same moment (eight threads, eight database connections): the
    quota (2) or the cap (3) lets exactly that many through, the rest are 429s."""
    settings.TOPOLOGY_DEMO_QUOTA, settings.TOPOLOGY_DEMO_MAX_RUNNING = quota, cap
    user = django_user_model.objects.create_user(OPERATOR)
    user.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    sent: list[str] = []
    monkeypatch.setattr(tasks.launch_demo, "delay", sent.append)
    start = threading.Barrier(8)

    def launch() -> int:
        try:
            client = Client()
            client.force_login(user)
            start.wait(timeout=30)
            body = {"kind": "dood"}
            return client.post("/api/demos/", body, content_type="application/json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = sorted(pool.map(lambda _: launch(), range(8)))
    allowed = min(quota, cap)
    assert answers == [202] * allowed + [429] * (8 - allowed)
    assert Demo.objects.count() == allowed == len(sent)
    assert AuditEntry.objects.filter(action="refused").count() == 8 - allowed


@pytest.mark.docker
def test_dind_demo_through_the_api_shows_c3_c4_nested_then_leaves_nothing(
    launcher, inline_tasks, demo_dir, docker_client, offline_images, removed_afterwards
) -> None:
    response = launcher.post("/api/demos/", {"kind": "dind"}, content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "starting"
    demo_id = response.json()["id"]
    described = launcher.get(f"/api/demos/{demo_id}/").json()
    assert described["status"] == "running", described["error"]
    assert described["progress"]["done"] == described["progress"]["total"] == 7
    facts = described["facts"]
    assert facts["inside_engine_id"] != facts["host_engine_id"] and facts["inside_images"] == 1

    polling.poll_everything(publish=False)
    graph = queries.current_graph()
    validate_graph(graph)
    nodes = {n["id"]: n for n in graph["nodes"]}
    containers, _volumes = _labelled(docker_client, demo_id)
    dind = next(c for c in containers if c.labels["topology.role"] == "dind")
    nested = next(n for n in graph["nodes"] if n["parent"] == f"container:{dind.id}")
    inside = [n for n in graph["nodes"] if n["parent"] == nested["id"]]
    containers_inside = [n for n in inside if n["kind"] == "container"]
    assert sorted(n["label"].rsplit("-", 1)[-1] for n in containers_inside) == ["c3", "c4"]
    assert {n["name"] for n in inside if n["kind"] == "network"} >= {"bridge", "host", "none"}
    assert nodes[f"container:{dind.id}"]["role"] == "dind"
    for container in containers:
        expected = container is dind
        profile = container.attrs["HostConfig"]
        assert (profile["Privileged"] or "ALL" in (profile.get("CapAdd") or [])) is expected

    assert launcher.delete(f"/api/demos/{demo_id}/").status_code == 202
    assert launcher.get(f"/api/demos/{demo_id}/").status_code == 404
    assert _labelled(docker_client, demo_id) == ([], [])
    assert list(demo_dir.iterdir()) == []
    actions = list(AuditEntry.objects.filter(demo_id=demo_id).values_list("action", flat=True))
    assert sorted(actions) == ["deleted", "launched"]


@pytest.mark.docker
def test_dood_demo_siblings_are_on_the_host_with_a_socket_edge(
    launcher, inline_tasks, demo_dir, docker_client, offline_images, removed_afterwards
) -> None:
    demo_id = launcher.post(
        "/api/demos/", {"kind": "dood"}, content_type="application/json"
    ).json()["id"]
    described = launcher.get(f"/api/demos/{demo_id}/").json()
    assert described["status"] == "running"
    assert described["facts"]["inside_engine_id"] == described["facts"]["host_engine_id"]
    polling.poll_everything(publish=False)
    graph = queries.current_graph()
    nodes = {n["id"]: n for n in graph["nodes"]}
    containers, _volumes = _labelled(docker_client, demo_id)
    dood = next(c for c in containers if c.labels["topology.role"] == "dood")
    host_daemon = nodes[f"container:{dood.id}"]["parent"]
    assert nodes[f"container:{dood.id}"]["role"] == "dood"
    assert {
        "kind": "socket",
        "source": f"container:{dood.id}",
        "target": host_daemon,
    }.items() <= next(e for e in graph["edges"] if e["source"] == f"container:{dood.id}").items()
    siblings = [c for c in containers if c.labels["topology.role"] == "workload"]
    assert len(siblings) == 2
    assert all(nodes[f"container:{s.id}"]["parent"] == host_daemon for s in siblings)
    assert not dood.attrs["HostConfig"]["Privileged"]
    validate_graph(graph)
    created = {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "created"}
    assert {(f"container:{dood.id}", f"container:{s.id}") for s in siblings} <= created
    assert not {edge for edge in created if edge[0] == f"container:{dood.id}"} - {
        (f"container:{dood.id}", f"container:{s.id}") for s in siblings
    }
    for path in ("/api/topology/", "/api/topology.dot"):
        body = launcher.get(path).content.decode()
        assert all(f"container:{s.id}" in body for s in siblings)
    assert "created" in launcher.get("/api/topology.dot").content.decode()
    validate_graph(launcher.get("/api/topology/").json())
    rest = launcher.get("/api/topology/").json()
    assert {(e["source"], e["target"]) for e in rest["edges"] if e["kind"] == "created"} == created


@pytest.mark.docker
def test_launch_task_run_twice_makes_one_demo(
    launcher, demo_dir, docker_client, offline_images, removed_afterwards
) -> None:
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    demo = services.request_launch(user, "dood")
    assert tasks.launch_demo(str(demo.id)) == "running"
    assert tasks.launch_demo(str(demo.id)) == "nothing to do"
    containers, _volumes = _labelled(docker_client, str(demo.id))
    assert len(containers) == 3
    assert Demo.objects.count() == 1


@pytest.mark.docker
def test_failure_in_the_middle_rolls_back_and_says_why(
    launcher, demo_dir, docker_client, offline_images, removed_afterwards, monkeypatch
) -> None:
    # The CLI image has no dockerd (and no entrypoint to take dockerd's flags): C1 and C2
    # start, then the "DinD" container cannot, in the middle of the launch.
    monkeypatch.setattr(
        services,
        "demo_images",
        lambda: DemoImages(images.CLI_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE),
    )
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    demo = services.request_launch(user, "dind")
    assert tasks.launch_demo(str(demo.id)) == "failed"
    demo.refresh_from_db()
    assert demo.status == "failed" and demo.step == "dind"
    assert "the engine refused the DinD container" in demo.error
    assert _labelled(docker_client, str(demo.id)) == ([], [])
    assert not services.demo_folder(demo).exists()


@pytest.mark.docker
def test_expired_demo_is_reaped_and_an_unlabelled_neighbour_survives(
    launcher, demo_dir, docker_client, offline_images, removed_afterwards, cleanup
) -> None:
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    demo = services.request_launch(user, "dood")
    Demo.objects.filter(pk=demo.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert tasks.launch_demo(str(demo.id)) == "running"
    neighbour = run_workload(docker_client, cleanup, unique("neighbour"))
    unlabelled = docker_client.containers.run(
        images.WORKLOAD_IMAGE,
        images.IDLE_COMMAND,
        name=unique("unlabelled"),
        labels={"topology.demo": str(demo.id)},
        detach=True,
    )
    cleanup.add(lambda: unlabelled.remove(force=True))
    assert str(demo.id) in tasks.reap_expired_demos()
    assert not Demo.objects.filter(pk=demo.pk).exists()
    containers, _volumes = _labelled(docker_client, str(demo.id))
    assert [c.id for c in containers] == [unlabelled.id]
    neighbour.reload()
    assert neighbour.status == "running"
    assert AuditEntry.objects.filter(demo_id=demo.id, action="reaped", actor=None).exists()


def _operator() -> Any:
    return Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)


@pytest.mark.docker
def test_auto_runs_both_demos_on_offline_images_it_builds_when_no_registry_answers(
    launcher, fresh_offline_tag, inline_tasks, demo_dir, docker_client, removed_afterwards, settings
) -> None:
    settings.TOPOLOGY_DEMO_IMAGES = "auto"  # what make run uses
    settings.TOPOLOGY_DEMO_OFFLINE_TAG = fresh_offline_tag
    settings.TOPOLOGY_DEMO_DIND_IMAGE = UNPULLABLE["dind"]
    settings.TOPOLOGY_DEMO_WORKLOAD_IMAGE = UNPULLABLE["workload"]
    settings.TOPOLOGY_DEMO_CLI_IMAGE = UNPULLABLE["cli"]
    for kind in ("dind", "dood"):
        demo_id = launcher.post("/api/demos/", {"kind": kind}, content_type="application/json")
        described = launcher.get(f"/api/demos/{demo_id.json()['id']}/").json()
        assert described["status"] == "running", described["error"]
        assert described["progress"]["steps"][0] == "Getting the images"
        notes = described["progress"]["notes"]
        assert "could not be pulled (no registry answered)" in notes[0], notes
        assert UNPULLABLE["workload"] in notes[0]
        built = "dind" if kind == "dind" else "docker-cli"
        assert notes[-1].startswith(f"Built topology/{built}:{fresh_offline_tag}")
        containers, _volumes = _labelled(docker_client, described["id"])
        assert {c.image.tags[0].rpartition(":")[2] for c in containers} == {fresh_offline_tag}
    dood = next(d for d in Demo.objects.all() if d.kind == "dood")
    assert f"Using topology/workload:{fresh_offline_tag}, built earlier" in dood.notes  # DinD's


@pytest.mark.docker
def test_a_failed_demo_says_why_counts_for_nothing_and_is_tried_again_or_removed(
    launcher, inline_tasks, demo_dir, docker_client, offline_images, removed_afterwards, settings
) -> None:
    settings.TOPOLOGY_DEMO_QUOTA = 1
    settings.TOPOLOGY_DEMO_MAX_RUNNING = 1
    settings.TOPOLOGY_DEMO_IMAGES = "pull"
    settings.TOPOLOGY_DEMO_CLI_IMAGE = UNPULLABLE["cli"]
    settings.TOPOLOGY_DEMO_WORKLOAD_IMAGE = images.WORKLOAD_IMAGE
    first = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    failed = launcher.get(f"/api/demos/{first.json()['id']}/").json()
    assert failed["status"] == "failed" and "could not be pulled" in failed["error"]
    assert failed["error"].count(". ") == 0  # one sentence
    assert _labelled(docker_client, failed["id"]) == ([], [])

    # Neither the quota (1) nor the cap (1) sees it: a second launch fails the same way.
    second = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    assert second.status_code == 202
    assert launcher.get(f"/api/demos/{second.json()['id']}/").json()["status"] == "failed"

    # Remove tears down whatever was made, and the demo is gone.
    assert launcher.delete(f"/api/demos/{second.json()['id']}/").status_code == 202
    assert launcher.get(f"/api/demos/{second.json()['id']}/").status_code == 404

    # Try again: the same kind for the same team, now that the images can be had.
    settings.TOPOLOGY_DEMO_IMAGES = "offline"
    again = launcher.post(f"/api/demos/{failed['id']}/retry/")
    assert again.status_code == 202 and again.json()["id"] == failed["id"]
    retried = launcher.get(f"/api/demos/{failed['id']}/").json()
    assert retried["status"] == "running" and retried["error"] == ""
    assert retried["kind"] == "dood" and retried["team"] is None
    assert len(_labelled(docker_client, failed["id"])[0]) == 3
    not_failed = launcher.post(f"/api/demos/{failed['id']}/retry/")
    assert not_failed.status_code == 409 and "only a failed demo" in not_failed.json()["detail"]
    actions = AuditEntry.objects.filter(demo_id=failed["id"]).values_list("action", "detail")
    assert ("launched", "tried again") in set(actions)


def test_trying_again_is_held_to_the_quota(launcher, settings) -> None:
    settings.TOPOLOGY_DEMO_QUOTA = 1
    user = _operator()
    running = services.request_launch(user, "dind")
    Demo.objects.filter(pk=running.pk).update(status=Demo.Status.RUNNING)
    failed = Demo.objects.create(
        kind="dood", owner=user, expires=timezone.now(), status=Demo.Status.FAILED, error="x"
    )
    refused = launcher.post(f"/api/demos/{failed.id}/retry/")
    assert refused.status_code == 429 and "limit is 1" in refused.json()["detail"]
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.error == "x"
    assert AuditEntry.objects.filter(demo_id=failed.id, action="refused").exists()


@pytest.mark.docker
def test_the_reaper_keeps_a_failed_demo_and_clears_only_its_leftovers(
    launcher, demo_dir, docker_client, offline_images, removed_afterwards, cleanup
) -> None:
    demo = Demo.objects.create(
        kind="dood",
        owner=_operator(),
        expires=timezone.now() - timedelta(minutes=5),
        status=Demo.Status.FAILED,
        error="it broke",
    )
    leftover = run_workload(
        docker_client,
        cleanup,
        unique("leftover"),
        labels={"topology.demo": str(demo.id), "topology.expires": "2000-01-01T00:00:00Z"},
    )
    assert str(demo.id) not in tasks.reap_expired_demos()
    demo.refresh_from_db()
    assert demo.status == "failed"  # kept: Try again or Remove
    assert _labelled(docker_client, str(demo.id)) == ([], [])
    assert not AuditEntry.objects.filter(demo_id=demo.id, action="reaped").exists()
    assert leftover.id


@pytest.mark.docker
def test_the_comparison_is_read_from_both_live_demos_with_both_build_times(
    launcher, inline_tasks, demo_dir, docker_client, offline_images, removed_afterwards
) -> None:
    ids = {}
    for kind in ("dind", "dood"):
        response = launcher.post("/api/demos/", {"kind": kind}, content_type="application/json")
        ids[kind] = response.json()["id"]
        assert launcher.get(f"/api/demos/{ids[kind]}/").json()["status"] == "running"
    before = launcher.get("/api/demos/comparison/").json()
    assert before["rows"][-1]["cells"]["dind"]["summary"].startswith("Not measured yet")

    for kind in ("dind", "dood"):
        started = launcher.post(f"/api/demos/{ids[kind]}/build/")
        assert started.status_code == 202, started.content
    table = launcher.get("/api/demos/comparison/").json()
    assert set(table["columns"]) == {"dind", "dood"}
    assert {k: c["demo"]["id"] for k, c in table["columns"].items()} == ids
    rows = {row["key"]: row for row in table["rows"]}
    assert list(rows) == ["daemon", "children", "ps", "cache", "privileges", "build"]
    for row in rows.values():
        for kind in ("dind", "dood"):
            assert not row["cells"][kind].get("missing"), (row["key"], kind, row["cells"][kind])
        assert row["highlight"], row["key"]

    host_id = docker_client.info()["ID"]
    dind_containers, _ = _labelled(docker_client, ids["dind"])
    dind = next(c for c in dind_containers if c.labels["topology.role"] == "dind")
    nested_id = dind.exec_run(["docker", "info", "--format", "{{.ID}}"]).output.decode().strip()
    daemon = rows["daemon"]["cells"]
    assert daemon["dind"]["highlight"] == [f"daemon:{nested_id}"] and nested_id != host_id
    assert daemon["dood"]["highlight"] == [f"daemon:{host_id}"]
    assert "second daemon" in daemon["dind"]["summary"]
    assert "host's own daemon" in daemon["dood"]["summary"]
    assert any(docker_client.version()["Version"] in d for d in daemon["dood"]["details"])

    children = rows["children"]["cells"]
    assert children["dind"]["summary"].startswith("Inside the nested daemon")
    assert "lists 0 of 2" in children["dind"]["details"][0]
    assert children["dood"]["summary"].startswith("On the host, beside the DooD container")
    assert "lists 2 of 2" in children["dood"]["details"][0]
    assert f"container:{dind.id}" in children["dind"]["highlight"]

    ps = rows["ps"]["cells"]
    assert ps["dind"]["summary"] == "2 containers: only what its own daemon runs"
    running_on_host = len(docker_client.containers.list())
    assert ps["dood"]["summary"].startswith(f"{running_on_host} containers: every running")

    cache = rows["cache"]["cells"]
    assert cache["dind"]["summary"].startswith("Its own: 1 image")
    assert images.WORKLOAD_IMAGE in cache["dind"]["details"][0]
    assert cache["dood"]["summary"].startswith("One cache, the host's")

    rights = rows["privileges"]["cells"]
    assert rights["dind"]["tone"] == rights["dood"]["tone"] == "bad"
    assert (
        "socket" in rights["dood"]["summary"]
        and "root on the host" in rights["dood"]["details"][-1]
    )
    assert any("seccomp off" in line for line in rights["dind"]["details"])
    assert any("seccomp filtering" in line for line in rights["dood"]["details"])

    builds = rows["build"]["cells"]
    for kind in ("dind", "dood"):
        build = builds[kind]["build"]
        assert build["status"] == "done", build
        assert build["first"]["seconds"] > 0 and build["second"]["seconds"] > 0
        assert build["second"]["run_cached"] is True and build["image_removed"] is True
        assert f"{build['first']['seconds']:.2f} s" in builds[kind]["summary"]
        assert f"{build['second']['seconds']:.2f} s" in builds[kind]["summary"]
    assert builds["dind"]["build"]["engine_id"] == nested_id
    assert builds["dood"]["build"]["engine_id"] == host_id
    assert "nested daemon built it" in builds["dind"]["details"][0]
    assert "host's daemon built it" in builds["dood"]["details"][0]
    print(
        "build times:",
        {
            k: (c["build"]["first"]["seconds"], c["build"]["second"]["seconds"])
            for k, c in builds.items()
        },
    )

    again = launcher.post(f"/api/demos/{ids['dood']}/build/")
    assert again.status_code == 202  # the last one is done: another may run
    pinned = launcher.get(f"/api/demos/comparison/?demo={ids['dood']}").json()
    assert pinned["columns"]["dood"]["demo"]["id"] == ids["dood"]
    assert launcher.get("/api/demos/comparison/?demo=nope").status_code == 400
    leftovers = docker_client.images.list(all=True, filters={"label": "topology.build-probe=true"})
    assert [i for i in leftovers if i.labels.get("topology.demo") in ids.values()] == []


def test_a_build_needs_a_running_demo_and_runs_one_at_a_time(launcher) -> None:
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    demo = Demo.objects.create(kind="dood", owner=user, expires=timezone.now())
    starting = launcher.post(f"/api/demos/{demo.id}/build/")
    assert starting.status_code == 409 and "starting" in starting.json()["detail"]
    Demo.objects.filter(pk=demo.pk).update(status="running")
    services.request_build(user, demo)
    again = launcher.post(f"/api/demos/{demo.id}/build/")
    assert again.status_code == 409 and "under way" in again.json()["detail"]
    assert demo.builds.count() == 1
    assert AuditEntry.objects.filter(action="built", demo_id=demo.id).count() == 1


def test_a_build_on_an_engine_that_does_not_answer_fails_with_a_reason(launcher, settings) -> None:
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    user = Demo._meta.get_field("owner").related_model.objects.get(username=OPERATOR)
    demo = Demo.objects.create(kind="dind", owner=user, expires=timezone.now(), status="running")
    build = services.request_build(user, demo)
    assert tasks.build_twice(build.pk) == "failed"
    build.refresh_from_db()
    assert build.status == "failed" and build.error and build.finished
    assert launcher.get(f"/api/demos/{demo.id}/").json()["build"]["status"] == "failed"
    assert tasks.build_twice(build.pk) == "nothing to do"


@pytest.mark.docker
def test_a_dood_demos_facts_name_only_its_own_containers(
    launcher, inline_tasks, demo_dir, docker_client, offline_images, removed_afterwards, cleanup
) -> None:
    """Through the socket a DooD demo sees every container on the host; its viewers get the
    count of those that are not the demo's, never their names or ids."""
    stranger = run_workload(docker_client, cleanup, unique("another-teams"))
    demo_id = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    demo_id = demo_id.json()["id"]
    body = launcher.get(f"/api/demos/{demo_id}/").content.decode()
    facts = launcher.get(f"/api/demos/{demo_id}/").json()["facts"]
    assert len(facts["ps_inside"]) == 3 and facts["ps_inside_count"] > 3
    table = launcher.get(f"/api/demos/comparison/?demo={demo_id}").content.decode()
    for text in (body, table):
        assert stranger.name not in text and stranger.id not in text


def reset_broker_pools() -> None:
    """Forget every broker connection: kombu keeps its pools in a registry of its own, by URL
    (a pool closed here would stay closed for the real broker's next task)."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def no_broker(settings, private_redis) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Celery's broker is a Redis that has just been stopped (the app's connection pool is
    reset so the next task goes there, and back to the real broker after)."""
    url, process = private_redis
    process.kill()
    process.wait()
    before = app.conf.broker_url
    app.conf.broker_url = url
    reset_broker_pools()
    try:
        yield
    finally:
        app.conf.broker_url = before
        reset_broker_pools()


def test_a_launch_with_redis_down_is_a_503_and_leaves_nothing(launcher, no_broker) -> None:
    started = time.monotonic()
    response = launcher.post("/api/demos/", {"kind": "dood"}, content_type="application/json")
    assert response.status_code == 503 and "task queue (Redis)" in response.json()["detail"]
    assert time.monotonic() - started < 10
    assert not Demo.objects.exists()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["refused"]


def test_a_retry_a_removal_and_a_build_with_redis_down_change_nothing(
    launcher, no_broker, django_user_model
) -> None:
    user = django_user_model.objects.get(username=OPERATOR)
    expires = timezone.now() + timedelta(minutes=30)
    failed = Demo.objects.create(kind="dood", owner=user, status="failed", expires=expires)
    running = Demo.objects.create(kind="dind", owner=user, status="running", expires=expires)
    for url, method in [
        (f"/api/demos/{failed.pk}/retry/", launcher.post),
        (f"/api/demos/{running.pk}/", launcher.delete),
        (f"/api/demos/{running.pk}/build/", launcher.post),
    ]:
        response = method(url)
        assert response.status_code == 503, (url, response.content)
    failed.refresh_from_db()
    running.refresh_from_db()
    assert failed.status == "failed" and "did not answer" in failed.error
    assert running.status == "running"
    assert not running.builds.filter(status__in=("queued", "running")).exists()
