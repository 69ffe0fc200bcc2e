"""An interactive shell in a container (nested ones too), through the engine's exec API.

The shell is ``bash`` where the image has one, else ``sh``, on a terminal (tty) the size the
page asks for. What it prints comes back as raw bytes for a terminal emulator; nothing here
interprets it. Whoever opens one is root on that engine as far as the container lets them.
"""

from __future__ import annotations

import contextlib

from topology.engine.chains import ExecStream, Opener, open_exec
from topology.engine.connection import EngineError
from topology.engine.reading import open_reader
from topology.engine.types import Route

SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"]
MIN_SIZE, MAX_SIZE = 2, 1000


def clamp_size(rows: int, cols: int) -> tuple[int, int]:
    return (min(max(rows, MIN_SIZE), MAX_SIZE), min(max(cols, MIN_SIZE), MAX_SIZE))


def open_terminal(
    route: Route, container_id: str, rows: int = 24, cols: int = 80, opener: Opener = open_reader
) -> ExecStream:
    """Start a shell on a terminal in ``container_id`` of the daemon at ``route``."""
    stream = open_exec(
        route,
        container_id,
        SHELL,
        tty=True,
        environment={"TERM": "xterm-256color"},
        opener=opener,
    )
    rows, cols = clamp_size(rows, cols)
    with contextlib.suppress(EngineError):  # a shell too quick to take its size still works
        stream.resize(rows, cols)
    return stream
