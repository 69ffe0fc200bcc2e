"""The websocket consumer, through the whole ASGI application, on the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.conftest import container_info
from tests.graph_schema import validate_graph
from topology.asgi import application
from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Route
from topology.inventory import broadcast, consumers, queries, services
from topology.inventory.models import Host
from topology.inventory.services import Place
from topology.teams.models import Membership, Team

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]

PATH = "/ws/topology/"
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
ENGINE = "TEST:ENGINE:0001"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario; sync code it awaits (the ORM) runs in this test's thread."""
    async_to_sync(scenario)()


def session_headers(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), HOST]


def container(hex_digit: str, name: str, state: str = "running") -> ContainerInfo:
    return container_info(hex_digit, name, state=state, created=timezone.now())


def engine_says(
    *containers: ContainerInfo, host: str = "test-host", engine: str = ENGINE, publish: bool = False
) -> services.ChangeSet:
    """Reconcile what a (pretend) root engine reports: the real path to a graph change. The
    change is published only when asked (``change_and_publish``), as a poll would."""
    snapshot = DaemonSnapshot(
        Route(url=f"unix:///nonexistent/{host}.sock"),
        EngineInfo(engine, host, "27.0.0", "1.47", "Debian GNU/Linux 12"),
        tuple(containers),
    )
    return services.reconcile(snapshot, Place(host_name=host), publish=publish)


async def change_and_publish(*containers: ContainerInfo, **where: str) -> services.ChangeSet:
    """Reconcile, and publish the change once it is committed (as every poll does)."""
    return await sync_to_async(engine_says)(*containers, **where, publish=True)


async def connected(headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, dict]:
    """Connect and read the snapshot every accepted client gets first."""
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    accepted, _ = await communicator.connect(timeout=5)
    assert accepted
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    return communicator, snapshot


async def publish_raw(since: int, version: int, node_label: str = "x") -> None:
    """A delta straight onto the group, as ``broadcast.publish`` sends it (made up: for a site
    admin, who sees every host)."""
    message = {
        "type": "delta",
        "version": version,
        "since": since,
        "upsert": {
            "nodes": [
                {
                    "id": "host:raw",
                    "kind": "host",
                    "parent": None,
                    "label": node_label,
                    "status": "up",
                }
            ],
            "edges": [],
        },
        "remove": {"nodes": [], "edges": []},
    }
    await get_channel_layer().group_send(
        broadcast.GROUP, {"type": "graph.delta", "message": message}
    )


def test_unauthenticated_connection_is_closed_with_4401(db) -> None:
    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, PATH, headers=[ORIGIN, HOST])
        accepted, _ = await communicator.connect(timeout=5)
        assert accepted  # accepted first, so that the client sees the code, not a bare 403
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}
        await communicator.wait()

    run(scenario)


def test_a_wrong_token_is_closed_with_4401(user) -> None:
    async def scenario() -> None:
        headers = [ORIGIN, HOST, (b"authorization", b"Token not-a-real-key")]
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_output(timeout=5))["code"] == 4401

    run(scenario)


def test_a_foreign_origin_is_refused(user) -> None:
    headers = session_headers(user)
    headers[0] = (b"origin", b"http://evil.example")

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
        accepted, _ = await communicator.connect(timeout=5)
        assert not accepted

    run(scenario)


