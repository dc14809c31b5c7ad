"""Writing to the outbox and delivering from it."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from config.signing import signature
from org.models import User
from webhooks.models import Delivery, DeliveryStatus, Subscription

log = logging.getLogger(__name__)


def subscription_create(*, actor: User, url: str, secret: str, events: list[str]) -> Subscription:
    with transaction.atomic():
        subscription = Subscription.objects.create(
            url=url, secret=secret, events=sorted(set(events)), created_by=actor
        )
        record_event(
            code=EventCode.WEBHOOK_CHANGED,
            actor=actor,
            data={"subscription": subscription.pk, "url": url, "events": subscription.events},
        )
    return subscription


def enqueue(
    *, event_code: str, proposal_id: int | None, payload: dict[str, Any], now: datetime
) -> list[Delivery]:
    """Write one outbox row per active subscription to ``event_code``.

    Call inside the transaction of the change the event announces; the rows are
    handed to Celery only once it commits.
    """
    subscriptions = [s for s in Subscription.objects.filter(active=True) if event_code in s.events]
    if not subscriptions:
        return []
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            subscription=subscription,
            event_code=event_code,
            proposal_id=proposal_id,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
        for subscription in subscriptions
    )
    ids = [str(delivery.pk) for delivery in deliveries]
    transaction.on_commit(lambda: _send_to_worker(ids))
    return deliveries


_publisher: ThreadPoolExecutor | None = None
_publisher_lock = threading.Lock()


def _send_to_worker(ids: list[str]) -> None:
    """Hand committed deliveries to Celery without making the request wait.

    Publishing runs on one background thread: with the broker down, a publish
    blocks for seconds in redis-py's connection retries, and the transition's
    request (a rollback, say) must not. If publishing fails, or the process
    ends first, the committed rows wait for the beat re-drive.
    """
    global _publisher
    with _publisher_lock:
        if _publisher is None:  # created lazily: after gunicorn or Celery fork
            _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wedge-outbox")
    _publisher.submit(_publish, ids)


def _publish(ids: list[str]) -> None:
    from webhooks.tasks import deliver

    for queued, delivery_id in enumerate(ids):
        try:
            deliver.apply_async((delivery_id,), retry=False)
        except Exception:
            log.warning("broker down: %d deliveries left to the re-drive", len(ids) - queued)
            return


def backoff(attempts: int) -> timedelta:
    """Capped exponential backoff: 1 s, 2 s, 4 s ... at most the configured cap."""
    seconds = min(settings.WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS, 2 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds)


def deliver(delivery_id: str) -> Delivery | None:
    """POST one pending delivery, signed; record the attempt and schedule a retry.

    The row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` so a task and
    a re-drive racing for it never post twice at once; the receiver still
    de-duplicates by ``X-Wedge-Delivery`` (delivery is at least once).
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        now = timezone.now()
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Wedge-Webhooks/1",
            "X-Wedge-Event": delivery.event_code,
            "X-Wedge-Delivery": str(delivery.pk),
            "X-Wedge-Timestamp": str(timestamp),
            "X-Wedge-Signature": signature(delivery.subscription.secret, timestamp, body),
        }
        delivery.attempts += 1
        delivery.last_attempt_at = now
        try:
            response = requests.post(
                delivery.subscription.url,
                data=body,
                headers=headers,
                timeout=settings.WEDGE_WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            delivery.last_status_code = response.status_code
            delivery.last_error = "" if response.ok else response.text[:500]
            ok = 200 <= response.status_code < 300
        except requests.RequestException as exc:
            delivery.last_status_code = None
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
            ok = False
        if ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
        elif delivery.attempts >= settings.WEDGE_WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save()
    return delivery


def due_deliveries(now: datetime, limit: int = 500) -> list[str]:
    """Ids of pending deliveries whose next attempt is due."""
    return [
        str(pk)
        for pk in Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    ]
