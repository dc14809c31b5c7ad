"""Signed webhooks to deployers, fed from a transactional outbox.

An ``OutboxEvent`` row is the outbox: it is written in the same transaction as
the transition it announces, so a broker outage delays a notification but can
never lose it, and the transition pays for one row whatever the number of
subscribers. A worker fans each event out into one ``Delivery`` per
subscription and posts them; beat re-drives whatever is still waiting.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from org.models import Section
from webhooks.formats import Format


class Subscription(models.Model):
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Key of the HMAC-SHA256 signature (empty for chat formats: the URL is the key).",
    )
    format = models.CharField(
        max_length=16,
        choices=Format.choices,
        default=Format.JSON,
        help_text="What a delivery looks like: signed JSON, a Slack or Teams message, a CDEvent.",
    )
    events = models.JSONField(help_text='Event codes to deliver, e.g. ["RWG-003"].')
    section = models.ForeignKey(
        Section,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text="The section that owns it; empty: organisation-wide (operators, admins).",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Deleted through the API; its delivery log is kept."
    )
    # The circuit breaker: closed while circuit_open_until is empty; open until
    # that time; once it has passed, half-open: one trial attempt decides.
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_open_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook subscription"
        indexes = [
            # The fan-out reads the live subscriptions for every event.
            models.Index(
                fields=["id"],
                condition=models.Q(active=True, deleted_at__isnull=True),
                name="subscription_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class OutboxEvent(models.Model):
    """One announced event, written in the transaction of the transition it announces."""

    event_code = models.CharField(max_length=16)
    proposal_id = models.BigIntegerField(null=True)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox event"
        indexes = [
            # The re-drive looks for events no worker has fanned out yet.
            models.Index(
                fields=["id"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="outbox_event_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_code} #{self.proposal_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"
    CANCELLED = "cancelled", "Cancelled (subscription deactivated or deleted)"


class Delivery(models.Model):
    """One event for one subscription; its id is stable across retries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Empty for deliveries written before events had their own outbox row.
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    event_code = models.CharField(max_length=16)
    proposal_id = models.BigIntegerField(null=True, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set when an attempt is claimed: nobody else posts this row before then.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Only our own short words ("HTTP 500", "timeout"): never the receiver's reply.
    last_error = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"], name="delivery_once_per_event_and_subscription"
            ),
        ]
        indexes = [
            # The re-drive scans pending rows that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_due",
            ),
            # Attempts in flight and the next row waiting, per subscription.
            models.Index(
                fields=["subscription", "next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_by_sub",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_code} -> {self.subscription_id} ({self.status})"
