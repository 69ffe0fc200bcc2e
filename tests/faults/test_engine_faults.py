"""Engines that misbehave, as a real engine cannot be made to: FAKE engines (``tests.fake_engine``)
answering in the wrong shape, ending their event stream the moment it opens, or accepting a
connection and never answering. Each marks only its own daemon unreachable, with a reason; the
other daemon keeps being polled and the events watcher keeps running."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_engine import FakeEngine, listed
from topology.engine import events
from topology.engine.types import Route
from topology.inventory import polling
from topology.inventory.models import Container, Daemon, Endpoint, Status
from topology.inventory.watching import Watcher
from topology.teams.models import Team

GOOD, BAD = "FAULT:GOOD", "FAULT:BAD"


def inspected(hex_id: str, name: str) -> dict[str, Any]:
    return {
        "Id": hex_id,
        "Name": f"/{name}",
        "Image": "sha256:" + "f" * 64,
        "Created": "2026-11-24T16:00:00.123456789Z",
        "Config": {"Image": "topology/workload:offline", "Labels": {"topology.managed": "true"}},
        "State": {"Status": "exited", "StartedAt": "2026-11-24T16:00:01Z"},
        "HostConfig": {"Privileged": False, "NetworkMode": "none"},
        "NetworkSettings": {"Networks": {}, "Ports": {}},
        "Mounts": [],
    }


def engine(folder: Path, engine_id: str, hex_char: str, **options: Any) -> FakeEngine:
    hex_id = hex_char * 64
    return FakeEngine(
        folder / f"{hex_char}.sock",
        engine_id=engine_id,
        containers=[listed(hex_id, f"on-{hex_char}")],
        inspect={hex_id: inspected(hex_id, f"on-{hex_char}")},
        **options,
    )


@pytest.fixture
def two_engines(settings, tmp_path) -> Iterator[tuple[FakeEngine, FakeEngine]]:  # type: ignore[no-untyped-def]
    """Two registered FAKE engines, both answering well at first; no local engine."""
    settings.DOCKER_HOST = f"unix://{tmp_path}/no-local-engine.sock"
    settings.TOPOLOGY_DOCKER_CONNECT_TIMEOUT = 1
    settings.TOPOLOGY_DOCKER_READ_TIMEOUT = 1
    team = Team.objects.create(slug="faults", name="Faults")
    with engine(tmp_path, GOOD, "a") as good, engine(tmp_path, BAD, "b") as bad:
        for fake in (good, bad):
            Endpoint.objects.create(name=fake.engine_id, url=fake.url, team=team)
        polling.poll_everything(publish=False)
        assert set(Daemon.objects.filter(status=Status.UP).values_list("engine_id", flat=True)) == {
            GOOD,
            BAD,
        }
        yield good, bad


WRONG_SHAPES = {
    "a listing that is an object": ("containers", {"Id": "b" * 64}),
    "a container whose Id is a number": ("containers", [{**listed("b" * 64, "x"), "Id": 5}]),
    "labels that are a list": ("containers", [{**listed("b" * 64, "x"), "Labels": ["a=b"]}]),
    "a port that is no number": (
        "containers",
        [{**listed("b" * 64, "x"), "Ports": [{"PrivatePort": 80, "PublicPort": {"n": 1}}]}],
    ),
    "an /info that is a list": ("info", ["ID", BAD]),
    "an engine ID that is an object": ("info", {"ID": {"id": BAD}}),
    "networks that are an object": ("networks", {"Name": "bridge"}),
    "volumes that are a list of text": ("volumes", ["data"]),
    "an inspect that is a list": ("inspect", {"b" * 64: [inspected("b" * 64, "x")]}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("answer", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_an_answer_of_the_wrong_shape_marks_only_that_daemon_unreachable(
    two_engines: tuple[FakeEngine, FakeEngine], answer: tuple[str, Any]
) -> None:
    good, bad = two_engines
    field, value = answer
    setattr(bad, field, value)
    if field == "inspect":  # inspected again only when the listing changed
        bad.containers = [{**listed("b" * 64, "on-b"), "State": "running"}]
    good.containers = [*good.containers, listed("c" * 64, "new-on-good")]
    good.inspect["c" * 64] = inspected("c" * 64, "new-on-good")
    results = polling.poll_everything(publish=False)  # raises nothing
    broken = Daemon.objects.get(engine_id=BAD)
    assert broken.status == Status.UNREACHABLE
    assert broken.last_error, "the reason is kept"
    assert "not" in broken.last_error or "malformed" in broken.last_error, broken.last_error
    fakes = (good.url, bad.url)
    errors = [r.error for r in results if r.error and r.target.route.url in fakes]
    assert errors == [broken.last_error]
    assert Daemon.objects.get(engine_id=GOOD).status == Status.UP
    assert set(Container.objects.filter(daemon__engine_id=GOOD).values_list("name", flat=True)) == {
        "on-a",
        "new-on-good",
    }
    assert Container.objects.filter(daemon__engine_id=BAD, name="on-b").exists()  # kept, stale


@pytest.mark.django_db
def test_an_engine_that_hangs_is_marked_and_the_others_still_polled(
    two_engines: tuple[FakeEngine, FakeEngine],
) -> None:
    """The engine accepts every connection and never answers: each poll gives up on it after
    the read timeout (1 s here), marks it unreachable and polls the other one all the same."""
    good, hangs = two_engines
    hangs.hang, hangs.hang_all = 3600, True
    for round_ in range(2):
        name = f"new-on-good-{round_}"
        hex_id = str(round_) * 64
        good.containers = [*good.containers, listed(hex_id, name)]
        good.inspect[hex_id] = inspected(hex_id, name)
        started = time.monotonic()
        polling.poll_everything(publish=False)
        print(f"\na poll with one engine hanging took {time.monotonic() - started:.1f} s")
        assert Container.objects.filter(daemon__engine_id=GOOD, name=name).exists()
        hung = Daemon.objects.get(engine_id=BAD)
        assert hung.status == Status.UNREACHABLE and hung.last_error
    hangs.closing.set()


def test_an_events_stream_that_ends_at_once_is_reopened_with_backoff(tmp_path) -> None:
    """Measured: how often a stream that "succeeds" and ends at once is opened in 10 s (before
    the back-off applied to it, about 3,500 times)."""
    with FakeEngine(tmp_path / "ends.sock", events="end") as fake:
        out: queue.Queue = queue.Queue()
        stop = threading.Event()
        follower = threading.Thread(
            target=events.follow, args=(Route(fake.url), out, stop), daemon=True
        )
        follower.start()
        time.sleep(10)
        stop.set()
        follower.join(timeout=15)
        opened = fake.requests["/events"]
    print(f"\nan events stream that ends at once: opened {opened} times in 10 s")
    assert not follower.is_alive()
    assert 2 <= opened <= 8  # 0.5 + 1 + 2 + 4 s of back-off fill the 10 s
    reasons = set()
    while not out.empty():
        reasons.add(out.get().error)
    assert reasons == {"the events stream ended"}


def test_lines_that_are_no_events_are_skipped_and_the_stream_followed_on(tmp_path) -> None:
    with FakeEngine(tmp_path / "garbage.sock", events="garbage") as fake:
        out: queue.Queue = queue.Queue()
        stop = threading.Event()
        follower = threading.Thread(
            target=events.follow, args=(Route(fake.url), out, stop), daemon=True
        )
        follower.start()
        time.sleep(2)
        assert follower.is_alive()
        assert out.empty()  # nothing learnt from garbage, nothing broken
        fake.emit("start", "e" * 64)
        event = out.get(timeout=10)
        assert (event.type, event.action, event.subject) == ("container", "start", "e" * 64)
        assert fake.requests["/events"] == 1  # still the first stream
        stop.set()
        fake.closing.set()
        follower.join(timeout=15)


@pytest.mark.django_db(transaction=True)
def test_the_watcher_outlives_an_engine_of_wrong_shapes_and_one_that_hangs(
    settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Three FAKE engines: one answers well, one answers its listing with an object and ends its
    event stream at once, one accepts every connection and never answers. The watcher runs on;
    the good one is polled again and again and its new container arrives; the other two are
    unreachable, each with its reason."""
    settings.DOCKER_HOST = f"unix://{tmp_path}/no-local-engine.sock"
    settings.TOPOLOGY_POLL_SECONDS = 0.5
    settings.TOPOLOGY_DOCKER_CONNECT_TIMEOUT = 1
    settings.TOPOLOGY_DOCKER_READ_TIMEOUT = 1
    team = Team.objects.create(slug="faults", name="Faults")
    with (
        engine(tmp_path, GOOD, "a") as good,
        engine(tmp_path, BAD, "b", events="end") as bad,
        engine(tmp_path, "FAULT:HANGS", "d") as hangs,
    ):
        for fake in (good, bad, hangs):
            Endpoint.objects.create(name=fake.engine_id, url=fake.url, team=team)
        polling.poll_everything(publish=False)
        bad.containers = {"Id": "b" * 64}
        hangs.hang, hangs.hang_all = 3600, True
        watcher = Watcher()
        with watcher.running_in_thread():
            deadline = time.monotonic() + 60
            while not (
                Daemon.objects.filter(engine_id=BAD, status=Status.UNREACHABLE).exists()
                and Daemon.objects.filter(
                    engine_id="FAULT:HANGS", status=Status.UNREACHABLE
                ).exists()
            ):
                assert time.monotonic() < deadline, "the broken engines were never marked"
                time.sleep(0.2)
            good.containers = [*good.containers, listed("c" * 64, "new-on-good")]
            good.inspect["c" * 64] = inspected("c" * 64, "new-on-good")
            good.emit("create", "c" * 64)  # the watcher still follows the good engine
            while not Container.objects.filter(name="new-on-good").exists():
                assert time.monotonic() < deadline, "the good engine's event was not followed"
                time.sleep(0.2)
            assert bad.requests["/events"] <= 10
        hangs.closing.set()
    assert "not a list" in Daemon.objects.get(engine_id=BAD).last_error
    hung = Daemon.objects.get(engine_id="FAULT:HANGS")
    assert hung.last_error, "a reason is kept"
    assert Daemon.objects.get(engine_id=GOOD).status == Status.UP