@pytest.mark.parametrize(
    ("origin", "host", "trusted", "accepted"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", [], True),
        ("http://127.0.0.1:18899", "127.0.0.1:8000", [], False),  # another port, same machine
        ("https://127.0.0.1:8000", "127.0.0.1:8000", [], False),  # another scheme
        ("http://localhost:8000", "127.0.0.1:8000", [], False),  # another (allowed) host name
        ("http://127.0.0.1", "127.0.0.1:8000", [], False),
        ("http://127.0.0.1:8000", "evil.example:8000", [], False),  # a Host not allowed
        ("null", "127.0.0.1:8000", [], False),
        ("http://127.0.0.1:8000/page", "127.0.0.1:8000", [], False),
        ("https://map.example.com", "127.0.0.1:8000", ["https://map.example.com"], True),
        ("https://map.example.com:8443", "127.0.0.1:8000", ["https://map.example.com"], False),
        ("https://a.example.com", "127.0.0.1:8000", ["https://*.example.com"], True),
        ("http://a.example.com", "127.0.0.1:8000", ["https://*.example.com"], False),
    ],
)
def test_only_the_sites_own_origin_opens_a_websocket_with_a_cookie(
    user, settings, origin, host, trusted, accepted
) -> None:
    """Cross-site websocket hijacking: the session cookie goes with any page's websocket to
    this machine, whatever its port; the origin decides, scheme, host and port compared whole
    against the site's own (its Host) and CSRF_TRUSTED_ORIGINS."""
    settings.CSRF_TRUSTED_ORIGINS = trusted
    cookie = session_headers(user)[1]
    headers = [(b"origin", origin.encode()), (b"host", host.encode()), cookie]

    async def scenario() -> tuple[bool, str | None]:
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        if not connected:
            return False, None
        first = (await communicator.receive_json_from(timeout=5))["type"]
        await communicator.disconnect()
        return True, first

    connected, first = async_to_sync(scenario)()
    assert connected is accepted and first in ({"snapshot"} if accepted else {None})


def test_a_script_with_a_token_needs_no_origin_but_a_cookie_does(user) -> None:
    key = Token.objects.create(user=user).key
    cookie_only = session_headers(user)[1:]

    async def scenario() -> None:
        token = [(b"authorization", f"Token {key}".encode())]
        communicator, snapshot = await connected(token)
        validate_graph(snapshot["graph"])
        await communicator.disconnect()
        communicator = WebsocketCommunicator(application, PATH, headers=cookie_only)
        assert not (await communicator.connect(timeout=5))[0]
        await communicator.wait(timeout=5)
        wrong = [(b"authorization", b"Token not-a-real-key")]
        communicator = WebsocketCommunicator(application, PATH, headers=wrong)
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_output(timeout=5))["code"] == 4401
        await communicator.wait(timeout=5)

    run(scenario)


def test_session_user_gets_the_current_graph(user) -> None:
    engine_says(container("a", "c1"), container("b", "c2"))
    expected = queries.current_graph()
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        assert snapshot["version"] == expected["version"] == snapshot["graph"]["version"]
        validate_graph(snapshot["graph"])
        assert {n["id"] for n in snapshot["graph"]["nodes"]} == {n["id"] for n in expected["nodes"]}
        await communicator.disconnect()

    run(scenario)


def test_token_user_gets_a_snapshot(user) -> None:
    key = Token.objects.create(user=user).key

    async def scenario() -> None:
        headers = [ORIGIN, HOST, (b"authorization", f"Token {key}".encode())]
        communicator, snapshot = await connected(headers)
        validate_graph(snapshot["graph"])
        await communicator.disconnect()

    run(scenario)


def test_snapshot_then_the_delta_of_a_real_change(user) -> None:
    engine_says(container("a", "c1"))
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        changes = await change_and_publish(container("a", "c1", "exited"), container("b", "c2"))
        delta = await communicator.receive_json_from(timeout=5)
        assert delta["type"] == "delta"
        assert delta["since"] == snapshot["version"] and delta["version"] == changes.version
        upserted = {node["id"]: node for node in delta["upsert"]["nodes"]}
        assert upserted[f"container:{'a' * 64}"]["state"] == "exited"
        assert upserted[f"container:{'b' * 64}"]["name"] == "c2"

        changes = await change_and_publish(container("b", "c2"))
        delta = await communicator.receive_json_from(timeout=5)
        assert delta["since"] == changes.since and delta["remove"]["nodes"] == [
            f"container:{'a' * 64}"
        ]
        await communicator.disconnect()

    run(scenario)


