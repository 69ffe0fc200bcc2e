from django.apps import AppConfig


class DemosConfig(AppConfig):
    name = "topology.demos"
    verbose_name = "Demos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from topology.demos.services import existing_demo_ids
        from topology.inventory import provenance

        provenance.vouch_for_demos(existing_demo_ids)
