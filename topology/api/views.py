"""REST API (Django REST framework): hosts, daemons (read and register), containers (read),
dashboards (CRUD). Every list is cut to what the user's teams may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from topology.api import serializers
from topology.dashboards import services as services_dashboards
from topology.dashboards.models import Dashboard
from topology.inventory import services
from topology.inventory.models import Container, Daemon, Host
from topology.teams import access

TEAM_ADMIN = {"admin"}
ANY_ROLE = {"viewer", "operator", "admin"}


def _limit(queryset: QuerySet, ids: set[int] | None, field: str = "pk") -> QuerySet:
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


class HostViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.HostSerializer
    filterset_fields = ["status", "team__slug"]

    def get_queryset(self) -> QuerySet:
        hosts = Host.objects.select_related("team")
        return _limit(hosts, access.visible_host_ids(self.request.user))


class DaemonViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Daemons; ``POST`` registers a root engine (team admins), after testing the connection."""

    filterset_fields = ["status", "access", "nesting"]

    def get_serializer_class(self) -> type:
        if self.action == "create":
            return serializers.EngineRegistrationSerializer
        return serializers.DaemonSerializer

    def get_queryset(self) -> QuerySet:
        daemons = Daemon.objects.select_related("host", "container")
        return _limit(daemons, access.visible_daemon_ids(self.request.user))

    @extend_schema(responses={201: serializers.EngineRegistrationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if access.team_ids_with_role(request.user, TEAM_ADMIN) == set():
            # Refused before validation, which would tell which team slugs exist.
            raise PermissionDenied("Registering an engine needs the team admin role in a team.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if not access.has_team_role(request.user, fields["team"].pk, TEAM_ADMIN):
            raise PermissionDenied("Registering an engine needs the team admin role in that team.")
        if fields.get("insecure") and not request.user.is_superuser:
            raise PermissionDenied("Only a site admin may allow a plain (insecure) tcp:// engine.")
        try:
            endpoint = services.register_endpoint(fields, settings.RUN_DIR / "tls")
        except services.RegistrationRefused as refusal:
            raise ValidationError({"url": [str(refusal)]}) from refusal
        body = serializers.EngineRegistrationSerializer(endpoint).data
        return Response(body, status=status.HTTP_201_CREATED)


class ContainerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ContainerSerializer
    filterset_fields = ["role", "state", "privileged", "stale", "daemon__engine_id"]

    def get_queryset(self) -> QuerySet:
        containers = Container.objects.select_related("daemon")
        name = self.request.query_params.get("name")
        if name:
            containers = containers.filter(name__icontains=name)
        return _limit(containers, access.visible_daemon_ids(self.request.user), "daemon_id")


class IsTeamAdminForWrites(permissions.BasePermission):
    message = "Changing a dashboard needs the team admin role in its team."

    def has_object_permission(self, request: Request, view: Any, obj: Dashboard) -> bool:
        roles = ANY_ROLE if request.method in permissions.SAFE_METHODS else TEAM_ADMIN
        return access.has_team_role(request.user, obj.team_id, roles)


class DashboardViewSet(viewsets.ModelViewSet):
    queryset = Dashboard.objects.none()
    serializer_class = serializers.DashboardSerializer
    permission_classes = [permissions.IsAuthenticated, IsTeamAdminForWrites]
    filterset_fields = ["team__slug", "layout"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Dashboard.objects.none()
        teams = access.team_ids_with_role(self.request.user, ANY_ROLE)
        return _limit(Dashboard.objects.select_related("team"), teams, "team_id")

    def _require_admin(self, team_id: int) -> None:
        if not access.has_team_role(self.request.user, team_id, TEAM_ADMIN):
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
        copy = services_dashboards.duplicate(original, request.user)
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)
