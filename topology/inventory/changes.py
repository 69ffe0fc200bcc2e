"""What one inventory action changed: counts, the graph delta, and the versions it spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from topology.inventory.graph import GraphDelta


@dataclass
class ChangeSet:
    """Counts of rows added, changed and removed, and the graph delta from ``since`` to
    ``version`` (both 0 while nothing changed)."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    delta: GraphDelta = field(default_factory=GraphDelta)
    version: int = 0
    since: int = 0

    def __bool__(self) -> bool:
        return bool(self.delta)

    def message(self) -> dict[str, Any]:
        return self.delta.message(self.version, self.since)

    def absorb(self, later: ChangeSet) -> None:
        """Fold a later change set into this one (counts add up, the delta grows)."""
        if not later:
            return
        self.since = self.since if self else later.since
        self.version = later.version
        self.added += later.added
        self.changed += later.changed
        self.removed += later.removed
        self.delta.extend(later.delta)
