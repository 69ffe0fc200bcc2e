"""What an engine says of its networks, volumes and attachments: parsed, or refused by shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from topology.engine import networks
from topology.engine.errors import EngineError, MalformedAnswer
from topology.engine.reading import container_from_inspect, container_from_listing

NET_ID = "0ce2480132621e1c9025f416c617a72cd90aaf2caeb4fc39d0340a21d604e8db"
CONTAINER_ID = "8a862c3feabeb1772f77c49aa56317e66d8b7f0dfa3c5317621eb1afbddbe9e2"


def api_network(**fields: Any) -> dict[str, Any]:
    """A network as ``GET /networks`` describes it (Docker 20.10)."""
    return {
        "Name": "front",
        "Id": NET_ID,
        "Created": "2026-12-01T09:45:56.897821264Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv6": True,
        "IPAM": {
            "Driver": "default",
            "Options": None,
            "Config": [
                {"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"},
                {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"},
            ],
        },
        "Internal": True,
        "Attachable": True,
        "Ingress": False,
        "Containers": {},
        "Options": {},
        "Labels": {"topology.managed": "true"},
        **fields,
    }


def test_an_api_listing_gives_every_field_of_a_network() -> None:
    [network] = networks.networks_from_api([api_network()])
    assert network.id == NET_ID and network.name == "front"
    assert (network.driver, network.scope) == ("bridge", "local")
    assert network.internal and network.attachable and network.ipv6 and not network.ingress
    assert network.subnets == ("172.18.0.0/16", "fd00:1::/64")
    assert network.gateways == ("172.18.0.1", "fd00:1::1")
    assert network.labels == {"topology.managed": "true"}
    assert network.created == datetime(2026, 12, 1, 9, 45, 56, 897821, tzinfo=UTC)
    assert network.complete


def test_nulls_read_as_empty() -> None:
    [network] = networks.networks_from_api(
        [api_network(IPAM={"Config": None}, Labels=None, Internal=None, Created=None)]
    )
    assert network.subnets == () and network.labels == {} and network.internal is False
    assert network.created is None


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"Networks": []}, "not a list of objects"),
        ("bridge", "not a list of objects"),
        (None, "not a list of objects"),
        ([["front"]], "item 0 is not an object"),
        ([api_network(Id="../../etc")], "not a network ID"),
        ([api_network(Id=None)], "not a network ID"),
        ([api_network(Name="")], "has no name"),
        ([api_network(Name=7)], "Name is not text"),
        ([api_network(Name="x" * 300)], "at most 255"),
        ([api_network(Driver="bad\x00")], "Driver is not text"),
        ([api_network(Internal="yes")], "Internal is not true or false"),
        ([api_network(Labels={"a": 1})], "Labels value is not text"),
        ([api_network(Labels=["a"])], "Labels is not an object"),
        ([api_network(IPAM={"Config": [{"Subnet": "not-a-cidr"}]})], "not an IP network"),
        ([api_network(IPAM={"Config": [{"Gateway": "300.1.1.1"}]})], "not an IP address"),
        ([api_network(IPAM={"Config": {"Subnet": "10.0.0.0/8"}})], "not a list of objects"),
        ([api_network(IPAM=[])], "IPAM is not an object"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_refused_with_a_reason(payload: Any, says: str) -> None:
    with pytest.raises(MalformedAnswer, match=says) as refused:
        networks.networks_from_api(payload)
    assert isinstance(refused.value, EngineError)  # a poll marks that daemon unreachable


def test_a_cli_listing_line_is_an_incomplete_network() -> None:
    line = {
        "CreatedAt": "2026-12-01 09:45:56.897821264 +0000 UTC",
        "Driver": "bridge",
        "ID": NET_ID,
        "IPv4": "false",
        "IPv6": "false",
        "Internal": "true",
        "Labels": "topology.managed=true,tier=back",
        "Name": "back",
        "Scope": "local",
    }
    [network] = networks.networks_from_cli_lines([line])
    assert not network.complete and network.internal and network.subnets == ()
    assert network.labels == {"topology.managed": "true", "tier": "back"}
    assert network.created == datetime(2026, 12, 1, 9, 45, 56, 897821, tzinfo=UTC)
    with pytest.raises(MalformedAnswer, match="Internal is not true or false"):
        networks.networks_from_cli_lines([{**line, "Internal": "maybe"}])


def test_volumes_from_the_api_and_the_cli() -> None:
    listing = {
        "Volumes": [
            {
                "Name": "shared",
                "Driver": "local",
                "Scope": "local",
                "Labels": None,
                "CreatedAt": "2026-12-01T09:00:00Z",
                "Mountpoint": "/var/lib/docker/volumes/shared/_data",
            }
        ],
        "Warnings": None,
    }
    [volume] = networks.volumes_from_api(listing)
    assert (volume.name, volume.driver, volume.scope, volume.labels) == (
        "shared",
        "local",
        "local",
        {},
    )
    assert networks.volumes_from_api({"Volumes": None}) == []
    [line] = networks.volumes_from_cli_lines([{"Name": "cache", "Driver": "local", "Labels": ""}])
    assert line.name == "cache" and line.scope == "local"
    for bad, says in [
        ([], "not an object"),
        ({"Volumes": {}}, "not a list of objects"),
        ({"Volumes": [{"Name": "../up"}]}, "not a volume name"),
    ]:
        with pytest.raises(MalformedAnswer, match=says):
            networks.volumes_from_api(bad)


def _listed(networks_field: Any = None, mode: str = "front") -> dict[str, Any]:
    return {
        "Id": CONTAINER_ID,
        "Names": ["/web"],
        "Image": "workload",
        "State": "running",
        "Created": 1796118356,
        "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {
            "Networks": networks_field
            if networks_field is not None
            else {
                "front": {
                    "Aliases": None,
                    "NetworkID": NET_ID,
                    "IPAddress": "172.18.0.2",
                    "GlobalIPv6Address": "",
                }
            }
        },
        "Mounts": [
            {
                "Type": "volume",
                "Name": "shared",
                "Source": "/var/lib/docker/volumes/shared/_data",
                "Destination": "/data",
                "Driver": "local",
                "RW": False,
            }
        ],
    }


def test_a_listed_container_has_addresses_but_no_aliases() -> None:
    container = container_from_listing(_listed())
    [attachment] = container.attachments
    assert (attachment.network_id, attachment.network_name, attachment.ipv4) == (
        NET_ID,
        "front",
        "172.18.0.2",
    )
    assert attachment.aliases is None  # a listing never says
    assert container.network_mode == "front"
    [mount] = container.mounts
    assert (mount.name, mount.driver, mount.read_write) == ("shared", "local", False)


def test_an_inspected_container_has_its_aliases_without_the_short_id() -> None:
    data = {
        "Id": CONTAINER_ID,
        "Name": "/web",
        "Config": {"Image": "workload", "Env": ["SECRET=1"]},
        "State": {"Status": "running"},
        "HostConfig": {"NetworkMode": f"container:{'f' * 64}"},
        "NetworkSettings": {
            "Networks": {
                "front": {
                    "Aliases": ["web", CONTAINER_ID[:12]],
                    "NetworkID": NET_ID,
                    "IPAddress": "172.18.0.2",
                    "GlobalIPv6Address": "fd00:1::2",
                }
            }
        },
    }
    container = container_from_inspect(data)
    assert container.attachments[0].aliases == ("web",)
    assert container.attachments[0].ipv6 == "fd00:1::2"
    assert networks.shared_netns_target(container.network_mode) == "f" * 64


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ({"front": "172.18.0.2"}, "is not an object"),
        ({"front": {"NetworkID": "no/such"}}, "NetworkID is not a network ID"),
        ({"front": {"IPAddress": "a.b.c.d"}}, "not an IP address"),
        (["front"], "networks is not an object"),
    ],
)
def test_attachments_of_the_wrong_shape_are_refused(field: Any, says: str) -> None:
    with pytest.raises(MalformedAnswer, match=says):
        container_from_listing(_listed(field))
