"""Teams: who sees which hosts, through the graph, deltas and the REST API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import container_info
from topology.engine.types import DaemonSnapshot, EngineInfo, Route
from topology.inventory import graph, queries, services
from topology.inventory.models import Host
from topology.inventory.services import Place
from topology.teams.access import has_team_role, visible_host_ids
from topology.teams.models import Membership, Team


def _engine(name: str, *digits: str) -> services.ChangeSet:
    info = EngineInfo(f"{name.upper()}:ID", name, "27", "1.47", "Linux")
    snapshot = DaemonSnapshot(
        Route(f"unix:///{name}.sock"), info, tuple(map(container_info, digits))
    )
    return services.reconcile(snapshot, Place(host_name=name))


@pytest.fixture
def two_teams(db):  # type: ignore[no-untyped-def]
    users = get_user_model()
    alpha, beta = (
        Team.objects.create(slug="alpha", name="Alpha"),
        Team.objects.create(slug="beta", name="Beta"),
    )
    ann = users.objects.create_user("ann", password="a-long-password-9")
    ben = users.objects.create_user("ben", password="a-long-password-9")
    Membership.objects.create(team=alpha, user=ann, role="viewer")
    Membership.objects.create(team=beta, user=ben, role="operator")
    _engine("alpha-host", "1")
    _engine("beta-host", "2")
    _engine("shared-host", "3")
    Host.objects.filter(slug="alpha-host").update(team=alpha)
    Host.objects.filter(slug="beta-host").update(team=beta)
    return ann, ben, alpha, beta


def test_members_see_their_team_and_shared_hosts(two_teams, admin_user) -> None:
    ann, ben, *_ = two_teams
    slugs = dict(Host.objects.values_list("pk", "slug"))
    assert {slugs[pk] for pk in visible_host_ids(ann)} == {"alpha-host", "shared-host"}
    assert {slugs[pk] for pk in visible_host_ids(ben)} == {"beta-host", "shared-host"}
    assert visible_host_ids(admin_user) is None


def test_graph_for_a_member_has_no_node_of_another_team(two_teams) -> None:
    ann, *_ = two_teams
    seen = queries.current_graph(ann)
    ids = {n["id"] for n in seen["nodes"]}
    assert "host:alpha-host" in ids and "daemon:ALPHA-HOST:ID" in ids
    assert f"container:{'1' * 64}" in ids and f"container:{'3' * 64}" in ids
    assert not any("beta" in node_id.lower() or "2" * 64 in node_id for node_id in ids)


def test_rest_api_applies_visibility(two_teams) -> None:
    _ann, ben, *_ = two_teams
    client = Client()
    client.force_login(ben)
    ids = {n["id"] for n in client.get("/api/topology/").json()["nodes"]}
    assert "host:beta-host" in ids and "host:alpha-host" not in ids
    dot = client.get("/api/topology.dot").content.decode()
    assert "alpha" not in dot


def test_deltas_are_cut_to_what_a_member_may_see(two_teams) -> None:
    ann, *_ = two_teams
    allowed = queries.allowed_host_nodes(ann)
    visible = {n["id"] for n in queries.current_graph(ann)["nodes"]}
    beta_change = _engine("beta-host", "2", "4")
    cut = graph.visible_delta(beta_change.message(), visible, allowed)
    assert cut["upsert"]["nodes"] == [] and cut["remove"]["nodes"] == []
    alpha_change = _engine("alpha-host", "1", "5")
    cut = graph.visible_delta(alpha_change.message(), visible, allowed)
    assert [n["id"] for n in cut["upsert"]["nodes"]] == [f"container:{'5' * 64}"]
    assert f"container:{'5' * 64}" in visible
    gone = _engine("beta-host")
    assert graph.visible_delta(gone.message(), visible, allowed)["remove"]["nodes"] == []


def test_team_roles(two_teams, admin_user) -> None:
    ann, ben, alpha, beta = two_teams
    assert has_team_role(ben, beta.pk, {"operator", "admin"})
    assert not has_team_role(ann, alpha.pk, {"operator", "admin"})
    assert not has_team_role(ben, alpha.pk, {"viewer", "operator", "admin"})
    assert has_team_role(admin_user, alpha.pk, {"admin"})
