"""The DinD and DooD scenarios on the real engine, with offline images."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import MANAGED, UNPULLABLE, run_workload, unique
from topology.engine import build_probe, demo_facts, demos, images
from topology.engine.dind import PROFILE_COMPATIBLE, PROFILE_PRIVILEGED
from topology.engine.nesting import SAME_MACHINE, vouched_endpoint
from topology.engine.reading import container_from_inspect

pytestmark = pytest.mark.docker

OFFLINE = demos.DemoImages(images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE)
LABEL_KEY = b"this installation's label key, 32+"


def spec(tmp_path: Path, expires: datetime | None = None, **image_fields) -> demos.DemoSpec:
    """A demo whose nested socket gets group 4242 (not ours), as in Compose."""
    demo_id = str(uuid.uuid4())
    return demos.DemoSpec(
        demo_id=demo_id,
        owner="o'brien",
        expires=expires or datetime.now(UTC) + timedelta(hours=1),
        images=demos.DemoImages(**{**OFFLINE.__dict__, **image_fields}),
        folder=tmp_path / demo_id[:8],
        host_socket="/var/run/docker.sock",
        label_key=LABEL_KEY,
        socket_gid=4242,
    )


def demo_leftovers(client, demo_id: str) -> tuple[list, list]:
    labels = {"label": [f"topology.demo={demo_id}"]}
    return client.containers.list(all=True, filters=labels), client.volumes.list(filters=labels)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short folder: unix socket paths are limited to 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="td-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def torn_down(docker_client, offline_images):
    made: list[demos.DemoSpec] = []
    yield made
    for each in made:
        demos.tear_down(docker_client, each.demo_id, each.folder)


def test_dind_scenario_builds_the_seed_and_tears_down(docker_client, torn_down, short_tmp) -> None:
    demo = spec(short_tmp)
    torn_down.append(demo)
    steps: list[str] = []
    outcome = demos.launch_dind(docker_client, demo, steps.append)
    assert steps == [key for key, _label in demos.DIND_STEPS]
    assert outcome.profile in {PROFILE_PRIVILEGED, PROFILE_COMPATIBLE}
    assert outcome.nested_endpoint == demo.nested_endpoint
    assert (demo.socket_folder / "docker.sock").stat().st_gid == 4242

    on_host, volumes = demo_leftovers(docker_client, demo.demo_id)
    by_role = {c.name.rsplit("-", 1)[-1]: c for c in on_host}
    assert set(by_role) == {"c1", "c2", "dind"} and len(volumes) == 1
    dind = by_role["dind"]
    assert dind.labels["topology.endpoint"] == demo.nested_endpoint
    read = container_from_inspect(dind.attrs)  # as the poller reads it: the label is vouched for
    assert vouched_endpoint(read, LABEL_KEY, SAME_MACHINE) == demo.nested_endpoint
    assert vouched_endpoint(read, b"another installation", SAME_MACHINE) is None
    assert dind.labels["topology.owner"] == "o'brien"
    for container in on_host:
        host_config = container.attrs["HostConfig"]
        privileged_or_compatible = host_config["Privileged"] or "ALL" in (
            host_config.get("CapAdd") or []
        )
        assert privileged_or_compatible is (container is dind), container.name

    facts = demo_facts.demo_facts(docker_client, demo.demo_id)
    assert facts.inside_engine_id and facts.inside_engine_id != facts.host_engine_id
    assert facts.inside_images == 1 and facts.host_images > 1
    assert {name.rsplit("-", 1)[-1] for name in facts.ps_inside} == {"c3", "c4"}
    assert facts.kind == "dind" and facts.main.container_id == dind.id
    assert facts.inside.version and facts.host.engine_id == docker_client.info()["ID"]
    assert [c.name for c in facts.children] == list(facts.ps_inside)
    assert facts.children_on_host == ()  # the host's engine does not know C3 and C4
    [seeded] = facts.inside_cache
    assert seeded.tags == (images.WORKLOAD_IMAGE,)
    assert seeded.image_id in {image.image_id for image in facts.host_cache}
    rights = facts.privileges
    assert rights.seccomp == "off" and rights.engine_sockets == ()
    assert "SYS_ADMIN" in rights.capabilities and len(rights.capabilities) > 30
    assert rights.privileged or "a *:* rwm" in rights.device_rules

    probe = build_probe.build_twice(docker_client, demo.demo_id, images.WORKLOAD_IMAGE)
    assert probe.engine_id == facts.inside_engine_id and probe.removed
    assert probe.first.seconds > 0 and probe.second.seconds > 0
    assert not probe.first.run_step_cached and probe.second.run_step_cached
    assert probe.image_size > 0 and probe.image_id.startswith("sha256:")
    after = demo_facts.demo_facts(docker_client, demo.demo_id)
    assert [image.tags for image in after.inside_cache] == [(images.WORKLOAD_IMAGE,)]

    again = demos.launch_dind(docker_client, demo, lambda step: None)
    assert again.nested_endpoint == outcome.nested_endpoint
    assert len(demo_leftovers(docker_client, demo.demo_id)[0]) == 3

    removed = demos.tear_down(docker_client, demo.demo_id, demo.folder)
    assert removed.containers == 3 and removed.volumes == 1
    assert demo_leftovers(docker_client, demo.demo_id) == ([], [])
    assert not demo.folder.exists()


def test_dood_scenario_makes_siblings_on_the_host(docker_client, torn_down, short_tmp) -> None:
    demo = spec(short_tmp)
    torn_down.append(demo)
    demos.launch_dood(docker_client, demo, lambda step: None)
    on_host, _volumes = demo_leftovers(docker_client, demo.demo_id)
    dood = next(c for c in on_host if c.labels["topology.role"] == "dood")
    siblings = [c for c in on_host if c.labels["topology.role"] == "workload"]
    assert len(siblings) == 2
    for sibling in siblings:
        assert dood.id.startswith(sibling.labels["topology.created-by"])
        assert sibling.labels["topology.managed"] == "true"
    assert not dood.attrs["HostConfig"]["Privileged"]
    facts = demo_facts.demo_facts(docker_client, demo.demo_id)
    assert facts.inside_engine_id == facts.host_engine_id
    assert {s.name for s in siblings} <= set(facts.ps_inside)
    assert facts.kind == "dood" and facts.main.container_id == dood.id
    assert sorted(c.container_id for c in facts.children) == sorted(s.id for s in siblings)
    assert sorted(facts.children_on_host) == sorted(s.id for s in siblings)
    assert {i.image_id for i in facts.inside_cache} == {i.image_id for i in facts.host_cache}
    rights = facts.privileges
    assert rights.engine_sockets == ("/var/run/docker.sock",) and not rights.privileged
    assert rights.seccomp == "filtering" and "SYS_ADMIN" not in rights.capabilities
    assert 0 < len(rights.capabilities) < 20 and rights.device_rules == ()

    probe = build_probe.build_twice(docker_client, demo.demo_id, images.WORKLOAD_IMAGE)
    assert probe.engine_id == facts.host_engine_id and probe.removed
    assert probe.second.run_step_cached and probe.second.seconds > 0
    leftovers = docker_client.images.list(
        all=True, filters={"label": f"topology.demo={demo.demo_id}"}
    )
    assert leftovers == []


def test_tear_down_and_reaping_touch_only_what_is_labelled(
    docker_client, offline_images, torn_down, short_tmp, cleanup
) -> None:
    expired = spec(short_tmp, expires=datetime.now(UTC) - timedelta(minutes=1))
    torn_down.append(expired)
    demos.launch_dood(docker_client, expired, lambda step: None)
    bystander = docker_client.containers.run(
        images.WORKLOAD_IMAGE,
        images.IDLE_COMMAND,
        name=unique("bystander"),
        labels={"topology.demo": expired.demo_id, "topology.test": "not-managed"},
        detach=True,
    )
    cleanup.add(lambda: bystander.remove(force=True))
    fresh = run_workload(docker_client, cleanup, unique("fresh"), labels={"topology.demo": "x"})
    assert expired.demo_id in demos.expired_demo_ids(docker_client, datetime.now(UTC))
    assert "x" not in demos.expired_demo_ids(docker_client, datetime.now(UTC))
    demos.tear_down(docker_client, expired.demo_id, expired.folder)
    bystander.reload()
    fresh.reload()
    assert bystander.status == "running" and fresh.status == "running"
    assert demo_leftovers(docker_client, expired.demo_id)[0] == [bystander]
    assert MANAGED.items() <= fresh.labels.items()


def test_missing_image_is_a_clear_error_and_never_pulled(docker_client, tmp_path) -> None:
    missing = demos.DemoImages(images.DIND_IMAGE, "topology/missing:offline", images.CLI_IMAGE)
    with pytest.raises(demos.DemoError, match=r"topology/missing:offline.*demo_images build"):
        demos.ensure_images(docker_client, missing, "offline")


UNPULLABLE_IMAGES = demos.DemoImages(**UNPULLABLE)


def test_auto_builds_the_offline_stand_ins_when_a_pull_fails_and_says_so(
    docker_client, fresh_offline_tag
) -> None:
    notes: list[str] = []

    def say(text: str, *, update: bool = False) -> None:
        if update:
            notes.pop()
        notes.append(text)

    ready = demos.ensure_images(
        docker_client,
        UNPULLABLE_IMAGES,
        "auto",
        needs=demos.NEEDS["dind"],
        offline_tag=fresh_offline_tag,
        say=say,
    )
    dind = images.offline_tag(images.DIND_IMAGE, fresh_offline_tag)
    workload = images.offline_tag(images.WORKLOAD_IMAGE, fresh_offline_tag)
    assert ready == demos.DemoImages(dind, workload, UNPULLABLE["cli"])  # DinD needs no CLI
    assert notes[0] == (
        f"{UNPULLABLE['dind']} and {UNPULLABLE['workload']} could not be pulled "
        "(no registry answered)"
    )
    assert notes[1].startswith(f"Built {dind} and {workload} from this machine's own binaries in ")
    assert len(notes) == 2
    assert {tag for image in docker_client.images.list() for tag in image.tags} >= {dind, workload}

    again: list[str] = []
    demos.ensure_images(
        docker_client,
        UNPULLABLE_IMAGES,
        "auto",
        needs=demos.NEEDS["dood"],
        offline_tag=fresh_offline_tag,
        say=lambda text, update=False: again.append(text),
    )
    assert again[1] == f"Using {workload}, built earlier from this machine's own binaries"
    cli = images.offline_tag(images.CLI_IMAGE, fresh_offline_tag)
    assert again[2] == f"Building {cli} from this machine's own binaries…"
    assert again[3].startswith(f"Built {cli} from")


def test_auto_uses_what_the_engine_has_without_a_pull(docker_client, offline_images) -> None:
    said: list[str] = []
    here = demos.DemoImages(images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE)
    assert demos.ensure_images(docker_client, here, "auto", say=said.append) == here
    assert said == []


def test_pull_only_is_one_sentence_naming_the_image_and_what_to_run(docker_client) -> None:
    with pytest.raises(demos.DemoError) as raised:
        demos.ensure_images(docker_client, UNPULLABLE_IMAGES, "pull", needs=("dind",))
    message = str(raised.value)
    assert message == (
        f"{UNPULLABLE['dind']} is not on the engine and could not be pulled (no registry "
        f"answered): run 'docker pull {UNPULLABLE['dind']}' once a registry answers, or set "
        "TOPOLOGY_DEMO_IMAGES=auto to build a stand-in from this machine's own binaries"
    )


def test_when_neither_works_one_sentence_names_the_program_and_the_package(
    docker_client, fresh_offline_tag, monkeypatch
) -> None:
    # A program this machine does not have (a real lookup that fails, not a fake engine).
    absent = images._Program("dockerd-not-installed-here", "docker.io")
    monkeypatch.setattr(images, "_ENGINE_PROGRAMS", (*images._ENGINE_PROGRAMS, absent))
    with pytest.raises(demos.DemoError) as raised:
        demos.ensure_images(
            docker_client,
            UNPULLABLE_IMAGES,
            "auto",
            needs=("dind",),
            offline_tag=fresh_offline_tag,
        )
    assert str(raised.value) == (
        f"{UNPULLABLE['dind']} could not be pulled and "
        f"{images.offline_tag(images.DIND_IMAGE, fresh_offline_tag)} cannot be built here because "
        "dockerd-not-installed-here is not installed; run apt-get install docker.io, then try again"
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on '
            "10.0.0.53:53: no such host",
            "no registry answered",
        ),
        (
            'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
            "no registry answered",
        ),
        # What Docker Hub answers over its rate limit (a named fake: no engine says it here).
        (
            "toomanyrequests: You have reached your pull rate limit. You may increase the limit "
            "by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            "the registry's pull rate limit is reached",
        ),
        (
            "pull access denied for nosuch/image, repository does not exist or may require "
            "'docker login': denied: requested access to the resource is denied",
            "the registry refused it without a login",
        ),
        (
            "manifest for busybox:0.0.0 not found: manifest unknown",
            "the registry has no such image",
        ),
        ("something new\nand more", "something new"),
    ],
)
def test_pull_failures_are_said_in_a_few_words(answer: str, reason: str) -> None:
    assert demos.pull_failure(answer) == reason


def test_tear_down_removes_the_demos_leftover_images_and_no_other(
    docker_client, torn_down, short_tmp, cleanup
) -> None:
    import io

    demo = spec(short_tmp)
    torn_down.append(demo)

    def labelled_image(labels: dict[str, str]) -> str:
        lines = [f"FROM {images.WORKLOAD_IMAGE}"] + [
            f'LABEL "{k}"="{v}"' for k, v in labels.items()
        ]
        image, _log = docker_client.images.build(
            fileobj=io.BytesIO("\n".join(lines).encode()), rm=True, network_mode="none"
        )
        return image.id

    ours = labelled_image(
        {**MANAGED, "topology.demo": demo.demo_id, "topology.build-probe": "true"}
    )
    theirs = labelled_image({"topology.demo": demo.demo_id, "topology.test": "not-managed"})
    cleanup.add(lambda: docker_client.images.remove(theirs, force=True))
    demos.tear_down(docker_client, demo.demo_id, demo.folder)
    remaining = {image.id for image in docker_client.images.list(all=True)}
    assert ours not in remaining and theirs in remaining
