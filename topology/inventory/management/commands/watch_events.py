import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from topology.inventory.informer import Informer
from topology.inventory.watching import Watcher


class Command(BaseCommand):
    help = (
        "Follow every daemon's events: with TOPOLOGY_INVENTORY_MODE=events (the default), list, "
        "watch and resync this watcher's share of the daemons; with poll, poll a daemon as soon "
        "as its containers change (beat polls them all)."
    )

    def handle(self, *args: object, **options: object) -> None:
        watcher: Informer | Watcher
        if settings.TOPOLOGY_INVENTORY_MODE == "events":
            watcher = Informer()
            self.stdout.write(f"{watcher.name}: following Docker events (Ctrl-C to stop)")
        else:
            watcher = Watcher()
            self.stdout.write("watching Docker events (Ctrl-C to stop)")
        # Stopped by its supervisor (SIGTERM): give back the daemons it follows, at once.
        signal.signal(signal.SIGTERM, lambda *_: watcher.close())
        try:
            watcher.run()
        except KeyboardInterrupt:
            pass
        finally:
            watcher.close()
