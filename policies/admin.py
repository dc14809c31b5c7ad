from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from policies.models import PolicyVersion
from wedges.policy.thresholds import FIELDS


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin[PolicyVersion]):
    """Read-only: versions are proposed and decided on the policy page or the API, audited."""

    list_display = ("number", "status", "effective_at", "proposed_by", "decided_by")
    list_filter = ("status",)
    readonly_fields = (
        "number",
        *FIELDS,
        "status",
        "rationale",
        "effective_at",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decision_reason",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
