"""Docker CLI contexts offered as engines to register: what each would be, or why it cannot.

The rules are the registration page's: a team admin registers tcp:// with TLS client
certificates (or ssh://); a local socket and plain tcp:// are a site admin's. A context adds
its own limits: one that skips TLS verification is not imported, and an ssh:// context holds no
key (the Docker CLI uses the user's own ssh), so it is registered on the team's page instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from topology.engine.contexts import DockerContext
from topology.inventory import services
from topology.inventory.models import Endpoint
from topology.teams.models import Team


@dataclass(frozen=True)
class Offer:
    """One context as an engine registration: ``fields`` for ``services.register_endpoint``
    when it may be registered, else ``refusal`` says why."""

    context: str
    url: str
    tls: bool
    fields: dict[str, Any] | None = None
    refusal: str | None = None


def offer(context: DockerContext, user: Any, team: Team, *, allow_insecure: bool = False) -> Offer:
    """``context`` as ``user`` would register it for ``team`` (the caller checks that ``user``
    is a team admin there)."""
    tls = context.tls

    def refused(reason: str) -> Offer:
        return Offer(context.name, context.host, context.has_tls, refusal=reason)

    if context.skip_tls_verify:
        return refused("it skips TLS verification (SkipTLSVerify): not imported")
    if context.scheme == "ssh":
        return refused(
            "an ssh:// context holds no private key nor host key (the docker CLI uses your own "
            "ssh): register it on the team's page with its key and its host key line"
        )
    insecure = context.scheme == "tcp" and not (tls.client_cert and tls.client_key)
    if insecure and not (user.is_superuser and allow_insecure):
        return refused(
            "plain tcp:// without TLS client certificates is refused"
            + (" (a site admin may import it with --allow-insecure)" if user.is_superuser else "")
        )
    fields: dict[str, Any] = {
        "name": context.name,
        "url": context.host,
        "team": team,
        "insecure": insecure,
        "tls_ca_cert": tls.ca_cert if context.scheme == "tcp" else "",
        "tls_client_cert": tls.client_cert if context.scheme == "tcp" else "",
        "tls_client_key": tls.client_key if context.scheme == "tcp" else "",
    }
    forbidden = services.registration_forbidden(user, fields)
    if forbidden is not None:
        return refused(forbidden)
    taken = Endpoint.objects.filter(url=context.host).values_list("name", flat=True).first()
    if taken is not None:
        return refused(f"{context.host} is already registered, as {taken!r}")
    if Endpoint.objects.filter(name=context.name).exists():
        return refused(f"an engine named {context.name!r} is already registered")
    try:
        Endpoint(**fields).full_clean(exclude=["host"], validate_unique=False)
    except ValidationError as error:
        return refused(" ".join(m for ms in error.message_dict.values() for m in ms))
    return Offer(context.name, context.host, context.has_tls, fields=fields)
