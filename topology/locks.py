"""Locks: Redis locks, one holder at a time for a key (a daemon's poll, a demo's launch); and a
database lock that serializes transactions (demo launches, counted against quota and cap)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator

import redis
import redis.lock
from django.conf import settings
from django.db import connection

from topology.outages import Outage

logger = logging.getLogger(__name__)

_outages: dict[str, Outage] = {}


def redis_outage() -> Outage:
    """How this process sees the Redis of ``REDIS_URL`` (one line when it goes, one when back)."""
    url = settings.REDIS_URL
    if url not in _outages:
        _outages[url] = Outage(
            "Redis (locks)", logger, "work that may go on unlocked does (polls of one process)"
        )
    return _outages[url]


_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """This process's client for ``REDIS_URL``: one connection pool per process, shared by its
    threads (redis-py starts a fresh pool in a forked child)."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients.setdefault(
            url, redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
        )
    return client


def lock_name(kind: str, key: str) -> str:
    """Locks are per key and per database: two installations sharing a Redis (or a test run
    beside a running instance) do not hold each other up."""
    database = str(connection.settings_dict.get("NAME"))
    digest = hashlib.sha1(f"{database}\0{key}".encode(), usedforsecurity=False).hexdigest()
    return f"topology:{kind}:{digest}"


@contextlib.contextmanager
def held(
    kind: str,
    key: str,
    *,
    seconds: float,
    required: bool = True,
    client: redis.Redis | None = None,
    renewed: bool = False,
) -> Iterator[bool]:
    """Yield True while holding the ``kind`` lock for ``key``, False if someone else holds it.

    The lock lapses after ``seconds`` should its holder die. ``renewed``: a thread renews it
    every ``seconds / 3`` while the block runs, so a long piece of work keeps its lock with a
    short ``seconds``, and a holder killed outright (SIGKILL) holds it up for ``seconds`` at
    most. With ``required=False`` and no Redis, the work goes on unlocked (True): the outage is
    said once, and Redis is not asked again until its backoff has passed (``redis_outage``).
    """
    outage = redis_outage()
    if not required and not outage.due:
        yield True
        return
    client = client or redis_client()
    # Not thread-local: the renewing thread must know the token.
    lock = client.lock(lock_name(kind, key), timeout=seconds, blocking=False, thread_local=False)
    try:
        acquired = lock.acquire()
    except redis.RedisError as error:
        if required:
            raise
        outage.failed(error)
        yield True
        return
    outage.answered()
    if not acquired:
        yield False
        return
    done = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lock, seconds / 3, done), daemon=True)
    if renewed:
        renewer.start()
    try:
        yield True
    finally:
        done.set()
        if renewed:
            renewer.join()
        with contextlib.suppress(redis.RedisError):
            lock.release()


def _renew(lock: redis.lock.Lock, every: float, done: threading.Event) -> None:
    while not done.wait(every):
        try:
            lock.reacquire()
        except redis.exceptions.LockError:
            logger.warning("lost the lock %s while holding it", lock.name)
            return
        except redis.RedisError as error:
            logger.info("could not renew the lock %s: %s", lock.name, error)


def serialized(name: str) -> None:
    """Hold the database lock ``name`` until the current transaction ends, so that whoever
    takes it after us sees what we wrote (a count checked, then a row made).

    PostgreSQL: a transaction-level advisory lock. SQLite needs none: its write transactions
    begin IMMEDIATE (the settings), one at a time for the whole database.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(f"the {name} lock is taken inside a transaction")
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"topology:{name}".encode()).digest()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
            )
