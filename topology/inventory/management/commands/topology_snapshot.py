import json

from django.core.management.base import BaseCommand

from topology.inventory import graph, queries


class Command(BaseCommand):
    help = "Print the topology graph (the contract's JSON, or Graphviz DOT)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--format", choices=["json", "dot"], default="json")

    def handle(self, *args: object, format: str, **options: object) -> None:
        snapshot = queries.current_graph()
        if format == "dot":
            self.stdout.write(graph.to_dot(snapshot), ending="")
        else:
            self.stdout.write(json.dumps(snapshot, indent=2))
