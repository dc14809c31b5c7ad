from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from webhooks import services


@shared_task(name="webhooks.tasks.deliver", ignore_result=True)
def deliver(delivery_id: str) -> None:
    delivery = services.deliver(delivery_id)
    if delivery is not None and delivery.status == "pending":
        # Retry at the backoff time; the beat re-drive is the safety net.
        delay = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 0)
        deliver.apply_async(args=(delivery_id,), countdown=delay)


@shared_task(name="webhooks.tasks.redrive", ignore_result=True)
def redrive() -> int:
    """Queue every due delivery: those whose queueing failed or whose retry is due."""
    ids = services.due_deliveries(timezone.now())
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)
