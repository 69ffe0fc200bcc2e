"""Keeping two polls of one daemon apart, without missing a change either asked for."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from topology.locks import held, lock_name, redis_client, redis_outage

POLL_LOCK_SECONDS = 60  # longer than the poll task's hard time limit


@contextlib.contextmanager
def poll_lock(key: str, required: bool = True) -> Iterator[bool]:
    """Yield True while holding the lock for ``key``, False if another poll holds it.

    A poll that finds the lock taken leaves a "dirty" mark so the holder polls once more
    before it lets go; no change is missed. With ``required=False`` and no Redis, polling goes
    on unlocked (the ``--once`` command works without Redis).
    """
    client = redis_client()
    with held("poll", key, seconds=POLL_LOCK_SECONDS, required=required, client=client) as mine:
        if not mine:
            client.set(lock_name("dirty", key), 1, ex=POLL_LOCK_SECONDS)
        yield mine


def take_dirty(key: str) -> bool:
    """True (and cleared) if another poll asked for this daemon while we held its lock."""
    if not redis_outage().due:
        return False
    try:
        return bool(redis_client().getdel(lock_name("dirty", key)))
    except redis.RedisError:
        return False
