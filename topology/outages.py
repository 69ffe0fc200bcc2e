"""Saying once that a service (Redis, the database) stopped answering, and once that it is back,
with the wait before each new try growing in between: a long outage is two log lines, not one
a second, and nobody hammers a service that is coming back."""

from __future__ import annotations

import logging
import threading
import time


class Outage:
    """The state of one service as one process sees it.

    ``failed`` says so the first time (naming what goes on meanwhile) and returns how long to
    wait before the next try (``first_wait`` doubling up to ``longest_wait``); ``answered``
    says, once, that the service is back. ``due`` is False while a wait runs, for callers that
    skip the service meanwhile. Thread-safe.
    """

    def __init__(
        self,
        service: str,
        logger: logging.Logger,
        meanwhile: str = "",
        *,
        first_wait: float = 0.5,
        longest_wait: float = 30.0,
    ) -> None:
        self.service = service
        self.logger = logger
        self.meanwhile = meanwhile
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self.since: float | None = None
        self.wait = 0.0
        self.next_try = 0.0
        self.lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.since is not None

    @property
    def due(self) -> bool:
        return time.monotonic() >= self.next_try

    def failed(self, error: BaseException | str) -> float:
        with self.lock:
            now = time.monotonic()
            if self.since is None:
                self.since = now
                self.wait = self.first_wait
                reason = " ".join(str(error).split())[:300]
                also = f"; {self.meanwhile}" if self.meanwhile else ""
                self.logger.warning(
                    "%s is not answering (%s)%s; trying again with backoff, up to every %g s",
                    self.service,
                    reason,
                    also,
                    self.longest_wait,
                )
            else:
                self.wait = min(self.wait * 2, self.longest_wait)
            self.next_try = now + self.wait
            return self.wait

    def answered(self) -> None:
        if self.since is None:
            return
        with self.lock:
            if self.since is None:
                return
            down_for = time.monotonic() - self.since
            self.since, self.wait, self.next_try = None, 0.0, 0.0
            self.logger.warning("%s answers again (down for %.1f s)", self.service, down_for)