def test_malformed_json_gets_an_error_and_the_connection_stays_open(user) -> None:
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, _ = await connected(headers)
        await communicator.send_to(text_data="{not json")
        error = await communicator.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "bad_json" and error["message"]
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    run(scenario)


def test_unknown_types_and_shapes_get_errors(user) -> None:
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, _ = await connected(headers)
        for frame, code in [
            ({"type": "subscribe"}, "unknown_type"),
            ({"no": "type"}, "bad_message"),
            (["resync"], "bad_message"),
            ({"type": 7}, "bad_message"),
        ]:
            await communicator.send_json_to(frame)
            error = await communicator.receive_json_from(timeout=5)
            assert (error["type"], error["code"]) == ("error", code), frame
        await communicator.send_to(bytes_data=b'{"type": "ping"}')
        assert (await communicator.receive_json_from(timeout=5))["code"] == "bad_message"
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    run(scenario)


def test_a_frame_over_64_kib_gets_an_error(user) -> None:
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, _ = await connected(headers)
        padding = "x" * (64 * 1024)
        await communicator.send_to(text_data=json.dumps({"type": "ping", "padding": padding}))
        error = await communicator.receive_json_from(timeout=5)
        assert (error["type"], error["code"]) == ("error", "too_large")
        # Multi-byte characters count as bytes, not characters.
        await communicator.send_to(text_data=json.dumps({"type": "ping", "p": "é" * 33000}))
        assert (await communicator.receive_json_from(timeout=5))["code"] == "too_large"
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    run(scenario)


def test_resync_sends_a_fresh_snapshot(user) -> None:
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, first = await connected(headers)
        changes = await sync_to_async(engine_says)(container("c", "late"))  # not published
        await communicator.send_json_to({"type": "resync"})
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["version"] == changes.version
        assert snapshot["version"] > first["version"]
        assert f"container:{'c' * 64}" in {n["id"] for n in snapshot["graph"]["nodes"]}
        # A second request right after is answered too (a little later), never dropped.
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(timeout=5)
        assert again["type"] == "snapshot"
        await communicator.disconnect()

    run(scenario)


def test_deltas_already_in_the_snapshot_are_not_forwarded(admin_user) -> None:
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        version = snapshot["version"]
        await publish_raw(version - 1, version, "old")
        await publish_raw(version, version + 1, "new")
        delta = await communicator.receive_json_from(timeout=5)
        assert (delta["since"], delta["upsert"]["nodes"][0]["label"]) == (version, "new")
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    run(scenario)


def test_a_delta_ahead_of_its_predecessor_waits_for_it(admin_user) -> None:
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        version = snapshot["version"]
        await publish_raw(version + 1, version + 2, "second")
        await publish_raw(version, version + 1, "first")
        first = await communicator.receive_json_from(timeout=5)
        second = await communicator.receive_json_from(timeout=5)
        assert (first["since"], first["version"]) == (version, version + 1)
        assert (second["since"], second["version"]) == (version + 1, version + 2)
        assert await communicator.receive_nothing(timeout=consumers.REORDER_GRACE_SECONDS + 0.3)
        await communicator.disconnect()

    run(scenario)


def test_a_hole_in_the_versions_gets_a_fresh_snapshot(admin_user, monkeypatch) -> None:
    monkeypatch.setattr(consumers, "REORDER_GRACE_SECONDS", 0.2)

    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        version = snapshot["version"]
        await publish_raw(version + 3, version + 4)  # versions +1..+3 never come
        fresh = await communicator.receive_json_from(timeout=5)
        assert fresh["type"] == "snapshot"
        assert fresh["version"] == (await sync_to_async(queries.current_graph)())["version"]
        await communicator.disconnect()

    run(scenario)


