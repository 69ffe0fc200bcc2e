"""REST for demos: ``POST /api/demos/``, ``GET`` and ``DELETE /api/demos/<id>/``, and
``POST /api/demos/<id>/retry/`` (a failed demo, launched again)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.demos import services, tasks
from topology.demos.models import Demo
from topology.demos.permissions import LAUNCH_DEMO, may_operate_demo
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team


class CanLaunchDemos(BasePermission):
    """Everyone logged in may watch; launching and deleting need ``demos.launch_demo`` (which
    every team operator holds), then the operator role in the demo's team."""

    message = (
        "You may watch demos, but launching or deleting one needs the launch_demo permission "
        "(the operator role in a team)."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return request.user.has_perm(LAUNCH_DEMO)


class LaunchSerializer(serializers.Serializer):
    """Only the scenario is chosen by the user (contract: any other field is refused). Whose
    demo it is comes from the ``team`` query parameter."""

    kind = serializers.ChoiceField(choices=Demo.Kind.choices)

    def validate(self, attrs: dict) -> dict:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {field: ["Not allowed: a demo is chosen by its kind only."] for field in unknown}
            )
        return attrs


NOT_YOUR_TEAM = "You may launch and delete demos only for a team where you are operator or admin."


def launch_team(request: Request, slug: str | None) -> Team | None:
    """The team a new demo belongs to: the one asked for, else the only team the user operates;
    None (shared) for a site admin or a holder of the bare permission who names none."""
    user = request.user
    if slug is not None:
        team = Team.objects.filter(slug=slug).first()
        if team is None or not access.has_role(user, team.pk, Role.OPERATOR):
            raise PermissionDenied(NOT_YOUR_TEAM)
        return team
    operated = access.team_ids_with_role(user, Role.OPERATOR)
    if not operated:
        return None
    if len(operated) > 1:
        slugs = Team.objects.filter(pk__in=operated).values_list("slug", flat=True)
        raise serializers.ValidationError({"team": [f"Choose a team: {', '.join(slugs)}."]})
    return Team.objects.get(pk=next(iter(operated)))


def _visible_demos(request: Request) -> QuerySet[Demo]:
    return Demo.objects.select_related("owner", "team").visible_to(request.user)


def _get_demo_for_user(request: Request, demo_id: str) -> Demo:
    """The demo, if the user's teams may see it; otherwise a 404, as if there were none."""
    return get_object_or_404(_visible_demos(request), pk=demo_id)


DEMO = OpenApiResponse(OpenApiTypes.OBJECT, description="A demo: status and progress.")


def _unavailable(down: Exception) -> Response:
    """503: the task queue did not take the work, and nothing was left behind."""
    return Response(
        {"detail": str(down)},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


class DemoListView(APIView):
    permission_classes = [IsAuthenticated, CanLaunchDemos]

    @extend_schema(operation_id="demos_list", responses={200: DEMO})
    def get(self, request: Request) -> Response:
        demos = _visible_demos(request)
        return Response([services.describe(demo) for demo in demos])

    @extend_schema(
        request=LaunchSerializer,
        parameters=[
            OpenApiParameter(
                "team",
                str,
                OpenApiParameter.QUERY,
                description="Slug of a team you operate; needed only when you operate several.",
            )
        ],
        responses={202: DEMO, 429: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            return Response({"detail": "Send a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        serializer = LaunchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = launch_team(request, request.query_params.get("team"))
        kind = serializer.validated_data["kind"]
        try:
            demo = services.request_launch(request.user, kind, team, tasks.launch_demo.delay)
        except services.DemoRefused as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        except services.QueueDown as down:
            return _unavailable(down)
        return Response(
            {"id": str(demo.id), "status": demo.status}, status=status.HTTP_202_ACCEPTED
        )


class DemoComparisonView(APIView):
    """``GET /api/demos/comparison/``: DinD vs DooD, read from the engines now."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="demos_comparison",
        parameters=[
            OpenApiParameter(
                "demo",
                OpenApiTypes.UUID,
                OpenApiParameter.QUERY,
                description="A demo you may see, to fill its kind's column (default: the newest "
                "running demo of each kind).",
            )
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The table.")},
    )
    def get(self, request: Request) -> Response:
        visible = _visible_demos(request)
        pinned = None
        if "demo" in request.query_params:
            try:
                demo_id = uuid.UUID(request.query_params["demo"])
            except ValueError:
                return Response({"demo": ["Not a demo id."]}, status=status.HTTP_400_BAD_REQUEST)
            pinned = get_object_or_404(visible, pk=demo_id)

        def may_build(demo: Demo) -> bool:
            return may_operate_demo(request.user, demo.team_id)

        return Response(services.compare(visible, pinned, may_build))


class DemoBuildView(APIView):
    """``POST /api/demos/<id>/build/``: run the build experiment (202; the result comes later)."""

    permission_classes = [IsAuthenticated, CanLaunchDemos]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(OpenApiTypes.OBJECT),
            409: OpenApiTypes.OBJECT,
            503: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request: Request, demo_id: str) -> Response:
        demo = _get_demo_for_user(request, demo_id)
        if not may_operate_demo(request.user, demo.team_id):
            raise PermissionDenied(NOT_YOUR_TEAM)
        try:
            build = services.request_build(request.user, demo, tasks.build_twice.delay)
        except services.BuildRefused as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        except services.QueueDown as down:
            return _unavailable(down)
        return Response(services.describe_build(build), status=status.HTTP_202_ACCEPTED)


class DemoDetailView(APIView):
    permission_classes = [IsAuthenticated, CanLaunchDemos]

    @extend_schema(operation_id="demos_retrieve", responses={200: DEMO})
    def get(self, request: Request, demo_id: str) -> Response:
        demo = _get_demo_for_user(request, demo_id)
        described = services.describe(demo)
        if demo.status == Demo.Status.RUNNING:
            facts = services.facts(demo)
            described["facts"] = services.shown_facts(facts) if facts else None
        return Response(described)

    @extend_schema(responses={202: DEMO, 503: OpenApiTypes.OBJECT})
    def delete(self, request: Request, demo_id: str) -> Response:
        demo = _get_demo_for_user(request, demo_id)
        if not may_operate_demo(request.user, demo.team_id):
            raise PermissionDenied(NOT_YOUR_TEAM)
        if demo.status != Demo.Status.STOPPING:
            try:
                services.request_teardown(request.user, demo, tasks.tear_down_demo.delay)
            except services.QueueDown as down:
                return _unavailable(down)
        return Response(
            {"id": str(demo.id), "status": demo.status}, status=status.HTTP_202_ACCEPTED
        )


class DemoRetryView(APIView):
    """Try a failed demo again: the same kind for the same team, as a new launch by the caller
    (who must operate that team), under the same quota and cap."""

    permission_classes = [IsAuthenticated, CanLaunchDemos]

    @extend_schema(
        request=None,
        responses={
            202: DEMO,
            409: OpenApiTypes.OBJECT,
            429: OpenApiTypes.OBJECT,
            503: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request: Request, demo_id: str) -> Response:
        demo = _get_demo_for_user(request, demo_id)
        if not may_operate_demo(request.user, demo.team_id):
            raise PermissionDenied(NOT_YOUR_TEAM)
        try:
            demo = services.request_retry(request.user, demo, tasks.launch_demo.delay)
        except services.DemoNotFailed as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        except services.DemoRefused as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        except services.QueueDown as down:
            return _unavailable(down)
        return Response(
            {"id": str(demo.id), "status": demo.status}, status=status.HTTP_202_ACCEPTED
        )
