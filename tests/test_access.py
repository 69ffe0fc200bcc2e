"""Teams: role predicates, the team gate, and who sees which hosts through the graph, deltas and
the REST API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory

from tests.conftest import container_info
from topology.engine.types import DaemonSnapshot, EngineInfo, Route
from topology.inventory import graph, queries, services
from topology.inventory.models import Host
from topology.inventory.services import Place
from topology.teams.access import Role, has_role, team_for, team_ids_with_role
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

    def slugs(user) -> set[str]:  # type: ignore[no-untyped-def]
        return set(Host.objects.visible_to(user).values_list("slug", flat=True))

    assert slugs(ann) == {"alpha-host", "shared-host"}
    assert slugs(ben) == {"beta-host", "shared-host"}
    assert slugs(admin_user) == {"alpha-host", "beta-host", "shared-host"}
    assert slugs(AnonymousUser()) == set()
    assert queries.allowed_host_nodes(admin_user) is None


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


def test_roles_grow() -> None:
    assert Role.VIEWER.and_above() == ["viewer", "operator", "admin"]
    assert Role.OPERATOR.and_above() == ["operator", "admin"]
    assert Role.ADMIN.and_above() == ["admin"]


def test_team_roles(two_teams, admin_user) -> None:
    ann, ben, alpha, beta = two_teams
    assert has_role(ben, beta.pk, Role.OPERATOR) and has_role(ben, beta.pk, Role.VIEWER)
    assert not has_role(ben, beta.pk, Role.ADMIN)
    assert not has_role(ann, alpha.pk, Role.OPERATOR)
    assert not has_role(ben, alpha.pk, Role.VIEWER)
    assert not has_role(ben, None, Role.VIEWER)
    assert not has_role(AnonymousUser(), alpha.pk, Role.VIEWER)
    assert has_role(admin_user, alpha.pk, Role.ADMIN)
    assert team_ids_with_role(ben, Role.OPERATOR) == {beta.pk}
    assert team_ids_with_role(ann, Role.OPERATOR) == set()
    assert team_ids_with_role(admin_user, Role.ADMIN) is None
    assert set(Team.objects.visible_to(ann)) == {alpha}
    assert set(Team.objects.with_role(admin_user, Role.ADMIN)) == {alpha, beta}


def test_the_team_gate_hides_a_team_from_outsiders_and_names_the_role_to_members(
    two_teams, admin_user
) -> None:
    ann, _ben, alpha, _beta = two_teams

    def request_of(user):  # type: ignore[no-untyped-def]
        request = RequestFactory().get("/")
        request.user = user
        return request

    assert team_for(request_of(ann), "alpha") == alpha
    assert team_for(request_of(admin_user), "beta", Role.ADMIN).slug == "beta"
    for slug in ("beta", "no-such-team"):
        with pytest.raises(Http404):
            team_for(request_of(ann), slug)
    with pytest.raises(PermissionDenied, match="admin role in Alpha"):
        team_for(request_of(ann), "alpha", Role.ADMIN)
