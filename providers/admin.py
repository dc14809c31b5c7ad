from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from providers.config import check_provider
from providers.models import AlertReceipt, AuthType, MetricProvider, PolledWedge

_SECRETS = ("bearer_token", "password")


class MetricProviderForm(forms.ModelForm[MetricProvider]):
    """The provider's settings, checked by ``providers.config.check_provider``.

    Secrets are write-only: the inputs never show the stored value, and an
    empty input keeps it. Choosing another auth type drops what it no longer uses.
    """

    bearer_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored, never shown again; leave empty to keep the stored one.",
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored, never shown again; leave empty to keep the stored one.",
    )

    class Meta:
        model = MetricProvider
        fields = [
            "name",
            "kind",
            "base_url",
            "timeout_seconds",
            "max_concurrency",
            "auth_type",
            "bearer_token",
            "username",
            "password",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for secret in _SECRETS:
            if not cleaned.get(secret) and self.instance.pk is not None:
                cleaned[secret] = getattr(self.instance, secret)
        auth = cleaned.get("auth_type", AuthType.NONE)
        if auth != AuthType.BEARER:
            cleaned["bearer_token"] = ""
        if auth != AuthType.BASIC:
            cleaned["username"] = cleaned["password"] = ""
        problems = check_provider(
            name=cleaned.get("name") or "",
            kind=cleaned.get("kind") or "",
            base_url=cleaned.get("base_url") or "",
            timeout_seconds=cleaned.get("timeout_seconds"),
            max_concurrency=cleaned.get("max_concurrency"),
            auth_type=auth,
            bearer_token=cleaned.get("bearer_token") or "",
            username=cleaned.get("username") or "",
            password=cleaned.get("password") or "",
        )
        for problem in problems:
            if problem.field in self.fields and problem.field not in self.errors:
                self.add_error(problem.field, problem.message)
        return cleaned


@admin.register(MetricProvider)
class MetricProviderAdmin(admin.ModelAdmin[MetricProvider]):
    form = MetricProviderForm
    list_display = ("name", "kind", "base_url", "auth_type", "timeout_seconds", "max_concurrency")
    search_fields = ("name", "base_url")


@admin.register(PolledWedge)
class PolledWedgeAdmin(admin.ModelAdmin[PolledWedge]):
    list_display = ("wedge", "next_poll_at", "polled_at", "lease_until", "failing_since")
    list_select_related = ("wedge",)
    readonly_fields = [f.name for f in PolledWedge._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(AlertReceipt)
class AlertReceiptAdmin(admin.ModelAdmin[AlertReceipt]):
    list_display = ("alertname", "fingerprint", "starts_at", "received_at")
    readonly_fields = [f.name for f in AlertReceipt._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False
