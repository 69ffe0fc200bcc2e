"""One-shot stats: CPU between two samples, the working set, whether a limit is set; engine
nonsense is no sample; real containers on the host (API, many at once) and nested (one docker
stats by exec)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial

import pytest

from tests.conftest import _remove, run_workload, unique
from topology.engine.reading import ApiReader, open_reader
from topology.engine.stats import (
    PARALLEL,
    CpuCounters,
    StatsReader,
    cpu_percent,
    parse_percent,
    parse_size,
    sample_from_api,
    sample_from_cli,
)
from topology.engine.types import Route

HOST = Route("unix:///var/run/docker.sock")
GiB = 1024**3


def answer(total: int, system: int, usage: int = 100 * 2**20, limit: int = 8 * GiB) -> dict:
    return {
        "cpu_stats": {
            "cpu_usage": {"total_usage": total},
            "system_cpu_usage": system,
            "online_cpus": 2,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 0}},
        "memory_stats": {"usage": usage, "limit": limit, "stats": {"total_inactive_file": 2**20}},
    }


def test_cpu_is_the_share_of_one_core_between_two_samples() -> None:
    before = CpuCounters(1_000, 10_000, 2)
    assert cpu_percent(CpuCounters(1_500, 11_000, 2), before) == 100.0  # half of two cores
    assert cpu_percent(CpuCounters(900, 11_000, 2), before) is None  # counters went back
    assert cpu_percent(CpuCounters(1_500, 10_000, 2), before) is None


def test_a_first_sample_has_no_cpu_then_the_next_one_does() -> None:
    first = sample_from_api("a" * 64, answer(1_000, 10_000), None, mem_total=8 * GiB)
    assert first is not None and first.cpu_percent is None
    assert first.mem_bytes == 99 * 2**20 and first.limit_set is False
    second = sample_from_api("a" * 64, answer(1_250, 11_000, limit=GiB), first.counters, 8 * GiB)
    assert second is not None and second.cpu_percent == 50.0 and second.limit_set is True


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"memory_stats": {}, "cpu_stats": {}},  # a stopped container
        answer(-5, 10_000),
        {**answer(1, 2), "memory_stats": {"usage": "lots"}},
        "not even an object",
        {**answer(1, 2), "cpu_stats": {"cpu_usage": {"total_usage": 1}, "system_cpu_usage": True}},
    ],
)
def test_engine_nonsense_is_no_sample(data: object) -> None:
    assert sample_from_api("a" * 64, data, None, None) is None


def test_cli_sizes_and_percentages() -> None:
    assert parse_size("1.5MiB") == 1572864 and parse_size("2kB") == 2000 and parse_size("0B") == 0
    assert parse_size("lots") is None and parse_size("9e99GiB") is None
    assert parse_percent("12.5%") == 12.5 and parse_percent("-3%") is None
    at = datetime.now(UTC)
    record = {"Container": "b" * 64, "CPUPerc": "3.00%", "MemUsage": "10MiB / 7.7GiB"}
    sample = sample_from_cli(record, mem_total=int(7.72 * GiB), at=at)
    assert sample is not None and sample.mem_bytes == 10 * 2**20 and sample.limit_set is False
    limited = sample_from_cli({**record, "MemUsage": "10MiB / 64MiB"}, int(7.7 * GiB), at)
    assert limited is not None and limited.limit_set is True and limited.mem_limit == 64 * 2**20
    assert sample_from_cli({**record, "Container": "web; rm -rf /"}, None, at) is None


@pytest.mark.docker
def test_host_containers_one_shot_after_the_first(docker_client, offline_images, cleanup) -> None:
    spinner = docker_client.containers.run(
        "topology/workload:offline",
        ["sh", "-c", "while true; do :; done"],
        name=unique("spin"),
        labels={"topology.managed": "true"},
        detach=True,
        mem_limit="64m",
    )
    cleanup.add(_remove, spinner)
    reader = StatsReader(HOST)
    try:
        first = reader.sample_one(spinner.id, None)
        assert first is not None and first.limit_set and first.mem_limit == 64 * 2**20
        time.sleep(1)
        second = reader.sample_one(spinner.id, first.counters)
        assert second is not None and second.cpu_percent is not None and second.cpu_percent > 20
        spinner.stop(timeout=1)
        assert reader.sample_one(spinner.id, second.counters) is None
        assert reader.sample_one("0" * 64, None) is None
    finally:
        reader.close()


@pytest.mark.docker
def test_nested_containers_in_one_exec(world) -> None:
    reader = StatsReader(Route(f"exec://{world.dind.container.id}", via=HOST))
    try:
        assert reader.batched
        samples = reader.sample_batch([world.c3.id, world.c4.id, "0" * 64])
    finally:
        reader.close()
    assert set(samples) == {world.c3.id, world.c4.id}
    for sample in samples.values():
        assert sample.mem_bytes > 0 and sample.cpu_percent is not None
        assert sample.limit_set is False


@pytest.mark.docker
def test_many_host_containers_in_one_round(docker_client, offline_images, cleanup) -> None:
    """Calls made at once share the engine's collection tick: a round of many containers is
    sampled whole, those gone are left out, and a second round has CPU for each."""
    idle = [
        run_workload(docker_client, cleanup, unique(f"idle-{n}"), network_mode="none")
        for n in range(12)  # more than a client's default pool of connections
    ]
    ids = [c.id for c in idle] + ["0" * 64]
    reader = StatsReader(HOST, partial(open_reader, pool_size=PARALLEL))
    try:
        first = reader.sample_many(ids, {})
        assert {s.container_id for s in first} == {c.id for c in idle}
        second = reader.sample_many(ids, {s.container_id: s.counters for s in first})
    finally:
        reader.shutdown()
    assert {s.container_id for s in second} == {c.id for c in idle}
    assert all(s.cpu_percent is not None and s.mem_bytes > 0 for s in second)


def test_one_containers_bad_answer_is_no_sample_of_it_alone() -> None:
    """A fake engine (a real one cannot be made to answer so on demand): one container's
    answer is not JSON, another's is an API error (being removed); the third is sampled, and the
    round is no engine failure."""
    import docker.errors
    import requests

    class FakeApi:
        api_version = "1.41"

        def info(self) -> dict:
            return {"MemTotal": 8 * GiB}

        def stats(self, container_id: str, **options: object) -> dict:
            if container_id == "a" * 64:
                raise requests.exceptions.JSONDecodeError("Expecting value", "", 0)
            if container_id == "b" * 64:
                raise docker.errors.APIError("removal of container in progress")
            return answer(2 * 10**9, 4 * 10**9)

    class FakeClient:
        api = FakeApi()

        def close(self) -> None:
            pass

    reader = StatsReader(HOST, lambda route: ApiReader(route, FakeClient()))
    try:
        samples = reader.sample_many(["a" * 64, "b" * 64, "c" * 64], {})
    finally:
        reader.shutdown()
    assert [s.container_id for s in samples] == ["c" * 64]
