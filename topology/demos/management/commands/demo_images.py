from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from topology.engine import images
from topology.engine.connection import EngineAddress, EngineError, open_client


class Command(BaseCommand):
    help = (
        "Build the demo images offline from this machine's own binaries (docker import), "
        "tagged TOPOLOGY_DEMO_OFFLINE_TAG."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["build"])
        parser.add_argument("--force", action="store_true", help="rebuild images that exist")

    def handle(self, *args: object, action: str, force: bool, **options: object) -> None:
        try:
            client = open_client(EngineAddress(settings.DOCKER_HOST, read_timeout=300))
        except EngineError as error:
            raise CommandError(str(error)) from error
        version = settings.TOPOLOGY_DEMO_OFFLINE_TAG
        try:
            built = images.build_offline_images(client, force=force, tag=version)
        except images.MissingBinaryError as error:
            raise CommandError(str(error)) from error
        finally:
            client.close()
        for image in (images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE):
            tag = images.offline_tag(image, version)
            self.stdout.write(f"{tag}: {'built' if tag in built else 'already there'}")
