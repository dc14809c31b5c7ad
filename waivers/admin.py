"""Admin for waivers: a read-only view of requests and their approvals.

Every change to a waiver goes through ``waivers.services`` so that it is
checked against the four-eyes rules and audited; the admin therefore shows
but never edits (an administrator revokes on the waiver's page).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from waivers.models import WaiverApproval, WaiverRequest


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WaiverApprovalInline(ReadOnlyAdminMixin, admin.TabularInline[WaiverApproval, WaiverRequest]):
    model = WaiverApproval
    extra = 0
    fields = ("approver", "role", "comment", "created_at")
    readonly_fields = fields


@admin.register(WaiverRequest)
class WaiverRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WaiverRequest]):
    list_display = (
        "id",
        "state",
        "subsystem",
        "change_type",
        "proposal",
        "requester",
        "duration_days",
        "approved_at",
        "expires_at",
    )
    list_filter = ("state", "subsystem", "change_type")
    search_fields = ("rationale", "requester__username", "closing_reason")
    list_select_related = ("subsystem", "proposal", "requester")
    date_hierarchy = "created_at"
    fields = (
        "state",
        "requester",
        "proposal",
        "subsystem",
        "change_type",
        "duration_days",
        "rationale",
        "created_at",
        "approved_at",
        "expires_at",
        "closed_at",
        "closed_by",
        "closing_reason",
    )
    readonly_fields = fields
    inlines = [WaiverApprovalInline]


@admin.register(WaiverApproval)
class WaiverApprovalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WaiverApproval]):
    list_display = ("waiver", "approver", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("approver__username", "comment")
    list_select_related = ("waiver", "approver")
    fields = ("waiver", "approver", "role", "comment", "created_at")
    readonly_fields = fields
