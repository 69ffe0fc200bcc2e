"""REST endpoints (Django REST framework: session or token authentication)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.inventory import graph, layers, queries

LAYERS_PARAMETER = OpenApiParameter(
    "layers",
    str,
    description="Comma-separated layers: containment, networks, volumes, images (default: all)."
    " Hosts, daemons and containers are in every answer.",
)


def requested_graph(request: Request) -> dict[str, Any]:
    """The graph the user may see, cut to the ``?layers=`` asked for (400 for an unknown one)."""
    try:
        chosen = layers.parse(request.query_params.get("layers"))
    except layers.UnknownLayer as error:
        raise ValidationError({"layers": [str(error)]}) from error
    return layers.graph_in(queries.current_graph(request.user), chosen)


class TopologyView(APIView):
    """``GET /api/topology/``: the whole graph, as the contract describes it."""

    @extend_schema(
        parameters=[LAYERS_PARAMETER],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The contract graph.")},
    )
    def get(self, request: Request) -> Response:
        return Response(requested_graph(request))


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
