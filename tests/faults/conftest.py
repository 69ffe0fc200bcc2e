"""The fault suite: each test breaks something real (a private Redis, the worktree's own
PostgreSQL cluster, a worker process) or, for faults a real engine cannot show, uses a FAKE
engine (``tests.fake_engine``), and checks that the processes recover without a restart and
that nothing is lost or duplicated. Every test here carries the ``faults`` marker."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == HERE:
            item.add_marker(pytest.mark.faults)
