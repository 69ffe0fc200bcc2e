"""Who created which container: only what a layer above vouches for is drawn.

The inventory knows containers, not demos. The demos app tells it, at start-up, how to ask
which demo ids exist (:func:`vouch_for_demos`); until then no ``created`` edge is drawn.
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
