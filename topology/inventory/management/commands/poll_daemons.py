import time

from django.conf import settings
from django.core.management.base import BaseCommand

from topology.inventory import polling


class Command(BaseCommand):
    help = "Discover every daemon (nested ones on the way) and bring the database in step."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args: object, once: bool, **options: object) -> None:
        while True:
            results = polling.poll_everything(lock_required=False)
            for result in results:
                name = result.engine_id or result.target.route.url
                if result.error:
                    self.stdout.write(self.style.WARNING(f"{name}: {result.error}"))
                else:
                    c = result.changes
                    self.stdout.write(f"{name}: +{c.added} ~{c.changed} -{c.removed}")
            if once:
                return
            time.sleep(settings.TOPOLOGY_POLL_SECONDS)
