from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_create

SECRET = "a-webhook-secret-of-some-length"


@pytest.fixture
def subscribe(demo):
    """A subscription through the real service; dave (an operator) by default."""

    def make(url: str, actor: str = "dave", **fields: Any) -> Subscription:
        fields.setdefault("secret", SECRET)
        fields.setdefault("events", ["RWG-003"])
        return subscription_create(actor=demo[actor], url=url, **fields)

    return make


@pytest.fixture
def outbox_row():
    """A pending delivery for a subscription, as the outbox holds it before any attempt."""

    def make(subscription: Subscription, **fields: Any) -> Delivery:
        now = timezone.now()
        fields.setdefault("created_at", now)
        fields.setdefault("next_attempt_at", now)
        return Delivery.objects.create(
            subscription=subscription,
            event_code="RWG-003",
            proposal_id=1,
            payload={"event": "RWG-003", "proposal_id": 1},
            **fields,
        )

    return make
