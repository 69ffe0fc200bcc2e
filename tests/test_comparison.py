"""The DinD vs DooD table, worded from facts (pure), and what it says when an engine is down."""

from __future__ import annotations

import pytest
from django.utils import timezone

from topology.demos import comparison, services
from topology.demos.models import Demo
from topology.engine.demo_facts import CachedImage, DemoFacts, Engine, Listed, Privileges

HOST = Engine("HOST:ID", "20.10.24", "vm")
NESTED = Engine("NESTED:ID", "20.10.24", "dind")
WORKLOAD = CachedImage("sha256:" + "1" * 64, ("topology/workload:offline",), 2_000_000)
DIND_IMAGE = CachedImage("sha256:" + "2" * 64, ("topology/dind:offline",), 199_000_000)
ALL_BUT_ONE = tuple(
    name for name in comparison.capability_names((1 << 41) - 1) if name != "SYS_RESOURCE"
)


def hexes(digit: str) -> str:
    return digit * 64


def rights(**fields) -> Privileges:
    base = {
        "privileged": False,
        "profile": "default",
        "capabilities": ("CHOWN", "KILL"),
        "capabilities_known": 41,
        "seccomp": "filtering",
        "no_new_privileges": False,
        "apparmor": "docker-default",
        "device_rules": (),
        "host_devices": (),
        "dev_entries": 14,
        "engine_sockets": (),
    }
    return Privileges(**(base | fields))


def dind_facts(**fields) -> DemoFacts:
    c3, c4 = Listed(hexes("3"), "c3"), Listed(hexes("4"), "c4")
    base = {
        "containers": (),
        "host_engine_id": HOST.engine_id,
        "host_images": 2,
        "inside_engine_id": NESTED.engine_id,
        "inside_images": 1,
        "ps_inside": ("c3", "c4"),
        "kind": "dind",
        "host": HOST,
        "main": Listed(hexes("d"), "dind"),
        "inside": NESTED,
        "listed_inside": (c3, c4),
        "children": (c3, c4),
        "children_on_host": (),
        "host_cache": (WORKLOAD, DIND_IMAGE),
        "inside_cache": (WORKLOAD,),
        "privileges": rights(
            profile="compatible",
            capabilities=ALL_BUT_ONE,
            seccomp="off",
            device_rules=("a *:* rwm",),
        ),
    }
    return DemoFacts(**(base | fields))


def dood_facts(**fields) -> DemoFacts:
    s1, s2, other = Listed(hexes("5"), "s1"), Listed(hexes("6"), "s2"), Listed(hexes("7"), "x")
    base = {
        "containers": (),
        "host_engine_id": HOST.engine_id,
        "host_images": 2,
        "inside_engine_id": HOST.engine_id,
        "inside_images": 2,
        "ps_inside": ("dood", "s1", "s2", "x"),
        "kind": "dood",
        "host": HOST,
        "main": Listed(hexes("e"), "dood"),
        "inside": HOST,
        "listed_inside": (Listed(hexes("e"), "dood"), s1, s2, other),
        "children": (s1, s2),
        "children_on_host": (s1.container_id, s2.container_id),
        "host_cache": (WORKLOAD, DIND_IMAGE),
        "inside_cache": (WORKLOAD, DIND_IMAGE),
        "privileges": rights(engine_sockets=("/var/run/docker.sock",)),
    }
    return DemoFacts(**(base | fields))


def table(dind: DemoFacts | None, dood: DemoFacts | None, builds=None) -> dict[str, dict]:
    builds = builds or {}
    demo = {"id": "x", "status": "running"}
    columns = {
        "dind": comparison.Column("dind", demo, dind, builds.get("dind")),
        "dood": comparison.Column("dood", demo, dood, builds.get("dood")),
    }
    return {row["key"]: row for row in comparison.rows(columns)}


