"""A team's members: every member sees who is in the team; team admins change it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from topology.teams import access, services
from topology.teams.forms import MemberForm
from topology.teams.models import Team

ANY_ROLE = {"viewer", "operator", "admin"}


def _team(request: HttpRequest, slug: str, *, manage: bool) -> Team:
    """The team, for its members (404 for anyone else); ``manage`` needs the team admin role."""
    team = get_object_or_404(Team, slug=slug)
    if not access.has_team_role(request.user, team.pk, ANY_ROLE):
        raise Http404("No such team.")
    if manage and not access.has_team_role(request.user, team.pk, {"admin"}):
        raise PermissionDenied("Changing a team's members needs the team admin role.")
    return team


def members(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug, manage=request.method == "POST")
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.set_member_role(
                team, form.cleaned_data["username"], form.cleaned_data["role"]
            )
        except services.MembershipRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"{membership.user.get_username()} is {membership.role}.")
            return redirect("team-members", slug=team.slug)
    return render(
        request,
        "teams/members.html",
        {
            "team": team,
            "memberships": team.memberships.select_related("user").order_by("user__username"),
            "form": form,
            "may_manage": access.has_team_role(request.user, team.pk, {"admin"}),
        },
    )


@require_POST
def remove_member(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = _team(request, slug, manage=True)
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        services.remove_member(team, user)
    except services.MembershipRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{user.get_username()} left {team.name}.")
    return redirect("team-members", slug=team.slug)
