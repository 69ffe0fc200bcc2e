from typing import Any

from django import forms
from django.contrib import admin

from topology.inventory.models import Container, Daemon, Endpoint, Host, TerminalSession


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "last_seen"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


SECRET_FIELDS = ("tls_client_key", "ssh_private_key")


class EndpointForm(forms.ModelForm):
    """Secrets are write-only: the form never shows them, and an empty one keeps the old."""

    tls_client_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        required=False,
        help_text="PEM client key. Stored server-side and never shown again; "
        "leave empty to keep the current one.",
    )
    ssh_private_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        required=False,
        help_text="Private key for ssh://. Stored server-side and never shown again; "
        "leave empty to keep the current one.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.initial[name] = ""

    class Meta:
        model = Endpoint
        fields = [
            "name",
            "url",
            "host",
            "tls_ca_cert",
            "tls_client_cert",
            "tls_client_key",
            "ssh_private_key",
            "ssh_known_hosts",
            "insecure",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "host", "insecure", "enabled"]
    list_filter = ["enabled", "insecure"]


class ContainerInline(admin.TabularInline):
    model = Container
    fk_name = "daemon"
    fields = ["name", "image", "role", "privileged", "state", "stale"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Daemon)
class DaemonAdmin(admin.ModelAdmin):
    list_display = ["__str__", "engine_id", "endpoint", "access", "nesting", "status", "version"]
    list_filter = ["status", "access", "nesting"]
    search_fields = ["engine_id", "name", "endpoint"]
    readonly_fields = ["last_error", "last_seen", "unreachable_since"]
    inlines = [ContainerInline]


@admin.register(Container)
class ContainerAdmin(admin.ModelAdmin):
    list_display = ["name", "daemon", "image", "role", "privileged", "state", "stale"]
    list_filter = ["role", "state", "privileged", "stale"]
    search_fields = ["name", "image", "container_id"]
    readonly_fields = ["labels", "mounts", "ports", "networks"]


@admin.register(TerminalSession)
class TerminalSessionAdmin(admin.ModelAdmin):
    """The audit log of interactive terminals: read only, for everyone."""

    list_display = [
        "started",
        "ended",
        "username",
        "container_name",
        "team",
        "allowed_by",
        "bytes_in",
        "bytes_out",
        "end_reason",
    ]
    list_filter = ["allowed_by", "team"]
    search_fields = ["username", "container_name", "container_id", "engine_id"]
    readonly_fields = [f.name for f in TerminalSession._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
