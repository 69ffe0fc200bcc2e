from django import forms
from django.contrib import admin

from topology.inventory.models import Container, Daemon, Endpoint, Host


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "last_seen"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class EndpointForm(forms.ModelForm):
    tls_client_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="PEM client key. Stored server-side and never shown again; "
        "leave empty to keep the current one.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "name",
            "url",
            "host",
            "tls_ca_cert",
            "tls_client_cert",
            "tls_client_key",
            "insecure",
            "enabled",
        ]

    def clean_tls_client_key(self) -> str:
        key = self.cleaned_data.get("tls_client_key", "")
        if not key and self.instance.pk:
            return self.instance.tls_client_key
        return key


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
