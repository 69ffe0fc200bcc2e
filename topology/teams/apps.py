from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "topology.teams"
    verbose_name = "Teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from topology.teams import signals  # noqa: F401  (connects the receivers)
