from django.contrib import admin

from gates.models import CanaryBinding


@admin.register(CanaryBinding)
class CanaryBindingAdmin(admin.ModelAdmin[CanaryBinding]):
    list_display = (
        "proposal",
        "tool",
        "cluster",
        "namespace",
        "name",
        "health",
        "last_gate",
        "last_status",
        "last_call_at",
        "detached_at",
    )
    list_filter = ("tool", "health")
    list_select_related = ("proposal",)
    search_fields = ("cluster", "namespace", "name")
    # Written by the gates alone: the admin reads.
    readonly_fields = [f.name for f in CanaryBinding._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
