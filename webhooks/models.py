"""Signed webhooks to deployers, fed from a transactional outbox.

A ``Delivery`` row is the outbox: it is written in the same transaction as
the transition it announces, so a broker outage delays a notification but can
never lose it. Celery delivers it; beat re-drives whatever is still pending.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Subscription(models.Model):
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Key of the HMAC-SHA256 signature.")
    events = models.JSONField(help_text='Event codes to deliver, e.g. ["RWG-003"].')
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class Delivery(models.Model):
    """One event for one subscription; its id is stable across retries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
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
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The re-drive scans pending rows that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_code} -> {self.subscription_id} ({self.status})"
