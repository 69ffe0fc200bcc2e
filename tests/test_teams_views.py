"""A team's members page: members see it, team admins change it, others get a 404."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from topology.teams.models import Membership, Team

pytestmark = pytest.mark.django_db


def client_of(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def team() -> Team:
    team = Team.objects.create(slug="ops", name="Ops")
    for name, role in [("ada", "admin"), ("vic", "viewer"), ("out", None), ("new", None)]:
        user = get_user_model().objects.create_user(name)
        if role:
            Membership.objects.create(team=team, user=user, role=role)
    return team


def test_members_see_the_list_admins_the_form_and_outsiders_nothing(team: Team) -> None:
    page = client_of("vic").get("/teams/ops/members/").content.decode()
    assert "ada" in page and "Add a member" not in page
    assert "Add a member" in client_of("ada").get("/teams/ops/members/").content.decode()
    assert client_of("out").get("/teams/ops/members/").status_code == 404


def test_an_admin_adds_changes_and_removes_and_a_viewer_may_not(team: Team) -> None:
    admin, viewer = client_of("ada"), client_of("vic")
    assert (
        viewer.post("/teams/ops/members/", {"username": "new", "role": "admin"}).status_code == 403
    )
    assert (
        admin.post("/teams/ops/members/", {"username": "new", "role": "operator"}).status_code
        == 302
    )
    assert Membership.objects.get(user__username="new").role == "operator"
    new = get_user_model().objects.get(username="new")
    assert viewer.post(f"/teams/ops/members/{new.pk}/remove/").status_code == 403
    assert admin.post(f"/teams/ops/members/{new.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(user=new).exists()


def test_refusals_are_said_and_change_nothing(team: Team) -> None:
    admin = client_of("ada")
    page = admin.post("/teams/ops/members/", {"username": "ghost", "role": "viewer"})
    assert "There is no active user called &#x27;ghost&#x27;." in page.content.decode()
    ada = get_user_model().objects.get(username="ada")
    follow = admin.post(f"/teams/ops/members/{ada.pk}/remove/", follow=True)
    assert "last admin" in follow.content.decode()
    assert Membership.objects.filter(user=ada, role="admin").exists()
