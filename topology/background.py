"""Running a long-lived loop (a watcher, the stats sampler) in a thread for a ``with`` block:
tests and benchmarks start one in-process and stop it, whatever happens inside."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from django.db import connection


@contextlib.contextmanager
def running_in_thread(
    run: Callable[[], None], close: Callable[[], None], name: str
) -> Iterator[None]:
    """``run()`` in a daemon thread for the block (its database connection closed when it
    ends), then ``close()`` and up to 30 s for it to finish."""

    def target() -> None:
        try:
            run()
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        close()
        thread.join(timeout=30)