def test_a_client_far_behind_gets_a_snapshot_not_a_queue(admin_user, monkeypatch) -> None:
    monkeypatch.setattr(consumers, "REORDER_GRACE_SECONDS", 30)

    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        version = snapshot["version"]
        for step in range(consumers.MAX_PENDING_DELTAS + 1):
            await publish_raw(version + 10 + step, version + 11 + step)
        fresh = await asyncio.wait_for(communicator.receive_json_from(timeout=5), 10)
        assert fresh["type"] == "snapshot"  # at once, long before the grace period ends
        await communicator.disconnect()

    run(scenario)


def test_an_idle_client_stays_connected(admin_user) -> None:
    """Longer than Redis client read timeouts: the channel layer's blocking reads must not fail."""
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        quiet_until = asyncio.get_running_loop().time() + 12
        while (left := quiet_until - asyncio.get_running_loop().time()) > 0:
            if not await communicator.receive_nothing(timeout=left, interval=0.5):
                beat = await communicator.receive_json_from(timeout=5)  # only heartbeats come
                assert beat == {"type": "heartbeat", "version": snapshot["version"]}
        version = snapshot["version"]
        await publish_raw(version, version + 1, "after a quiet spell")
        delta = await communicator.receive_json_from(timeout=5)
        assert delta["type"] == "delta" and delta["since"] == version
        await communicator.disconnect()

    run(scenario)


def test_a_team_member_sees_only_what_the_team_may(db) -> None:
    member = get_user_model().objects.create_user("ann", password="a-long-test-password-3")
    alpha, beta = Team.objects.create(slug="alpha"), Team.objects.create(slug="beta")
    Membership.objects.create(team=alpha, user=member, role="viewer")
    engine_says(container("1", "mine"), host="alpha-host", engine="ALPHA:1")
    engine_says(container("2", "theirs"), host="beta-host", engine="BETA:1")
    Host.objects.filter(slug="alpha-host").update(team=alpha)
    Host.objects.filter(slug="beta-host").update(team=beta)
    headers = session_headers(member)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        ids = {node["id"] for node in snapshot["graph"]["nodes"]}
        assert f"container:{'1' * 64}" in ids and f"container:{'2' * 64}" not in ids
        assert not any("beta" in node_id.lower() for node_id in ids)

        theirs = await change_and_publish(
            container("2", "theirs"), container("3", "new"), host="beta-host", engine="BETA:1"
        )
        delta = await communicator.receive_json_from(timeout=5)
        assert delta["version"] == theirs.version  # the version moves on, with nothing in it
        assert delta["upsert"] == {"nodes": [], "edges": []}

        await change_and_publish(
            container("1", "mine"), container("4", "new"), host="alpha-host", engine="ALPHA:1"
        )
        delta = await communicator.receive_json_from(timeout=5)
        assert f"container:{'4' * 64}" in {node["id"] for node in delta["upsert"]["nodes"]}
        await communicator.disconnect()

    run(scenario)


