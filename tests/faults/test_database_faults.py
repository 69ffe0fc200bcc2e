"""The database goes away and comes back: this worktree's own private PostgreSQL cluster (the one
``make postgres`` made under ``TOPOLOGY_VAR_DIR``, never another's) is stopped for 10 s while
Docker events keep coming, then started again. The events watcher (in a thread, as ``make run``'s
``events`` process runs it) waits with backoff, says so once, and reads everything when it is
back: nothing lost, nothing twice, no restart."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.conftest import Cleanup, run_workload, unique
from topology.inventory.models import Container
from topology.inventory.watching import Watcher

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 10
CLUSTER = Path(django_settings.VAR_DIR) / "postgres"


def pg_ctl(*args: str) -> None:
    folders = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    binary = str(folders[0]) if folders else "pg_ctl"
    subprocess.run(
        ["runuser", "-u", "postgres", "--", binary, "-D", str(CLUSTER / "data"), *args],
        cwd="/",
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=120,
    )


def our_own_cluster() -> bool:
    """The tests run on this worktree's private cluster (its port), not on any other database."""
    port_file = CLUSTER / "port"
    return (
        connection.vendor == "postgresql"
        and port_file.exists()
        and str(connection.settings_dict.get("PORT")) == port_file.read_text().strip()
    )


def eventually(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def state_of(hex_id: str) -> list[str]:
    return list(Container.objects.filter(container_id=hex_id).values_list("state", flat=True))


def test_the_database_restarted_with_events_flowing(
    docker_client, cleanup: Cleanup, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    if not our_own_cluster():
        pytest.skip("needs this worktree's private PostgreSQL cluster (make postgres)")
    settings.TOPOLOGY_POLL_SECONDS = 1
    port = (CLUSTER / "port").read_text().strip()
    caplog.set_level(logging.WARNING, logger="topology.inventory.watching")
    watcher = Watcher()
    with watcher.running_in_thread():
        before = run_workload(docker_client, cleanup, unique("before-db-outage"))
        eventually(lambda: state_of(before.id) == ["running"], "the first container arrived")
        connection.close()
        pg_ctl("-m", "fast", "-w", "stop")
        try:
            during = run_workload(docker_client, cleanup, unique("during-db-outage"))
            before.stop(timeout=1)
            time.sleep(OUTAGE_SECONDS)
        finally:
            log = str(CLUSTER.parent / "run" / "postgres.log")
            pg_ctl("-l", log, "-o", f"-p {port}", "-w", "-t", "60", "start")
        eventually(
            lambda: state_of(during.id) == ["running"] and state_of(before.id) == ["exited"],
            "what happened during the outage reached the database when it was back",
        )
        after = run_workload(docker_client, cleanup, unique("after-db-outage"))
        eventually(lambda: state_of(after.id) == ["running"], "events after the outage arrived")
    for container in (before, during, after):  # nothing lost, nothing twice
        assert len(state_of(container.id)) == 1
    said = [r.getMessage() for r in caplog.records if "database" in r.getMessage().lower()]
    assert any("not answering" in line for line in said), said
    assert any("answers again" in line for line in said), said
