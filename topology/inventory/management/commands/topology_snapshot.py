import json

from django.core.management.base import BaseCommand, CommandError

from topology.inventory import graph, queries
from topology.inventory import graph_layers as _layers


class Command(BaseCommand):
    help = "Print the topology graph (the contract's JSON, or Graphviz DOT)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--format", choices=["json", "dot"], default="json")
        parser.add_argument(
            "--layers",
            default="",
            help="comma-separated: containment, networks, volumes, images (default: all)",
        )

    def handle(self, *args: object, format: str, layers: str, **options: object) -> None:
        try:
            chosen = _layers.parse(layers or None)
        except _layers.UnknownLayer as error:
            raise CommandError(str(error)) from error
        snapshot = _layers.graph_in(queries.current_graph(), chosen)
        if format == "dot":
            self.stdout.write(graph.to_dot(snapshot), ending="")
        else:
            self.stdout.write(json.dumps(snapshot, indent=2))
