"""The delivery workers' tasks (queue ``webhooks``; see ``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from org import health
from webhooks import services
from webhooks.dispatch import DELIVER, FAN_OUT, REDRIVE, publish

# A hard stop a little past the lease: a receiver that trickles its answer
# cannot hold a delivery worker for longer than the row stays claimed.
_ATTEMPT_TIME_LIMIT = int(services.lease_duration().total_seconds()) + 1


@shared_task(name=FAN_OUT, ignore_result=True, time_limit=_ATTEMPT_TIME_LIMIT + 10)
def fan_out(event_id: str) -> int:
    """One delivery per subscriber to the event: the first attempted here, the others queued.

    The first goes without a second trip through the broker (a rollback's
    notification is on the clock, INV-RWG-ROLLBACK); the others are queued
    before it, so they go in parallel on the other workers. A delivery this
    task does not finish is leased and re-driven like any other.
    """
    ids = services.fan_out(event_id)
    if not ids:
        return 0
    first, *others = ids
    queued = publish(DELIVER, others)
    deliver(first)
    return queued + 1


@shared_task(name=DELIVER, ignore_result=True, time_limit=_ATTEMPT_TIME_LIMIT)
def deliver(delivery_id: str) -> None:
    result = services.deliver(delivery_id)
    if result is None:
        return  # not due, held by another attempt, or waiting for its circuit
    if result.retry_at is not None:
        # Not before the backoff allows; the beat re-drive is the safety net.
        publish(DELIVER, [delivery_id], eta=result.retry_at)
    if result.next_ids:
        publish(DELIVER, result.next_ids)


@shared_task(name=REDRIVE, ignore_result=True)
def redrive() -> int:
    """Queue what is waiting: events not fanned out, deliveries whose attempt is due."""
    events = services.waiting_events()
    publish(FAN_OUT, events)
    due = services.due_deliveries(timezone.now())
    publish(DELIVER, due)
    health.beat(health.WEBHOOKS)
    return len(events) + len(due)
