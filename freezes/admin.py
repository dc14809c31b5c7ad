from django.contrib import admin

from freezes.models import ChangeFreeze


@admin.register(ChangeFreeze)
class ChangeFreezeAdmin(admin.ModelAdmin[ChangeFreeze]):
    """Read-only: freezes are declared and ended through the audited services."""

    list_display = ("id", "reason", "starts_at", "ends_at", "whole_organisation", "ended_at")
    readonly_fields = [field.name for field in ChangeFreeze._meta.fields] + ["subsystems"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
