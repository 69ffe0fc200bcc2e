from django.core.management.base import BaseCommand

from topology.inventory.watching import Watcher


class Command(BaseCommand):
    help = "Follow every daemon's events and poll a daemon as soon as its containers change."

    def handle(self, *args: object, **options: object) -> None:
        watcher = Watcher()
        self.stdout.write("watching Docker events (Ctrl-C to stop)")
        try:
            watcher.run()
        except KeyboardInterrupt:
            pass
        finally:
            watcher.close()
