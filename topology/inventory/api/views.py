"""REST for the inventory: the contract graph (JSON and DOT), hosts, daemons (read, and
register a root engine) and containers (read). Every answer is cut to what the user's teams
may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.inventory import graph, graph_layers, queries, services
from topology.inventory.api import serializers
from topology.inventory.models import Container, Daemon, Host
from topology.teams import access
from topology.teams.access import Role

LAYERS_PARAMETER = OpenApiParameter(
    "layers",
    str,
    description="Comma-separated layers: containment, networks, volumes, images (default: all)."
    " Hosts, daemons and containers are in every answer.",
)


def requested_layers(request: Request) -> frozenset[str]:
    """The ``?layers=`` asked for (400 for an unknown one)."""
    try:
        return graph_layers.parse(request.query_params.get("layers"))
    except graph_layers.UnknownLayer as error:
        raise ValidationError({"layers": [str(error)]}) from error


def requested_graph(request: Request) -> dict[str, Any]:
    """The graph the user may see, cut to the ``?layers=`` asked for."""
    return graph_layers.graph_in(queries.current_graph(request.user), requested_layers(request))


class TopologyView(APIView):
    """``GET /api/topology/``: the whole graph, as the contract describes it."""

    @extend_schema(
        parameters=[LAYERS_PARAMETER],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The contract graph.")},
    )
    def get(self, request: Request) -> HttpResponse:
        # The text is made once per graph version for everyone who sees the same graph.
        current = queries.serialized_graph(request.user, requested_layers(request))
        return HttpResponse(current.text, content_type="application/json")


class DotRenderer(BaseRenderer):
    """The contract graph as Graphviz text (``graph.to_dot``)."""

    media_type = "text/vnd.graphviz"
    format = "dot"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if not isinstance(data, dict) or "nodes" not in data:  # an error body, e.g. 403
            return f"// {data}\n".encode()
        return graph.to_dot(data).encode()


class TopologyDotView(APIView):
    """``GET /api/topology.dot``: the same graph for Graphviz, as a download."""

    renderer_classes = [DotRenderer]

    @extend_schema(
        parameters=[LAYERS_PARAMETER], responses={(200, "text/vnd.graphviz"): OpenApiTypes.STR}
    )
    def get(self, request: Request) -> Response:
        current = requested_graph(request)
        name = f"topology-v{current['version']}.dot"
        return Response(current, headers={"Content-Disposition": f'attachment; filename="{name}"'})


class HostViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.HostSerializer
    filterset_fields = ["status", "team__slug"]

    def get_queryset(self) -> QuerySet:
        return Host.objects.select_related("team").visible_to(self.request.user)


class DaemonViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Daemons; ``POST`` registers a root engine (team admins: tcp:// with TLS or ssh://; site
    admins also local sockets and plain tcp://), after testing the connection. An engine already
    known, by its engine ID, is refused."""

    filterset_fields = ["status", "access", "nesting"]

    def get_serializer_class(self) -> type:
        if self.action == "create":
            return serializers.EngineRegistrationSerializer
        return serializers.DaemonSerializer

    def get_queryset(self) -> QuerySet:
        return Daemon.objects.select_related("host", "container").visible_to(self.request.user)

    @extend_schema(responses={201: serializers.EngineRegistrationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if access.team_ids_with_role(request.user, Role.ADMIN) == set():
            # Refused before validation, which would tell which team slugs exist.
            raise PermissionDenied("Registering an engine needs the team admin role in a team.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if not access.has_role(request.user, fields["team"].pk, Role.ADMIN):
            raise PermissionDenied("Registering an engine needs the team admin role in that team.")
        forbidden = services.registration_forbidden(request.user, fields)
        if forbidden is not None:
            raise PermissionDenied(forbidden)
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
        containers = Container.objects.select_related("daemon").visible_to(self.request.user)
        name = self.request.query_params.get("name")
        if name:
            containers = containers.filter(name__icontains=name)
        return containers
