from django.apps import AppConfig


class DemosConfig(AppConfig):
    name = "topology.demos"
    verbose_name = "Demos"
    default_auto_field = "django.db.models.BigAutoField"
