"""Daphne, with the websocket limit the graph needs: ``python -m topology.serve [daphne options]``.

Daphne caps websocket messages at 1 MiB by default, in both directions, and a snapshot of about
2,500 nodes is larger. The cap here comes from ``TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES``, which
the graph consumer also reads, so that a snapshot over it is an error the page can show, never a
silent failure. (Frames the browser sends are refused by the consumer above 64 KiB.)
"""

from __future__ import annotations

import os
import sys

from daphne.cli import CommandLineInterface

from topology.environment import settings_or_exit

APPLICATION = "topology.asgi:application"


def main(arguments: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")
    settings_or_exit("topology.serve")
    from django.conf import settings

    limit = str(settings.TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES)
    CommandLineInterface().run(
        [
            "--websocket-max-message-size",
            limit,
            "--websocket-max-frame-size",
            limit,
            *arguments,
            APPLICATION,
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