def test_every_row_is_worded_from_the_facts_and_names_its_nodes() -> None:
    rows = table(dind_facts(), dood_facts())
    assert list(rows) == ["daemon", "children", "ps", "cache", "privileges", "build"]
    daemon = rows["daemon"]["cells"]
    assert daemon["dind"]["highlight"] == ["daemon:NESTED:ID"]
    assert daemon["dood"]["highlight"] == ["daemon:HOST:ID"]
    assert rows["daemon"]["highlight"] == ["daemon:NESTED:ID", "daemon:HOST:ID"]
    children = rows["children"]["cells"]
    assert "lists 0 of 2" in children["dind"]["details"][0]
    assert "lists 2 of 2" in children["dood"]["details"][0]
    assert f"container:{hexes('5')}" in children["dood"]["highlight"]
    ps = rows["ps"]["cells"]
    assert ps["dood"]["summary"] == "4 containers: every running container on the host"
    assert ps["dood"]["details"] == [
        "this demo's: dood, s1, s2",
        "and 1 more that are not this demo's: whoever holds the socket can see, stop and exec "
        "into every one",
    ]
    assert f"container:{hexes('7')}" not in ps["dood"]["highlight"]  # not this demo's: no id
    cache = rows["cache"]["cells"]
    assert cache["dind"]["summary"] == "Its own: 1 image, 2.0 MB; the host has 2 images, 201.0 MB"
    assert "topology/workload:offline" in cache["dind"]["details"][0]
    assert cache["dood"]["summary"] == "One cache, the host's: 2 images, 201.0 MB"
    privileges = rows["privileges"]["cells"]
    assert privileges["dind"]["details"][0] == "40 of 41 capabilities: all but SYS_RESOURCE"
    assert "SYS_MODULE" in privileges["dind"]["details"][-1]
    assert "socket" in privileges["dood"]["details"][-1]
    assert privileges["dind"]["tone"] == privileges["dood"]["tone"] == "bad"
    assert rows["build"]["cells"]["dind"]["summary"].startswith("Not measured yet")


def test_the_build_row_says_both_times_and_the_cache() -> None:
    done = {
        "status": "done",
        "engine_id": "HOST:ID",
        "steps": 3,
        "first": {"seconds": 1.234, "cached_steps": 0, "run_cached": False},
        "second": {"seconds": 0.1, "cached_steps": 3, "run_cached": True},
        "image_size": 2_000_000,
        "image_removed": True,
        "error": "",
    }
    failed = {**done, "status": "failed", "error": "<b>no space</b>"}
    rows = table(dind_facts(), dood_facts(), {"dood": done, "dind": failed})
    build = rows["build"]["cells"]
    assert build["dood"]["summary"] == (
        "1st build 1.23 s (no cache for the RUN step) · "
        "2nd build 0.10 s (the RUN step from the cache)"
    )
    assert build["dood"]["details"][0].startswith(
        "the host's daemon built it, into the host's cache"
    )
    assert build["dind"]["details"] == ["<b>no space</b>"] and build["dind"]["tone"] == "bad"


def test_a_column_without_a_demo_says_so_in_every_row() -> None:
    columns = {
        "dind": comparison.Column("dind", None, None, None),
        "dood": comparison.Column("dood", {"id": "x", "status": "starting"}, None, None),
    }
    for row in comparison.rows(columns):
        assert row["cells"]["dind"]["missing"] and "launch one" in row["cells"]["dind"]["summary"]
        assert row["cells"]["dood"]["summary"] == "The DooD demo is starting."


def test_daemon_text_is_passed_on_as_data_and_highlights_are_capped() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    many = tuple(Listed(f"{index:064x}", hostile) for index in range(200))
    facts = dind_facts(listed_inside=many, children=many, inside=Engine("N:ID", hostile, hostile))
    rows = table(facts, None)
    assert hostile in rows["daemon"]["cells"]["dind"]["details"][1]
    assert hostile in rows["ps"]["cells"]["dind"]["details"][0]
    assert len(rows["ps"]["cells"]["dind"]["highlight"]) == comparison.MAX_HIGHLIGHT


@pytest.mark.django_db
def test_an_engine_that_does_not_answer_leaves_a_sentence_not_an_error(
    admin_user, settings
) -> None:
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    Demo.objects.create(kind="dood", owner=admin_user, expires=timezone.now(), status="running")
    result = services.compare(Demo.objects.all())
    assert result["columns"]["dood"]["read"] is False
    for row in result["rows"]:
        assert row["cells"]["dood"]["summary"].startswith("The engine did not answer")
        assert "launch one" in row["cells"]["dind"]["summary"]
