from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the database refuses changes anyway; the admin does not offer them."""

    list_display = (
        "id",
        "occurred_at",
        "code",
        "meaning",
        "proposal_id",
        "waiver_id",
        "stage_id",
        "target_percentage",
        "actor_label",
    )
    list_filter = ("code", "occurred_at")
    search_fields = ("actor_label", "stage_id", "reason")
    ordering = ("-id",)
    # Counting a long log on every page view is slow; it is not needed.
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: AuditEvent | None = None) -> Any:
        return [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
