from django.apps import AppConfig


class DemosConfig(AppConfig):
    name = "topology.demos"
    verbose_name = "Demos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from topology.demos.services import existing_demo_ids, live_demo_owner
        from topology.inventory import provenance

        provenance.vouch_for_demos(existing_demo_ids)
        provenance.vouch_for_demo_owners(live_demo_owner)
