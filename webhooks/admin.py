from django.contrib import admin

from webhooks.models import Delivery, OutboxEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = (
        "url",
        "section",
        "active",
        "deleted_at",
        "consecutive_failures",
        "circuit_open_until",
        "created_by",
        "created_at",
    )
    list_filter = ("active", "section")
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
