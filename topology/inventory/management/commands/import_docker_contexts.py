"""Offer the contexts of a Docker CLI configuration folder as engines to register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from topology.engine.contexts import ContextsFolderError, read_contexts
from topology.inventory import services
from topology.inventory.context_import import Offer, offer
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team


class Command(BaseCommand):
    help = (
        "List the Docker CLI contexts of a folder (~/.docker or its contexts folder) as engines "
        "to register for a team, with that user's rights; --register registers them (all that "
        "may be, or those picked with --context), each after a connection test."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("folder", type=Path, help="a Docker configuration folder")
        parser.add_argument(
            "--team", help="the team's slug (without it: no team, seen by all; a site admin's)"
        )
        parser.add_argument(
            "--as", dest="username", required=True, help="who registers (a team admin)"
        )
        parser.add_argument(
            "--context",
            action="append",
            default=[],
            dest="picked",
            help="a context to register (repeat it); without it, every one that may be",
        )
        parser.add_argument("--register", action="store_true", help="register (else: list)")
        parser.add_argument(
            "--allow-insecure",
            action="store_true",
            help="a site admin only: import plain tcp:// contexts, marked insecure",
        )

    def handle(self, *args: object, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        slug = options["team"]
        team = Team.objects.filter(slug=slug).first() if slug else None
        if slug is None and not (user and user.is_superuser):
            raise CommandError(f"{options['username']} is not a site admin: name a --team")
        if slug is not None and not (user and team and access.has_role(user, team.pk, Role.ADMIN)):
            raise CommandError(f"{options['username']} is not a team admin of a team {slug!r}")
        try:
            contexts, problems = read_contexts(options["folder"])
        except (ContextsFolderError, OSError) as error:
            raise CommandError(str(error)) from error
        offers = [offer(c, user, team, allow_insecure=options["allow_insecure"]) for c in contexts]
        picked: list[str] = options["picked"]
        unknown = sorted(set(picked) - {o.context for o in offers})
        whose = f"team {team.slug}" if team else "no team"
        self.stdout.write(f"Docker contexts in {options['folder']}, for {whose}:")
        for item in offers:
            self.stdout.write(f"  {self._line(item, picked)}")
        for problem in problems:
            self.stdout.write(
                self.style.WARNING(f"  {problem.where}: unreadable: {problem.reason}")
            )
        for name in unknown:
            self.stdout.write(self.style.WARNING(f"  {name}: no such context"))
        if not options["register"]:
            self.stdout.write("Nothing registered (a listing): add --register to register.")
            failed = bool(unknown)
        else:
            failed = self._register(offers, picked) or bool(unknown)
        if failed:
            raise CommandError("some contexts picked were not registered (see above)")

    @staticmethod
    def _line(item: Offer, picked: list[str]) -> str:
        tls = " (TLS)" if item.tls else ""
        if item.refusal is not None:
            return f"{item.context}: {item.url}{tls}: refused: {item.refusal}"
        chosen = not picked or item.context in picked
        return f"{item.context}: {item.url}{tls}: " + ("to register" if chosen else "not picked")

    def _register(self, offers: list[Offer], picked: list[str]) -> bool:
        failed = False
        for item in offers:
            if picked and item.context not in picked:
                continue
            if item.fields is None:
                failed = failed or bool(picked)
                continue
            try:
                services.register_endpoint(item.fields, settings.RUN_DIR / "tls")
            except services.RegistrationRefused as refusal:
                self.stdout.write(self.style.ERROR(f"{item.context}: not registered: {refusal}"))
                failed = True
            else:
                self.stdout.write(self.style.SUCCESS(f"{item.context}: registered"))
        return failed
