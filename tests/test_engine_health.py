"""Container health: the word in a listing, the record in an inspect (bounded, typed), and a
real container whose healthcheck fails, on the host and inside a DinD (read by exec)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.conftest import run_workload, unique
from topology.engine.health import (
    MAX_OUTPUT_CHARS,
    MAX_PROBES,
    health_from_state,
    health_from_status_text,
    parse_moment,
)
from topology.engine.reading import container_from_listing, open_reader
from topology.engine.types import Route

FAILING = {
    "test": ["CMD-SHELL", "echo probe says no; exit 1"],
    "interval": 300_000_000,
    "retries": 1,
}


@pytest.mark.parametrize(
    ("text", "health"),
    [
        ("Up 3 minutes (healthy)", "healthy"),
        ("Up 1 second (health: starting)", "starting"),
        ("Up 2 hours (unhealthy)", "unhealthy"),
        ("Up 2 hours", "none"),
        ("Exited (1) 3 seconds ago", "none"),
        ("Up (healthy) trailing words", "none"),
        (None, "none"),
    ],
)
def test_a_listing_names_the_health(text: str | None, health: str) -> None:
    assert health_from_status_text(text) == health


def test_the_inspect_record_is_typed_and_bounded() -> None:
    log = [
        {
            "Start": "2026-01-01T10:00:00.123456789Z",
            "End": "bad",
            "ExitCode": 1,
            "Output": "x" * 9000,
        }
        for _ in range(9)
    ]
    health = health_from_state({"Health": {"Status": "unhealthy", "FailingStreak": 7, "Log": log}})
    assert health.status == "unhealthy" and health.failing_streak == 7
    assert len(health.probes) == MAX_PROBES
    probe = health.probes[0]
    assert probe.start == datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=UTC) and probe.end is None
    assert len(probe.output) == MAX_OUTPUT_CHARS and probe.output.endswith("…")


@pytest.mark.parametrize(
    "record",
    [
        {"Health": {"Status": "on fire", "FailingStreak": "many", "Log": "nope"}},
        {"Health": "yes"},
        {},
        None,
        {"Health": {"Status": "healthy", "FailingStreak": -4, "Log": [None, 3, {"ExitCode": "1"}]}},
    ],
)
def test_engine_nonsense_reads_as_no_health(record: object) -> None:
    health = health_from_state(record)
    assert health.status in {"none", "healthy"}
    assert health.failing_streak == 0
    assert all(probe.exit_code == -1 for probe in health.probes)


def test_times_with_offsets_read_as_utc() -> None:
    assert parse_moment("2026-01-01T12:00:00+02:00") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert parse_moment("0001-01-01T00:00:00Z") is None
    assert parse_moment("yesterday") is None


def test_a_listing_carries_health_without_detail() -> None:
    item = {"Id": "a" * 64, "Names": ["/web"], "State": "running", "Status": "Up 1 s (unhealthy)"}
    info = container_from_listing(item)
    assert info.health == "unhealthy" and info.health_detail is None


def _wait_unhealthy(reader, container_id: str, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = reader.inspect(container_id)
        if info is not None and info.health == "unhealthy":
            return info
        time.sleep(0.3)
    raise AssertionError(f"{container_id[:12]} never turned unhealthy")


@pytest.mark.docker
def test_a_failing_healthcheck_on_the_host(docker_client, offline_images, cleanup) -> None:
    container = run_workload(docker_client, cleanup, unique("unhealthy"), healthcheck=FAILING)
    reader = open_reader(Route("unix:///var/run/docker.sock"))
    try:
        info = _wait_unhealthy(reader, container.id)
        listed = {c.id: c for c in reader.list_containers()}[container.id]
    finally:
        reader.close()
    assert info.health_detail is not None and info.health_detail.failing_streak >= 1
    assert any(probe.output == "probe says no" for probe in info.health_detail.probes)
    assert all(probe.exit_code == 1 for probe in info.health_detail.probes)
    assert listed.health == "unhealthy"


@pytest.mark.docker
def test_a_failing_healthcheck_in_a_nested_daemon(world, cleanup) -> None:
    container = run_workload(
        world.dind.client, cleanup, unique("nested-unhealthy"), healthcheck=FAILING
    )
    via_exec = open_reader(
        Route(f"exec://{world.dind.container.id}", via=Route("unix:///var/run/docker.sock"))
    )
    try:
        info = _wait_unhealthy(via_exec, container.id)
        listed = {c.id: c for c in via_exec.list_containers()}[container.id]
    finally:
        via_exec.close()
    assert info.health_detail is not None
    assert "probe says no" in {probe.output for probe in info.health_detail.probes}
    assert listed.health == "unhealthy" and listed.health_detail is not None
