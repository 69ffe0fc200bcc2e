"""The three checks behind ``GET /healthz``: database, Redis and the local Docker engine."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection

from topology.engine.connection import EngineAddress, ping

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    timeout = settings.TOPOLOGY_HEALTH_TIMEOUT
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()


def check_docker() -> None:
    timeout = settings.TOPOLOGY_HEALTH_TIMEOUT
    address = EngineAddress(
        settings.DOCKER_HOST,
        insecure=settings.DOCKER_HOST_INSECURE,
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    ping(address)


CHECKS: dict[str, Callable[[], None]] = {
    "db": check_database,
    "redis": check_redis,
    "docker": check_docker,
}


def run_checks() -> dict[str, str]:
    """``{"db": "ok", ...}``; a failing part reads ``"error"`` and its cause is logged."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:
            logger.warning("health check %s failed: %s", name, error)
            results[name] = "error"
        else:
            results[name] = "ok"
    return results
