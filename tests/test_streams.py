"""The asyncio reader (``engine/streams.py``): the real engine read as the blocking reader reads
it, TLS with client certificates (a FAKE engine on loopback), answers of the wrong shape, and a
refused event stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import run_workload, unique
from tests.fake_engine import FakeEngine
from tests.tls_material import make_authority
from topology.engine.errors import EngineError
from topology.engine.reading import open_reader
from topology.engine.streams import AsyncEngine, StreamUnusable, supports
from topology.engine.types import Route


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


@pytest.mark.docker
def test_the_real_engine_reads_as_the_blocking_reader_reads_it(
    docker_client: Any, offline_images: list[str], cleanup: Any
) -> None:
    run_workload(docker_client, cleanup, unique("async-read"))
    route = Route(url=settings.DOCKER_HOST)
    blocking = open_reader(route)
    try:
        info, listed = blocking.info(), blocking.list_containers()
    finally:
        blocking.close()

    async def read():  # type: ignore[no-untyped-def]
        engine = AsyncEngine(route)
        try:
            return await engine.info(), await engine.list_containers()
        finally:
            await engine.close()

    async_info, async_listed = run(read())
    assert async_info == info  # the same identity rules: ID, engine kind, where it came from
    # Both listings were taken a moment apart on a shared engine: compare what both saw.
    both = {c.id for c in listed} & {c.id for c in async_listed}
    assert both
    by_id = {c.id: c for c in async_listed}
    for container in listed:
        if container.id in both:
            assert by_id[container.id].name == container.name
            assert by_id[container.id].image == container.image


def test_tls_with_client_certificates(tmp_path) -> None:
    authority = make_authority()
    with FakeEngine(tmp_path / "unused", engine_id="FAKE:TLS", tls=authority) as fake:
        route = Route(
            url=fake.url,
            tls_ca_cert=authority.ca.cert,
            tls_client_cert=authority.client.cert,
            tls_client_key=authority.client.key,
        )

        async def read():  # type: ignore[no-untyped-def]
            engine = AsyncEngine(route, tls_dir=tmp_path / "tls")
            try:
                return await engine.info()
            finally:
                await engine.close()

        assert run(read()).engine_id == "FAKE:TLS"
        stranger = make_authority("someone-else")
        wrong = Route(
            url=fake.url,
            tls_ca_cert=authority.ca.cert,
            tls_client_cert=stranger.client.cert,
            tls_client_key=stranger.client.key,
        )
        with pytest.raises(EngineError):
            run(AsyncEngine(wrong, tls_dir=tmp_path / "tls").info())


def test_answers_of_the_wrong_shape_are_engine_errors(tmp_path) -> None:
    with (
        FakeEngine(tmp_path / "f.sock", containers={"not": "a list"}) as fake,
        pytest.raises(EngineError),
    ):
        run(AsyncEngine(Route(fake.url)).list_containers())


def test_a_refused_stream_is_unusable_and_ssh_is_not_spoken(tmp_path) -> None:
    with FakeEngine(tmp_path / "f.sock", events="refuse") as fake:

        async def follow() -> None:
            async for _ in AsyncEngine(Route(fake.url)).events():
                pass

        with pytest.raises(StreamUnusable):
            run(follow())
    assert not supports(Route(url="ssh://someone@example.invalid"))
    assert not supports(Route(url="exec://abc", via=Route(url="unix:///x.sock")))
