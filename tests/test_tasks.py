"""Celery: the beat schedule, the poll queue, and a real worker polling the real engine."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import database_url_of_the_test_database
from topology.celery import app
from topology.inventory import polling, tasks
from topology.inventory.models import Daemon

ROOT = Path(__file__).resolve().parent.parent


def test_beat_polls_every_daemon_on_the_poll_interval_in_poll_mode_only(settings) -> None:
    """In events mode (the default) the watcher reads the daemons; beat polls them in poll mode."""
    from topology.celery import schedule_periodic_tasks

    app.finalize()
    assert settings.TOPOLOGY_INVENTORY_MODE == "events"
    assert "poll every daemon" not in app.conf.beat_schedule
    settings.TOPOLOGY_INVENTORY_MODE = "poll"
    try:
        schedule_periodic_tasks(app)
        entry = app.conf.beat_schedule["poll every daemon"]
        assert entry["task"] == "topology.inventory.tasks.poll_all_daemons"
        assert entry["schedule"] == settings.TOPOLOGY_POLL_SECONDS
    finally:
        app.conf.beat_schedule.pop("poll every daemon", None)


def test_polls_run_on_their_own_queue_with_time_limits() -> None:
    router = app.amqp.router
    for task in (tasks.poll_daemon, tasks.poll_all_daemons):
        assert router.route({}, task.name)["queue"].name == "poll"
    assert tasks.poll_daemon.soft_time_limit < tasks.poll_daemon.time_limit
    from topology.inventory.locks import POLL_LOCK_SECONDS

    assert tasks.poll_daemon.time_limit < POLL_LOCK_SECONDS


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_poll_daemon_task_body(offline_images) -> None:
    target = polling.root_targets()[0]
    summary = tasks.poll_daemon.apply(args=(target.to_dict(),)).get()
    assert summary["engine_id"] and summary["error"] is None
    assert Daemon.objects.filter(engine_id=summary["engine_id"]).exists()


def test_the_worker_subprocess_gets_the_test_database() -> None:
    import dj_database_url

    for settings_dict in (
        dj_database_url.parse("postgres://topo:p%40ss%2Fword@127.0.0.1:54329/test_topology"),
        dj_database_url.parse("postgres://topo@%2Fvar%2Frun%2Fpostgresql/test_topology"),
        dj_database_url.parse("sqlite:////tmp/var/test-db.sqlite3"),
    ):
        url = database_url_of_the_test_database(settings_dict)
        again = dj_database_url.parse(url)
        for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT"):
            assert again.get(key) == settings_dict.get(key), (url, key)


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_polls_what_beat_asks_for(offline_images, tmp_path) -> None:
    queue = f"poll-test-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(connection.settings_dict),
        "DEBUG": "1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "topology",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        target = polling.root_targets()[0]
        tasks.poll_daemon.apply_async((target.to_dict(),), queue=queue, expires=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Daemon.objects.exists():
            time.sleep(0.2)
        assert Daemon.objects.exists(), (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def start_worker(queue: str, hostname: str, log: Path) -> subprocess.Popen:
    """A real Celery worker (solo pool) on ``queue``, using the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(connection.settings_dict),
        "DEBUG": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "topology", "worker", "--pool=solo"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    command += ["--prefetch-multiplier=1", "-n", hostname, "-Q", queue, "--loglevel=WARNING"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_poll_queue_and_each_daemon_is_read_once(settings, tmp_path) -> None:
    """Poll mode with more read capacity: two real workers (two machines would be the same) on
    one queue, 8 FAKE engines of 3 containers each polled in three rounds. Both workers take
    polls; every daemon and container is in the database once (the poll lock keeps two polls of
    one daemon apart)."""
    from tests.fake_engine import FakeEngine, inspected, listed
    from topology.inventory.models import Container, Endpoint

    queue = f"poll-two-{os.getpid()}"
    names = [f"two-{os.getpid()}-{n}@topology-test" for n in (1, 2)]
    workers = [start_worker(queue, name, tmp_path / f"{n}.log") for n, name in enumerate(names)]
    fakes = []
    try:
        for n in range(8):
            ids = {f"{n:02x}{m:02x}".ljust(64, "a"): f"two-{n}-{m}" for m in range(3)}
            fake = FakeEngine(
                tmp_path / f"e{n}.sock",
                engine_id=f"FAKE:TWO{n}",
                name=f"two-{n}",
                containers=[listed(i, name) for i, name in ids.items()],
                inspect={i: inspected(i, name) for i, name in ids.items()},
            )
            fakes.append(fake.__enter__())
            Endpoint.objects.create(name=fake.name, url=fake.url, engine_id=fake.engine_id)
        ping = app.control.inspect(destination=names, timeout=1)
        deadline = time.monotonic() + 60
        while len(ping.ping() or {}) < 2:
            assert time.monotonic() < deadline, "the two workers did not come up"
        targets = [t for t in polling.root_targets() if t.endpoint_pk is not None]
        for _round in range(3):
            for target in targets:
                tasks.poll_daemon.apply_async((target.to_dict(),), queue=queue, expires=60)
            time.sleep(0.5)
        fake_ids = [f.engine_id for f in fakes]
        deadline = time.monotonic() + 60
        while Container.objects.filter(daemon__engine_id__in=fake_ids).count() < 24:
            assert time.monotonic() < deadline, list(Daemon.objects.values("engine_id", "status"))
            time.sleep(0.2)
        deadline = time.monotonic() + 30
        while True:
            stats = ping.stats() or {}
            done = {
                name: stats.get(name, {}).get("total", {}).get(tasks.poll_daemon.name, 0)
                for name in names
            }
            if sum(done.values()) >= 24 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sum(done.values()) == 24, done
        assert all(count > 0 for count in done.values()), done
        assert Daemon.objects.filter(engine_id__in=fake_ids).count() == 8
        assert Container.objects.filter(daemon__engine_id__in=fake_ids).count() == 24
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        for fake in fakes:
            fake.__exit__(None, None, None)


@pytest.mark.django_db(transaction=True)
def test_beat_queues_a_daemon_again_only_once_its_poll_has_run(
    settings, tmp_path, monkeypatch
) -> None:
    """Poll mode under overload: no worker runs, beat fires three times; each daemon has one
    poll waiting, not three that expire unrun. Once a daemon's poll has run it is queued again,
    and the one read longest ago comes first."""
    from tests.fake_engine import FakeEngine
    from topology.inventory import locks
    from topology.inventory.models import Endpoint

    settings.DOCKER_HOST = f"unix://{tmp_path}/no-local-engine.sock"
    sent: list[str] = []
    monkeypatch.setattr(
        tasks.poll_daemon, "apply_async", lambda args, **_: sent.append(args[0]["route"]["url"])
    )
    with contextlib.ExitStack() as stack:
        fakes = [
            stack.enter_context(FakeEngine(tmp_path / f"q{n}.sock", engine_id=f"FAKE:Q{n}"))
            for n in range(3)
        ]
        for n, fake in enumerate(fakes):
            Endpoint.objects.create(name=f"q{n}", url=fake.url, engine_id=fake.engine_id)
        targets = polling.root_targets()  # the (absent) local engine, then the three fakes
        for target in reversed(targets):  # each one read a moment after the one after it
            locks.clear_queued(target.route.key)
            time.sleep(0.01)
        for _beat in range(3):
            tasks.poll_all_daemons()
        assert sent == [t.route.url for t in reversed(targets)]  # once each, the oldest first
        tasks.poll_daemon.run(targets[1].to_dict())  # one poll has run
        sent.clear()
        tasks.poll_all_daemons()
        assert sent == [targets[1].route.url]
