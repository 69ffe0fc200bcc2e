"""REST endpoints (Django REST framework: session or token authentication)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.inventory import queries


class TopologyView(APIView):
    """``GET /api/topology/``: the whole graph, as the contract describes it."""

    def get(self, request: Request) -> Response:
        return Response(queries.current_graph())
