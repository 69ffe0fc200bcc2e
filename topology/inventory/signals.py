"""A change of who may see what reaches the open websockets: after a membership is made, changed
or removed, or a host changes team, every consumer checks its user's hosts again. A registration
that is deleted takes what only it reached with it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from topology.inventory import broadcast, services
from topology.inventory.models import Endpoint, Host
from topology.teams.models import Membership


def _after_commit() -> None:
    transaction.on_commit(broadcast.publish_access_change)


@receiver(post_save, sender=Membership, dispatch_uid="inventory-membership-saved")
@receiver(post_delete, sender=Membership, dispatch_uid="inventory-membership-deleted")
def membership_changed(sender: type, **kwargs: Any) -> None:
    _after_commit()


@receiver(post_save, sender=Host, dispatch_uid="inventory-host-saved")
def host_saved(sender: type, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A saved host may have changed team: always from forms (no ``update_fields``), and from
    the services only when they name the team."""
    if not created and (update_fields is None or "team" in update_fields):
        _after_commit()


@receiver(pre_delete, sender=Endpoint, dispatch_uid="inventory-endpoint-deleted")
def endpoint_deleted(sender: type, instance: Endpoint, **kwargs: Any) -> None:
    """Whichever way a registration goes (the admin, a shell), what only it reached goes too."""
    services.forget_registration(instance)
