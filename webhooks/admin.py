from django import forms
from django.contrib import admin

from webhooks.errors import SubscriptionInvalid
from webhooks.models import Delivery, OutboxEvent, Subscription
from webhooks.services import check_events, check_secret, check_url


class SubscriptionForm(forms.ModelForm[Subscription]):
    url = forms.URLField(max_length=500, assume_scheme="https")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            check_url(url)  # the API's refusals hold here too
        except SubscriptionInvalid as invalid:
            raise forms.ValidationError([error.message for error in invalid.errors]) from None
        return url

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        fmt = str(cleaned.get("format") or "json")
        try:
            # The API's rules on events and secrets hold here too.
            if isinstance(cleaned.get("events"), list):
                cleaned["events"] = check_events(cleaned["events"], fmt)
            check_secret(str(cleaned.get("secret") or ""), fmt)
        except SubscriptionInvalid as invalid:
            for error in invalid.errors:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    form = SubscriptionForm
    list_display = (
        "url",
        "format",
        "section",
        "active",
        "deleted_at",
        "consecutive_failures",
        "circuit_open_until",
        "created_by",
        "created_at",
    )
    list_filter = ("active", "format", "section")
    list_select_related = ("section", "created_by")
    readonly_fields = ("consecutive_failures", "circuit_open_until", "deleted_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin[OutboxEvent]):
    list_display = ("id", "event_code", "proposal_id", "created_at", "fanned_out_at")
    list_filter = ("event_code",)
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = (
        "id",
        "event_code",
        "proposal_id",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "lease_until",
    )
    list_filter = ("status", "event_code")
    list_select_related = ("subscription",)
    readonly_fields = [f.name for f in Delivery._meta.fields]
