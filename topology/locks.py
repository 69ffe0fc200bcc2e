"""Redis locks: one holder at a time for a key (a daemon's poll, a demo's launch)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)


def lock_name(kind: str, key: str) -> str:
    """Locks are per key and per database: two installations sharing a Redis (or a test run
    beside a running instance) do not hold each other up."""
    database = str(connection.settings_dict.get("NAME"))
    digest = hashlib.sha1(f"{database}\0{key}".encode(), usedforsecurity=False).hexdigest()
    return f"topology:{kind}:{digest}"


@contextlib.contextmanager
def held(
    kind: str, key: str, *, seconds: float, required: bool = True, client: redis.Redis | None = None
) -> Iterator[bool]:
    """Yield True while holding the ``kind`` lock for ``key``, False if someone else holds it.

    The lock lapses after ``seconds`` should its holder die. With ``required=False`` and no
    Redis, the work goes on unlocked (True).
    """
    client = client or redis_client()
    lock = client.lock(lock_name(kind, key), timeout=seconds, blocking=False)
    try:
        acquired = lock.acquire()
    except redis.RedisError:
        if required:
            raise
        logger.info("no Redis: %s %s goes on without a lock", kind, key)
        yield True
        return
    if not acquired:
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(redis.RedisError):
            lock.release()
