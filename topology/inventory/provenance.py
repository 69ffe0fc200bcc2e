"""Who created which container, and whose demo it is: only what a layer above vouches for.

The inventory knows containers, not demos. The demos app tells it, at start-up, how to ask
which demo ids exist (:func:`vouch_for_demos`; until then no ``created`` edge is drawn) and who
owns a live demo (:func:`vouch_for_demo_owners`; until then no one is a demo's owner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

KnownDemos = Callable[[set[str]], set[str]]
"""Given demo ids read from engine labels, the ones that exist."""


def _none_known(ids: set[str]) -> set[str]:
    return set()


_known_demos: KnownDemos = _none_known


def vouch_for_demos(check: KnownDemos) -> None:
    """Install the check that says which demo ids exist (the demos app does, when ready)."""
    global _known_demos
    _known_demos = check


def known_demos(ids: Iterable[str]) -> set[str]:
    wanted = set(ids)
    return _known_demos(wanted) & wanted if wanted else set()


DemoOwner = Callable[[str], int | None]
"""Given a demo id read from an engine label, the pk of the user who owns that demo while it
is live (starting, running); None otherwise."""


def _nobody(demo_id: str) -> int | None:
    return None


_demo_owner: DemoOwner = _nobody


def vouch_for_demo_owners(check: DemoOwner) -> None:
    global _demo_owner
    _demo_owner = check


def demo_owner(demo_id: str) -> int | None:
    return _demo_owner(demo_id) if demo_id else None
