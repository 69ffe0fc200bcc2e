"""Redis locks that keep two polls of one daemon from running at once."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

POLL_LOCK_SECONDS = 60  # longer than the poll task's hard time limit


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)


def _name(kind: str, key: str) -> str:
    """Locks are per daemon and per database: two installations sharing a Redis (or a test run
    beside a running instance) do not hold each other up."""
    database = str(connection.settings_dict.get("NAME"))
    digest = hashlib.sha1(f"{database}\0{key}".encode(), usedforsecurity=False).hexdigest()
    return f"topology:{kind}:{digest}"


@contextlib.contextmanager
def poll_lock(key: str, required: bool = True) -> Iterator[bool]:
    """Yield True while holding the lock for ``key``, False if another poll holds it.

    A poll that finds the lock taken leaves a "dirty" mark so the holder polls once more
    before it lets go; no change is missed. With ``required=False`` and no Redis, polling goes
    on unlocked (the ``--once`` command works without Redis).
    """
    client = redis_client()
    lock = client.lock(_name("poll", key), timeout=POLL_LOCK_SECONDS, blocking=False)
    try:
        acquired = lock.acquire()
    except redis.RedisError:
        if required:
            raise
        logger.info("no Redis: polling %s without a lock", key)
        yield True
        return
    if not acquired:
        client.set(_name("dirty", key), 1, ex=POLL_LOCK_SECONDS)
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(redis.RedisError):
            lock.release()


def take_dirty(key: str) -> bool:
    """True (and cleared) if another poll asked for this daemon while we held its lock."""
    try:
        return bool(redis_client().getdel(_name("dirty", key)))
    except redis.RedisError:
        return False
