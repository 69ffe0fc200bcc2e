"""Docker's reference rules: where an image's repository lives."""

from __future__ import annotations

import pytest

from topology.engine.errors import MalformedAnswer
from topology.engine.references import Reference, is_untagged, parse_reference, split_domain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", Reference("docker.io", "library/busybox")),
        ("busybox:1.36.1", Reference("docker.io", "library/busybox", "1.36.1")),
        ("topology/workload:offline", Reference("docker.io", "topology/workload", "offline")),
        ("docker.io/library/redis:7", Reference("docker.io", "library/redis", "7")),
        ("index.docker.io/grafana/grafana:11", Reference("docker.io", "grafana/grafana", "11")),
        ("localhost:5000/x", Reference("localhost:5000", "x")),
        ("localhost/x:1", Reference("localhost", "x", "1")),
        ("ghcr.io/a/b:latest", Reference("ghcr.io", "a/b", "latest")),
        (
            "registry.example.com:8443/team/app/web:2.0",
            Reference("registry.example.com:8443", "team/app/web", "2.0"),
        ),
        ("127.0.0.1:1/topology-test/dind:27", Reference("127.0.0.1:1", "topology-test/dind", "27")),
        ("Registry/app", Reference("Registry", "app")),  # a capital: a host, as Docker reads it
        ("my_org/my__app-x:v1", Reference("docker.io", "my_org/my__app-x", "v1")),
    ],
)
def test_a_reference_names_its_registry_the_way_docker_does(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


def test_a_digest_names_the_repository_it_was_pulled_from() -> None:
    digest = "sha256:" + "ab" * 32
    reference = parse_reference(f"ghcr.io/a/b@{digest}")
    assert (reference.registry, reference.repository, reference.tag) == ("ghcr.io", "a/b", "")
    assert reference.digest == digest
    assert parse_reference(f"busybox@{digest}").name == "docker.io/library/busybox"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "UPPER",  # no registry host and not lowercase
        "busybox:",
        "busybox:-x",
        "a/b/",
        "-a/b",
        "a//b",
        "x:" + "t" * 129,
        "a/" + "b" * 255,
        "busybox@sha256:short",
        "busy box",
        "busybox\x00",
    ],
)
def test_what_is_not_a_reference_is_refused(text: str) -> None:
    with pytest.raises(MalformedAnswer, match="is not an image reference"):
        parse_reference(text)


def test_a_reference_that_is_not_text_is_refused() -> None:
    with pytest.raises(MalformedAnswer, match="is not text"):
        parse_reference(42)  # type: ignore[arg-type]


def test_none_is_how_an_engine_lists_no_tag() -> None:
    assert is_untagged("<none>:<none>") and is_untagged("<none>@<none>")
    assert not is_untagged("busybox:latest")


def test_split_domain_alone() -> None:
    assert split_domain("alpine") == ("docker.io", "library/alpine")
    assert split_domain("quay.io/coreos/etcd") == ("quay.io", "coreos/etcd")
