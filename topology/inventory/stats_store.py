"""Live stats in Redis, never in the database: which containers some page wants sampled, and
each sampled container's last ten minutes.

Wanted: one sorted set of ``<consumer>|<container hex>`` members scored by when the want lapses.
Each websocket consumer adds what its page shows and refreshes it while the page stays; a page
that closes removes its own; one that vanishes without a word lapses after ``WANT_SECONDS``.
The sampler reads the set (expired members pruned) and samples the containers in it: nobody
looking, nothing sampled.

History: one capped list per container (newest first, ``[at, cpu_percent, mem_bytes,
mem_limit]`` with ``mem_limit`` null when no limit is set), trimmed to what ten minutes hold
at the sampling period and expiring ten minutes after its last sample.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from topology.engine.stats import StatsSample
from topology.locks import redis_client

WANT_SECONDS = 20.0
HISTORY_SECONDS = 600.0
STATS_GROUP = "topology.stats"

RedisError = redis.RedisError


def client() -> redis.Redis:
    return redis_client()


def _key(kind: str, suffix: str = "") -> str:
    """Per database, as locks are: installations sharing a Redis keep apart."""
    database = str(connection.settings_dict.get("NAME"))
    digest = hashlib.sha1(database.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"topology:{kind}:{digest}{':' + suffix if suffix else ''}"


def want(
    client: redis.Redis, consumer: str, hexes: Iterable[str], seconds: float = WANT_SECONDS
) -> None:
    """``consumer`` wants these containers sampled for the next ``seconds``."""
    members = {f"{consumer}|{hex_id}": time.time() + seconds for hex_id in hexes}
    if not members:
        return
    key = _key("stats-wanted")
    with client.pipeline(transaction=False) as pipe:
        pipe.zadd(key, members)
        pipe.expire(key, math.ceil(seconds * 3))
        pipe.execute()


def unwant(client: redis.Redis, consumer: str, hexes: Iterable[str]) -> None:
    members = [f"{consumer}|{hex_id}" for hex_id in hexes]
    if members:
        client.zrem(_key("stats-wanted"), *members)


def wanted(client: redis.Redis) -> set[str]:
    """The containers some page wants now (lapsed wants are dropped on the way)."""
    key = _key("stats-wanted")
    with client.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zrange(key, 0, -1)
        _, members = pipe.execute()
    return {member.decode().rpartition("|")[2] for member in members}


def history_length(period: float | None = None) -> int:
    period = period or settings.TOPOLOGY_STATS_SECONDS
    return math.ceil(HISTORY_SECONDS / period) + 2


def record(client: redis.Redis, samples: Iterable[StatsSample], at: datetime | None = None) -> None:
    """Add samples to their containers' histories (capped, expiring), at their own time or
    ``at`` (the time their batch was published with)."""
    cap = history_length()
    with client.pipeline(transaction=False) as pipe:
        for sample in samples:
            key = _key("stats-history", sample.container_id)
            entry = [
                round((at or sample.at).timestamp(), 3),
                sample.cpu_percent,
                sample.mem_bytes,
                sample.mem_limit if sample.limit_set else None,
            ]
            pipe.lpush(key, json.dumps(entry, separators=(",", ":")))
            pipe.ltrim(key, 0, cap - 1)
            pipe.expire(key, math.ceil(HISTORY_SECONDS))
        pipe.execute()


def history(client: redis.Redis, hexes: Iterable[str]) -> dict[str, list[list[Any]]]:
    """The last ten minutes of each container that has any, oldest first."""
    hexes = list(hexes)
    if not hexes:
        return {}
    with client.pipeline(transaction=False) as pipe:
        for hex_id in hexes:
            pipe.lrange(_key("stats-history", hex_id), 0, -1)
        answers = pipe.execute()
    since = time.time() - HISTORY_SECONDS
    found = {}
    for hex_id, entries in zip(hexes, answers, strict=True):
        series = []
        for raw in reversed(entries):
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, list) and len(entry) == 4 and entry[0] >= since:
                series.append(entry)
        if series:
            found[hex_id] = series
    return found
