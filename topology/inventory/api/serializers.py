"""REST representations of the inventory. Container environment variables are never part of
any of them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers

from topology.inventory.models import Container, Daemon, Endpoint, Host
from topology.teams.serializers import TeamField


class HostSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Host
        fields = ["id", "slug", "name", "status", "team", "last_seen"]


class DaemonSerializer(serializers.ModelSerializer):
    host = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    container = serializers.SlugRelatedField(slug_field="container_id", read_only=True)
    reachable = serializers.BooleanField(read_only=True)

    class Meta:
        model = Daemon
        fields = [
            "id",
            "engine_id",
            "name",
            "host",
            "container",
            "endpoint",
            "access",
            "version",
            "api_version",
            "operating_system",
            "nesting",
            "status",
            "reachable",
            "last_error",
            "last_seen",
        ]


class ContainerSerializer(serializers.ModelSerializer):
    daemon = serializers.SlugRelatedField(slug_field="engine_id", read_only=True)

    class Meta:
        model = Container
        fields = [
            "id",
            "container_id",
            "name",
            "daemon",
            "image",
            "role",
            "privileged",
            "state",
            "stale",
            "created",
            "labels",
            "mounts",
            "ports",
            "networks",
            "health",
            "health_log",
        ]


class EngineRegistrationSerializer(serializers.ModelSerializer):
    """Register a root engine; the connection is tested before anything is saved."""

    team = TeamField()
    tls_client_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    ssh_private_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"base_template": "textarea.html"}
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "name",
            "url",
            "team",
            "tls_ca_cert",
            "tls_client_cert",
            "tls_client_key",
            "ssh_private_key",
            "ssh_known_hosts",
            "insecure",
        ]
        extra_kwargs = {
            "tls_client_cert": {"write_only": True},
            "tls_ca_cert": {"write_only": True},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        endpoint = Endpoint(**attrs)
        try:
            endpoint.full_clean(exclude=["host"], validate_unique=False)
        except ModelValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs
