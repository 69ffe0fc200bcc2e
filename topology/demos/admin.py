from django.contrib import admin

from topology.demos.models import AuditEntry, Demo


@admin.register(Demo)
class DemoAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "status", "step", "profile", "created", "expires"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in Demo._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["when", "actor_name", "action", "demo_kind", "demo_id", "detail"]
    list_filter = ["action", "demo_kind"]
    search_fields = ["actor_name", "demo_id", "detail"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
