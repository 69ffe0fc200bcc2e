"""The events watcher: follow every reachable daemon's events and poll a daemon the moment its
containers, networks or images change (debounced), so the database follows the engine within a
fraction of a second.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from topology import background
from topology.engine.events import EngineEvent, StreamBroken, follow
from topology.inventory import polling
from topology.outages import Outage

logger = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.02


class Watcher:
    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.followers: dict[str, tuple[threading.Event, threading.Thread] | None] = {}
        self.targets: dict[str, polling.Target] = {}
        self.database = Outage(
            "The database",
            logger,
            "events wait; every daemon is polled in full when it is back",
            longest_wait=5,
        )
        self.repoll_all = False

    def refresh(self) -> None:
        """Track every known daemon; stop following those that are gone."""
        close_old_connections()
        targets = polling.root_targets() + polling.known_nested_targets()
        wanted = {t.route.key for t in targets}
        for key in list(self.targets):
            if key not in wanted:
                self._forget(key)
        for target in targets:
            self._track(target)

    def _track(self, target: polling.Target) -> None:
        """Follow a daemon's events (exec-read daemons are left to polling) and poll it once."""
        key = target.route.key
        self.targets[key] = target
        if key in self.followers or target.route.is_exec:
            if key not in self.followers:
                self.followers[key] = None
                self.poll(key)
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=follow, args=(target.route, self.events, stop), daemon=True
        )
        thread.start()
        self.followers[key] = (stop, thread)
        logger.info("following events of %s", key)
        self.poll(key)

    def _forget(self, key: str) -> None:
        follower = self.followers.pop(key, None)
        if follower is not None:
            follower[0].set()
        self.targets.pop(key, None)

    def poll(self, key: str) -> None:
        target = self.targets.get(key)
        if target is None:
            return
        close_old_connections()
        try:
            # Without Redis the poll goes on unlocked (said once): no worker polls meanwhile.
            result = polling.poll_target(target, lock_required=False)
        except DatabaseError:
            raise  # the run loop waits for the database
        except Exception as error:  # one daemon's nonsense never stops the others
            logger.warning("polling %s failed: %r", key, error)
            return
        if result.error:
            logger.info("%s: %s", key, result.error)
        for nested in result.nested:
            if nested.route.key not in self.targets:
                self._track(nested)

    def run(self, until: float | None = None) -> None:
        """Follow events until stopped (or ``until``). A database outage is said once; the
        watcher waits with backoff and, once the database answers, polls every daemon in full
        (what happened meanwhile is read then, not lost)."""
        self.repoll_all = True
        next_refresh = 0.0
        while not self.stop.is_set() and (until is None or time.monotonic() < until):
            try:
                if self.repoll_all:
                    tracked = list(self.targets)
                    self.refresh()  # polls each daemon it starts tracking
                    for key in tracked:
                        self.poll(key)
                    self.repoll_all = False
                    next_refresh = time.monotonic() + settings.TOPOLOGY_POLL_SECONDS
                next_refresh = self._step(next_refresh)
                self.database.answered()
            except DatabaseError as error:
                self.repoll_all = True
                with contextlib.suppress(Exception):
                    connection.close()
                self.stop.wait(self.database.failed(error))

    def _step(self, next_refresh: float) -> float:
        """Take what events came (debounced), poll the daemons they name; refresh when due."""
        try:
            item = self.events.get(timeout=0.5)
        except queue.Empty:
            item = None
        due = {item.engine_key} if item else set()
        if isinstance(item, StreamBroken):
            logger.info("events of %s broke (%s): re-polling in full", item.engine_key, item.error)
        # Debounce: gather what arrives within a short window, then poll each daemon once.
        deadline = time.monotonic() + DEBOUNCE_SECONDS
        while due and time.monotonic() < deadline:
            try:
                more = self.events.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            due.add(more.engine_key)
        for key in due:
            self.poll(key)
        if time.monotonic() >= next_refresh:
            self.refresh()
            next_refresh = time.monotonic() + settings.TOPOLOGY_POLL_SECONDS
        return next_refresh

    def close(self) -> None:
        self.stop.set()
        for follower in self.followers.values():
            if follower is not None:
                follower[0].set()

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[Watcher]:
        """Run in a background thread for the ``with`` block (tests, benchmarks), then stop."""
        with background.running_in_thread(self.run, self.close, "events-watcher"):
            yield self


__all__ = ["EngineEvent", "Watcher"]
