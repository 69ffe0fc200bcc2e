"""Keeping two polls of one daemon apart, without missing a change either asked for."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import redis

from topology.locks import held, lock_name, redis_client, redis_outage

POLL_LOCK_SECONDS = 60  # longer than the poll task's hard time limit
POLLED_KEPT_SECONDS = 86400


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


def mark_queued(key: str, seconds: float) -> bool:
    """True if no poll of ``key`` was waiting (now one is, for at most ``seconds``): beat queues
    a daemon again only once its last poll has run, so an overloaded queue holds one poll per
    daemon, not a backlog that expires unrun. Without Redis, True (the poll is queued anyway;
    the broker is Redis too, so it will fail there and be said there)."""
    try:
        return bool(redis_client().set(lock_name("queued", key), 1, nx=True, ex=int(seconds)))
    except redis.RedisError:
        return True


def clear_queued(key: str) -> None:
    """The poll of ``key`` has run (now): the next beat may queue it again."""
    with contextlib.suppress(redis.RedisError):
        pipe = redis_client().pipeline(transaction=False)
        pipe.delete(lock_name("queued", key))
        pipe.set(lock_name("polled", key), f"{time.time():.3f}", ex=POLLED_KEPT_SECONDS)
        pipe.execute()


def last_polled(keys: list[str]) -> list[float | None]:
    """When each of ``keys`` was last polled (None: never, or Redis does not say)."""
    if not keys:
        return []
    try:
        said = redis_client().mget([lock_name("polled", key) for key in keys])
    except redis.RedisError:
        return [None] * len(keys)
    return [float(value) if value else None for value in said]
