"""The web server's entry point: Daphne with the project's websocket message limit."""

from __future__ import annotations

from topology import serve


def test_daphne_gets_the_websocket_limit_and_the_application(monkeypatch, settings) -> None:
    settings.TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES = 3 * 2**20
    seen: list[list[str]] = []
    monkeypatch.setattr(serve.CommandLineInterface, "run", lambda self, args: seen.append(args))
    serve.main(["-b", "127.0.0.1", "-p", "8123"])
    (args,) = seen
    assert args[args.index("--websocket-max-message-size") + 1] == str(3 * 2**20)
    assert args[-3:] == ["-p", "8123", "topology.asgi:application"]