def test_a_snapshot_too_large_to_send_is_an_error_the_page_can_show(user, settings) -> None:
    engine_says(*(container(f"{digit:x}", f"c{digit}") for digit in range(1, 16)))
    settings.TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES = 2_000
    headers = session_headers(user)

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        error = await communicator.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "snapshot_too_large"
        assert "TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES" in error["message"]
        await communicator.send_json_to({"type": "ping"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
        await communicator.disconnect()

    run(scenario)


def test_a_client_may_ask_for_snapshots_deflated_and_gets_the_same_message(user) -> None:
    """``?encoding=deflate``: each snapshot a binary frame of raw DEFLATE of the very message a
    plain client gets as text; deltas and everything else stay text; an unknown encoding is an
    error, and text it is."""
    import zlib

    engine_says(*(container(f"{digit:x}", f"c{digit}") for digit in range(1, 9)))
    headers = session_headers(user)

    async def scenario() -> None:
        plain, text_snapshot = await connected(headers)
        await plain.disconnect()

        packed = WebsocketCommunicator(application, f"{PATH}?encoding=deflate", headers=headers)
        assert (await packed.connect(timeout=5))[0]
        frame = await packed.receive_output(timeout=5)
        assert frame.get("bytes") and not frame.get("text"), frame
        snapshot = json.loads(zlib.decompress(frame["bytes"], -15))
        assert snapshot == text_snapshot
        validate_graph(snapshot["graph"])
        assert len(frame["bytes"]) < len(json.dumps(text_snapshot)) / 3
        await packed.send_json_to({"type": "resync"})
        again = await packed.receive_output(timeout=5)
        assert json.loads(zlib.decompress(again["bytes"], -15))["type"] == "snapshot"
        await change_and_publish(container("1", "c1"))
        delta = await packed.receive_json_from(timeout=5)  # text
        assert delta["type"] == "delta"
        await packed.disconnect()

        odd = WebsocketCommunicator(application, f"{PATH}?encoding=brotli", headers=headers)
        assert (await odd.connect(timeout=5))[0]
        assert (await odd.receive_json_from(timeout=5))["type"] == "snapshot"
        error = await odd.receive_json_from(timeout=5)
        assert error["code"] == "bad_encoding" and "brotli" in error["message"]
        await odd.disconnect()

    run(scenario)


def networked(hex_digit: str, name: str) -> ContainerInfo:
    """A container on the pretend engine's ``front`` network (see ``engine_with_networks``)."""
    from topology.engine.types import Attachment

    return container_info(
        hex_digit,
        name,
        created=timezone.now(),
        attachments=(Attachment("f" * 64, "front", ipv4=f"10.1.0.{ord(hex_digit) % 250}"),),
    )


def engine_with_networks(*containers: ContainerInfo) -> services.ChangeSet:
    from topology.engine.types import NetworkInfo

    snapshot = DaemonSnapshot(
        Route(url="unix:///nonexistent/test-host.sock"),
        EngineInfo(ENGINE, "test-host", "27.0.0", "1.47", "Debian GNU/Linux 12"),
        tuple(containers),
        (NetworkInfo("f" * 64, "front", "bridge", "local", subnets=("10.1.0.0/24",)),),
        (),
    )
    return services.reconcile(snapshot, Place(host_name="test-host"))


def test_layers_cut_the_first_snapshot_a_layers_message_and_every_delta(user) -> None:
    engine_with_networks(networked("a", "web"))
    headers = session_headers(user)
    network = f"network:{ENGINE}/{'f' * 64}"

    def kinds(graph: dict[str, Any]) -> set[str]:
        return {node["kind"] for node in graph["nodes"]} | {e["kind"] for e in graph["edges"]}

    async def scenario() -> None:
        everything, snapshot = await connected(headers)
        assert snapshot["graph"]["contract"] == 2 and {"network"} <= kinds(snapshot["graph"])
        await everything.disconnect()

        communicator = WebsocketCommunicator(
            application, f"{PATH}?layers=containment", headers=headers
        )
        assert (await communicator.connect(timeout=5))[0]
        first = await communicator.receive_json_from(timeout=5)
        assert "network" not in kinds(first["graph"])
        validate_graph(first["graph"])

        for state in [(networked("a", "web"), networked("b", "api")), (networked("a", "web"),)]:
            changes = await sync_to_async(engine_with_networks)(*state)
            assert await sync_to_async(broadcast.publish)(changes)
            delta = await communicator.receive_json_from(timeout=5)
            assert delta["type"] == "delta" and delta["version"] == changes.version
            ids = [e["id"] for e in delta["upsert"]["edges"]] + delta["remove"]["edges"]
            assert not [edge_id for edge_id in ids if edge_id.startswith("network:")]

        await communicator.send_json_to({"type": "layers", "layers": ["networks"]})
        fresh = await communicator.receive_json_from(timeout=5)
        assert fresh["type"] == "snapshot" and network in {n["id"] for n in fresh["graph"]["nodes"]}
        changes = await sync_to_async(engine_with_networks)(
            networked("a", "web"), networked("c", "cache")
        )
        assert await sync_to_async(broadcast.publish)(changes)
        delta = await communicator.receive_json_from(timeout=5)
        assert f"network:{'c' * 64}->{network}" in {e["id"] for e in delta["upsert"]["edges"]}

        for frame in (
            {"type": "layers", "layers": ["routers"]},
            {"type": "layers", "layers": "networks"},
            {"type": "layers"},
        ):
            await communicator.send_json_to(frame)
            error = await communicator.receive_json_from(timeout=5)
            assert (error["type"], error["code"]) == ("error", "bad_layers"), frame
        await communicator.disconnect()

        odd = WebsocketCommunicator(application, f"{PATH}?layers=cables", headers=headers)
        assert (await odd.connect(timeout=5))[0]
        whole = await odd.receive_json_from(timeout=5)
        assert whole["type"] == "snapshot" and "network" in kinds(whole["graph"])
        error = await odd.receive_json_from(timeout=5)
        assert error["code"] == "bad_layers" and "cables" in error["message"]
        await odd.disconnect()


def test_created_edges_of_a_dood_demo_reach_the_websocket(user) -> None:
    from topology.demos.models import Demo

    demo = Demo.objects.create(kind="dood", owner=user, expires=timezone.now())
    labels = {"topology.managed": "true", "topology.demo": str(demo.pk)}
    dood = container_info("d", "dood", labels={**labels, "topology.role": "dood"})
    sibling = {**labels, "topology.role": "workload", "topology.created-by": "d" * 12}
    engine_says(dood)
    headers = session_headers(user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        assert [e for e in snapshot["graph"]["edges"] if e["kind"] == "created"] == []
        await change_and_publish(dood, container_info("e", "sibling", labels=sibling))
        delta = await communicator.receive_json_from(timeout=5)
        edge = {
            "id": f"created:{'d' * 64}->{'e' * 64}",
            "kind": "created",
            "source": f"container:{'d' * 64}",
            "target": f"container:{'e' * 64}",
        }
        assert delta["upsert"]["edges"] == [edge]
        await communicator.send_json_to({"type": "resync"})
        fresh = await communicator.receive_json_from(timeout=5)
        validate_graph(fresh["graph"])
        assert edge in fresh["graph"]["edges"]
        await communicator.disconnect()

    run(scenario)


def test_a_quiet_graph_still_sends_heartbeats(admin_user, settings) -> None:
    settings.TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS = 0.3
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        for _ in range(3):
            beat = await communicator.receive_json_from(timeout=5)
            assert beat == {"type": "heartbeat", "version": snapshot["version"]}
        await communicator.send_json_to({"type": "ping"})
        kinds = set()
        while "pong" not in kinds:
            kinds.add((await communicator.receive_json_from(timeout=5))["type"])
        await communicator.disconnect()

    run(scenario)


def test_a_delta_that_never_came_is_made_up_with_a_snapshot(admin_user, settings) -> None:
    """A change is committed but its delta is lost (never published): within two heartbeats
    the consumer sees the database ahead of its client and sends a snapshot with the change."""
    settings.TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS = 0.3
    headers = session_headers(admin_user)

    async def scenario() -> None:
        communicator, snapshot = await connected(headers)
        await sync_to_async(engine_says)(container("b", "lost-delta"))  # not published
        while (message := await communicator.receive_json_from(timeout=5))["type"] != "snapshot":
            assert message["type"] == "heartbeat"
        assert message["version"] > snapshot["version"]
        assert f"container:{'b' * 64}" in {n["id"] for n in message["graph"]["nodes"]}
        await communicator.disconnect()

    run(scenario)
