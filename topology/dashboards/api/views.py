"""REST for dashboards: members read their teams' dashboards, team admins change them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from topology.dashboards import services
from topology.dashboards.api import serializers
from topology.dashboards.models import Dashboard
from topology.teams import access
from topology.teams.access import Role


class IsTeamAdminForWrites(permissions.BasePermission):
    message = "Changing a dashboard needs the team admin role in its team."

    def has_object_permission(self, request: Request, view: Any, obj: Dashboard) -> bool:
        role = Role.VIEWER if request.method in permissions.SAFE_METHODS else Role.ADMIN
        return access.has_role(request.user, obj.team_id, role)


class DashboardViewSet(viewsets.ModelViewSet):
    queryset = Dashboard.objects.none()
    serializer_class = serializers.DashboardSerializer
    permission_classes = [permissions.IsAuthenticated, IsTeamAdminForWrites]
    filterset_fields = ["team__slug", "layout"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Dashboard.objects.none()
        return Dashboard.objects.select_related("team").visible_to(self.request.user)

    def _require_admin(self, team_id: int) -> None:
        if not access.has_role(self.request.user, team_id, Role.ADMIN):
            raise PermissionDenied(IsTeamAdminForWrites.message)

    def perform_create(self, serializer: serializers.DashboardSerializer) -> None:
        self._require_admin(serializer.validated_data["team"].pk)
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer: serializers.DashboardSerializer) -> None:
        team = serializer.validated_data.get("team", serializer.instance.team)
        self._require_admin(team.pk)
        serializer.save()

    @extend_schema(request=None, responses={201: serializers.DashboardSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> Response:
        original = self.get_object()
        self._require_admin(original.team_id)
        copy = services.duplicate(original, request.user)
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)
