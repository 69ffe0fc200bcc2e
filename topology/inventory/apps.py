from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "topology.inventory"
    verbose_name = "Inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from topology.inventory import signals  # noqa: F401  (connects the receivers)
