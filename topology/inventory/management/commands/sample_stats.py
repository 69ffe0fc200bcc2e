from django.core.management.base import BaseCommand

from topology.inventory.sampling import Sampler


class Command(BaseCommand):
    help = "Sample CPU and memory of the containers open pages show (nothing when none do)."

    def handle(self, *args: object, **options: object) -> None:
        sampler = Sampler()
        self.stdout.write(f"sampling stats of watched containers every {sampler.period:g} s")
        try:
            sampler.run()
        except KeyboardInterrupt:
            pass
        finally:
            sampler.close()
