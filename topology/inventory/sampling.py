"""The stats sampler (``manage.py sample_stats``): CPU and memory of the containers some open
page shows, and of no other.

Each second it reads which containers are wanted (``stats_store.wanted``); a wanted container
is sampled at most every ``TOPOLOGY_STATS_SECONDS``, through the route that reaches its daemon
(one-shot API calls, many at once, or one ``docker stats`` by exec for a nested daemon read
that way). Each
daemon is sampled in a worker thread of its own, one round at a time: a slow or hung engine
holds up only itself, and one that fails waits a while before it is tried again. Samples go to
the channel layer for the websocket consumers (who pass each on only to the pages that watch
that container, see ``observing``) and into the short history in Redis; never into the
database. Redis or the database going away pauses the sampler, which carries on when they
come back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from topology import background
from topology.channel_layer import send_to_group
from topology.engine.connection import EngineError
from topology.engine.reading import open_reader
from topology.engine.stats import PARALLEL, CpuCounters, StatsReader, StatsSample
from topology.engine.types import Route
from topology.inventory import graph, polling, stats_store
from topology.inventory.models import Container, Status

logger = logging.getLogger(__name__)

WANTED_EVERY = 1.0
FORGET_AFTER = 600.0  # what was last wanted this long ago is forgotten (counters, readers)
BACKOFF_FIRST, BACKOFF_MAX = 2.0, 60.0


@dataclass
class DaemonRound:
    """What one worker samples: the wanted containers of one daemon."""

    route: Route
    hexes: list[str]


@dataclass
class SamplerCounters:
    """What the sampler did, for tests and benchmarks."""

    rounds: int = 0
    samples: int = 0
    published: int = 0
    engine_errors: int = 0
    outages: int = 0
    by_container: dict[str, int] = field(default_factory=dict)


class Sampler:
    def __init__(
        self,
        period: float | None = None,
        opener: Any = None,
        workers: int = 8,
        redis: Any = None,
    ) -> None:
        self.period = float(period or settings.TOPOLOGY_STATS_SECONDS)
        self.opener = opener or partial(
            open_reader,
            connect_timeout=settings.TOPOLOGY_DOCKER_CONNECT_TIMEOUT,
            read_timeout=settings.TOPOLOGY_DOCKER_READ_TIMEOUT,
            tls_dir=settings.RUN_DIR / "tls",
            pool_size=PARALLEL,
        )
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="stats")
        self.readers: dict[str, StatsReader] = {}
        self.reader_used: dict[str, float] = {}
        self.previous: dict[str, CpuCounters] = {}
        self.sampled_at: dict[str, float] = {}
        self.busy: dict[str, Future[list[StatsSample]]] = {}
        self.backoff: dict[str, tuple[float, float]] = {}  # route key: (until, last wait)
        self.stop = threading.Event()
        self.counters = SamplerCounters()
        self.redis = redis or stats_store.client()
        self.next_wanted = 0.0
        self.outage_until = 0.0
        self.outage_wait = 0.0

    # --- one step of the loop -----------------------------------------------------------------

    def tick(self) -> None:
        """Publish what finished, and start the rounds that are due."""
        self._collect()
        now = time.monotonic()
        if now < self.next_wanted or now < self.outage_until:
            return
        self.next_wanted = now + WANTED_EVERY
        try:
            rounds = self._due_rounds(now)
        except (stats_store.RedisError, DatabaseError) as error:
            self._outage(error)
            return
        self.outage_wait = 0.0
        for key, daemon_round in rounds.items():
            for hex_id in daemon_round.hexes:
                self.sampled_at[hex_id] = now
            reader = self.readers.get(key)
            if reader is None:
                reader = self.readers[key] = StatsReader(daemon_round.route, self.opener)
            self.reader_used[key] = now
            self.busy[key] = self.pool.submit(self._sample, reader, daemon_round)
        self._forget(now)

    def _outage(self, error: Exception) -> None:
        self.counters.outages += 1
        self.outage_wait = min(max(self.outage_wait * 2, BACKOFF_FIRST), BACKOFF_MAX / 4)
        self.outage_until = time.monotonic() + self.outage_wait
        logger.warning("stats sampler paused %.0f s: %s", self.outage_wait, error)
        close_old_connections()

    def _due_rounds(self, now: float) -> dict[str, DaemonRound]:
        """The daemons with wanted containers due for a sample, each with those containers."""
        wanted = stats_store.wanted(self.redis)
        due = [h for h in wanted if now - self.sampled_at.get(h, -1e18) >= self.period - 0.05]
        if not due:
            return {}
        close_old_connections()
        rows = list(
            Container.objects.filter(
                container_id__in=due, state=Container.State.RUNNING, stale=False
            )
            .filter(daemon__status=Status.UP)
            .select_related("daemon__container__daemon")
        )
        routes = polling.routes_to({row.daemon_id: row.daemon for row in rows}.values())
        rounds: dict[str, DaemonRound] = {}
        for row in rows:
            route = routes.get(row.daemon_id)
            if route is None:
                continue
            key = route.key
            if key in self.busy or self.backoff.get(key, (0.0, 0.0))[0] > now:
                continue
            rounds.setdefault(key, DaemonRound(route, [])).hexes.append(row.container_id)
        return rounds

    def _sample(self, reader: StatsReader, daemon_round: DaemonRound) -> list[StatsSample]:
        """One daemon's round, in a worker thread (no database here)."""
        if reader.batched:
            return list(reader.sample_batch(daemon_round.hexes).values())
        previous = {h: self.previous[h] for h in daemon_round.hexes if h in self.previous}
        return reader.sample_many(daemon_round.hexes, previous)

    def _collect(self) -> None:
        for key, future in list(self.busy.items()):
            if not future.done():
                continue
            del self.busy[key]
            try:
                samples = future.result()
            except EngineError as error:
                self._engine_failed(key, error)
                continue
            except Exception as error:
                logger.exception("stats of %s: %s", key, error)
                self._engine_failed(key, error)
                continue
            self.backoff.pop(key, None)
            self.counters.rounds += 1
            if samples:
                self._publish(samples)

    def _engine_failed(self, key: str, error: Exception) -> None:
        self.counters.engine_errors += 1
        wait = min(max(self.backoff.get(key, (0.0, 0.0))[1] * 2, BACKOFF_FIRST), BACKOFF_MAX)
        self.backoff[key] = (time.monotonic() + wait, wait)
        reader = self.readers.pop(key, None)
        if reader is not None:
            reader.shutdown()
        logger.info("stats of %s failed (next try in %.0f s): %s", key, wait, error)

    def _publish(self, samples: Iterable[StatsSample]) -> None:
        samples = list(samples)
        for sample in samples:
            if sample.counters is not None:
                self.previous[sample.container_id] = sample.counters
            self.counters.by_container[sample.container_id] = (
                self.counters.by_container.get(sample.container_id, 0) + 1
            )
        self.counters.samples += len(samples)
        at = datetime.now(UTC)  # one time for the batch: the page and the history agree on it
        message = {
            "type": "stats.samples",
            "at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "samples": {graph.container_id(s.container_id): s.to_message() for s in samples},
        }
        if send_to_group(stats_store.STATS_GROUP, message, f"{len(samples)} stats samples"):
            self.counters.published += 1
        try:
            stats_store.record(self.redis, samples, at)
        except stats_store.RedisError as error:
            logger.warning("stats history not kept: %s", error)

    def _forget(self, now: float) -> None:
        """Drop counters of containers nobody wanted for a while, and idle readers."""
        old = [h for h, at in self.sampled_at.items() if now - at > FORGET_AFTER]
        for hex_id in old:
            self.sampled_at.pop(hex_id, None)
            self.previous.pop(hex_id, None)
        for key, used in list(self.reader_used.items()):
            if now - used > FORGET_AFTER and key not in self.busy:
                self.reader_used.pop(key, None)
                reader = self.readers.pop(key, None)
                if reader is not None:
                    reader.shutdown()

    # --- the loop -----------------------------------------------------------------------------

    def run(self, until: float | None = None) -> None:
        while not self.stop.is_set() and (until is None or time.monotonic() < until):
            try:
                self.tick()
            except Exception as error:  # one bad round never ends the sampler
                logger.exception("stats sampler: %s", error)
                time.sleep(1)
            self.stop.wait(0.1)

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[Sampler]:
        """Run in a background thread for the ``with`` block (tests, benchmarks), then stop."""
        with background.running_in_thread(self.run, self.close, "stats-sampler"):
            yield self

    def close(self) -> None:
        self.stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for reader in self.readers.values():
            reader.shutdown()
        self.readers.clear()
        self.redis.close()


__all__ = ["Sampler"]
