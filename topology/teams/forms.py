"""Adding a member to a team, or changing a member's role."""

from __future__ import annotations

from django import forms

from topology.teams.models import Membership


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)
