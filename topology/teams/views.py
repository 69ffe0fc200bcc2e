"""A team's members: every member sees who is in the team; team admins change it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from topology.teams import access, services
from topology.teams.access import Role
from topology.teams.forms import MemberForm


@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    team = access.team_for(request, slug, Role.ADMIN if request.method == "POST" else Role.VIEWER)
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
            "may_manage": access.has_role(request.user, team.pk, Role.ADMIN),
        },
    )


@require_POST
def remove_member(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = access.team_for(request, slug, Role.ADMIN)
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        services.remove_member(team, user)
    except services.MembershipRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{user.get_username()} left {team.name}.")
    return redirect("team-members", slug=team.slug)
